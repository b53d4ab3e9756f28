/* kube_endpoint.c — the server URL, tls-server-name, proxy-url and namespace checks (see
 * kube_endpoint.h). */
#include "kube_endpoint.h"
#include "errbuf.h"

#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


bool kube_endpoint_is_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

bool kube_endpoint_port(const char *s, size_t n, unsigned long *port)
{
    unsigned long pv = 0;
    bool ok = n > 0 && n <= 5;
    for (size_t i = 0; ok && i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            ok = false;
        else
            pv = pv * 10 + (unsigned long)(s[i] - '0');
    }
    if (!ok || pv == 0 || pv > 65535)
        return false;
    *port = pv;
    return true;
}

/* ---- the server URL ---- */

/* Refuses white space, controls, '?', '#', '@' and non-ASCII in url. Returns 0 or -1. */
static int check_url_chars(const char *url, const char *what, char *msg, size_t msglen)
{
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7F || *c == '?' || *c == '#' || *c == '@' ||
            (unsigned char)*c >= 0x80) {
            errbuf_set(msg, msglen,
                    "%s: server \"%.300s\" is not a valid URL (white space, '?', '#', '@' and "
                    "non-ASCII characters are not allowed)",
                    what, url);
            return -1;
        }
    }
    return 0;
}

/* Splits the authority (the alen bytes at auth) into the host, whose length goes to *hlen
 * (an IPv6 address with its brackets), and the port after ':' (*port, NULL when absent).
 * Returns 0 or -1 with msg set. */
static int split_authority(const char *auth, size_t alen, size_t *hlen, const char **port,
                           const char *url, const char *what, char *msg, size_t msglen)
{
    *port = NULL;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close || close == auth + 1) {
            errbuf_set(msg, msglen, "%s: server \"%.300s\": bad IPv6 address", what, url);
            return -1;
        }
        *hlen = (size_t)(close - auth) + 1;
        if (*hlen < alen) {
            if (auth[*hlen] != ':') {
                errbuf_set(msg, msglen, "%s: server \"%.300s\": bad host", what, url);
                return -1;
            }
            *port = auth + *hlen + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        *hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon)
            *port = colon + 1;
    }
    if (*hlen == 0) {
        errbuf_set(msg, msglen, "%s: server \"%.300s\" has no host", what, url);
        return -1;
    }
    return 0;
}

/* Whether the hlen bytes of host are one of the loopback names plain http is allowed for. */
static bool is_loopback(const char *host, size_t hlen)
{
    return (hlen == 9 && strncmp(host, "localhost", 9) == 0) ||
           (hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
           (hlen == 5 && strncmp(host, "[::1]", 5) == 0);
}

/* Checks scheme, host and port of url. Returns 0 or -1 with msg set. */
static int check_server_url(const char *url, const char *what, char *msg, size_t msglen)
{
    if (check_url_chars(url, what, msg, msglen) < 0)
        return -1;
    bool https = strncmp(url, "https://", 8) == 0;
    bool http = strncmp(url, "http://", 7) == 0;
    if (!https && !http) {
        errbuf_set(msg, msglen, "%s: server \"%.300s\" must be an https:// URL", what, url);
        return -1;
    }
    const char *auth = url + (https ? 8 : 7);
    size_t alen = strcspn(auth, "/");
    const char *port;
    size_t hlen;
    if (split_authority(auth, alen, &hlen, &port, url, what, msg, msglen) < 0)
        return -1;
    unsigned long pv;
    if (port && !kube_endpoint_port(port, (size_t)(auth + alen - port), &pv)) {
        errbuf_set(msg, msglen, "%s: server \"%.300s\" has a bad port", what, url);
        return -1;
    }
    if (http && !is_loopback(auth, hlen)) {
        errbuf_set(msg, msglen,
                "%s: server \"%.300s\" must be an https:// URL (plain http is allowed only "
                "for localhost, 127.0.0.1 and [::1])",
                what, url);
        return -1;
    }
    return 0;
}

int kube_endpoint_server(const char *url, const char *what, struct kube_config *out,
                         char *msg, size_t msglen)
{
    if (!url) {
        errbuf_set(msg, msglen, "%s: server is missing", what);
        return -1;
    }
    if (check_server_url(url, what, msg, msglen) < 0)
        return -1;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    out->server = malloc(n + 1);
    if (!out->server) {
        errbuf_set(msg, msglen, "out of memory");
        return -1;
    }
    memcpy(out->server, url, n);
    out->server[n] = '\0';
    return 0;
}

/* ---- tls-server-name and proxy-url ---- */

int kube_endpoint_server_name(const char *name, const char *what, char *msg, size_t msglen)
{
    if (!name)
        return 0;
    size_t n = strlen(name);
    bool ok = n <= 253 && name[0] != '.' && name[0] != '-' && name[n - 1] != '.';
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '.' ||
             name[i] == '_';
    if (!ok) {
        errbuf_set(msg, msglen,
                "%s: tls-server-name \"%.100s\" is not a host name (letters, digits, '-', '_' "
                "and '.')",
                what, name);
        return -1;
    }
    return 0;
}

int kube_endpoint_proxy_url(const char *url, const char *what, char *msg, size_t msglen)
{
    if (!url)
        return 0;
    static const char *const schemes[] = {"http://", "https://", "socks5://"};
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && !rest; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            rest = url + strlen(schemes[i]);
    if (!rest) {
        errbuf_set(msg, msglen,
                "%s: proxy-url \"%.300s\" must be an http://, https:// or socks5:// URL", what,
                url);
        return -1;
    }
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7F || (unsigned char)*c >= 0x80) {
            errbuf_set(msg, msglen,
                    "%s: proxy-url \"%.300s\" is not a valid URL (white space and non-ASCII "
                    "characters are not allowed)",
                    what, url);
            return -1;
        }
    }
    const char *at = strchr(rest, '@'); /* user:password@ */
    const char *host = at && at < rest + strcspn(rest, "/") ? at + 1 : rest;
    if (host[0] == '\0' || host[0] == '/' || host[0] == ':') {
        errbuf_set(msg, msglen, "%s: proxy-url \"%.300s\" has no host", what, url);
        return -1;
    }
    return 0;
}
