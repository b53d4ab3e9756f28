/* kubeconfig.c — kubeconfig files and the in-cluster config (see kubeconfig.h). */
#include "kubeconfig.h"

#include "base64.h"
#include "file_read.h"
#include "utf8.h"
#include "yaml_json.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KC_PATH_MAX 4096
#define KC_MSG_MAX 1024

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen,
                                                          const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    utf8_trim(err);
}

void kube_config_free(struct kube_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->tls_server_name);
    free(c->proxy_url);
    free(c->ca_pem);
    free(c->client_cert_pem);
    if (c->client_key_pem) /* key material: do not leave it in freed memory */
        OPENSSL_cleanse(c->client_key_pem, c->client_key_pem_len);
    free(c->client_key_pem);
    free(c->token);
    free(c->token_file);
    free(c->namespace);
    free(c->context);
    memset(c, 0, sizeof(*c));
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* ---- files ---- */

/* Joins base_dir and a relative path p (an absolute p is used as is) into out. Returns 0 or
 * -1 with a reason in err. */
static int resolve_path(const char *base_dir, const char *p, char *out, size_t outlen,
                        char *err, size_t errlen)
{
    int n;
    if (p[0] == '/') {
        n = snprintf(out, outlen, "%s", p);
    } else {
        if (!base_dir || !base_dir[0]) {
            set_err(err, errlen, "relative path \"%s\" with no directory to resolve it in", p);
            return -1;
        }
        size_t bl = strlen(base_dir);
        bool slash = base_dir[bl - 1] == '/';
        n = snprintf(out, outlen, "%s%s%s", base_dir, slash ? "" : "/", p);
    }
    if (n < 0 || (size_t)n >= outlen) {
        set_err(err, errlen, "path \"%.200s...\" is too long", p);
        return -1;
    }
    return 0;
}

/* ---- values ---- */

/* Looks up key in obj: *val is the string, or NULL when absent, null or "". Returns 0, or -1
 * when the value is not a string. */
static int get_str(const json_t *obj, const char *key, const char *what, const char **val,
                   char *msg)
{
    json_t *v = json_object_get(obj, key);
    *val = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        set_err(msg, KC_MSG_MAX, "%s: %s must be a string", what, key);
        return -1;
    }
    if (json_string_length(v) != strlen(json_string_value(v))) {
        set_err(msg, KC_MSG_MAX, "%s: %s contains a NUL character", what, key);
        return -1;
    }
    if (json_string_value(v)[0])
        *val = json_string_value(v);
    return 0;
}

static bool has_pem(const char *s, size_t n)
{
    static const char begin[] = "-----BEGIN ";
    size_t bl = sizeof(begin) - 1;
    for (size_t i = 0; i + bl <= n; i++)
        if (s[i] == '-' && memcmp(s + i, begin, bl) == 0)
            return true;
    return false;
}

/* Loads a PEM item of obj from data_key (base64) or file_key (a path). *out stays NULL when
 * neither is set. Returns 0 or -1 with msg set. */
static int load_pem(const json_t *obj, const char *data_key, const char *file_key,
                    const char *what, const char *base_dir, char **out, size_t *outlen,
                    char *msg)
{
    const char *data, *file;
    if (get_str(obj, data_key, what, &data, msg) < 0 ||
        get_str(obj, file_key, what, &file, msg) < 0)
        return -1;
    if (data && file) {
        set_err(msg, KC_MSG_MAX, "%s: both %s and %s are set; keep one", what, data_key,
                 file_key);
        return -1;
    }
    if (data) {
        char why[128];
        *out = (char *)base64_decode(data, strlen(data), outlen, NULL, why, sizeof(why));
        if (!*out) {
            set_err(msg, KC_MSG_MAX, "%s: %s is not valid base64: %s", what, data_key, why);
            return -1;
        }
        if (!has_pem(*out, *outlen)) {
            set_err(msg, KC_MSG_MAX, "%s: %s does not hold PEM data (no \"-----BEGIN\" line)",
                     what, data_key);
            return -1;
        }
        return 0;
    }
    if (file) {
        char path[KC_PATH_MAX], why[KC_MSG_MAX / 2];
        if (resolve_path(base_dir, file, path, sizeof(path), why, sizeof(why)) < 0) {
            set_err(msg, KC_MSG_MAX, "%s: %s: %s", what, file_key, why);
            return -1;
        }
        *out = file_read(path, KUBECONFIG_MAX_FILE, outlen, why, sizeof(why));
        if (!*out) {
            set_err(msg, KC_MSG_MAX, "%s: %s: cannot read %s", what, file_key, why);
            return -1;
        }
        if (!has_pem(*out, *outlen)) {
            set_err(msg, KC_MSG_MAX, "%s: %s: %s holds no PEM data (no \"-----BEGIN\" line)",
                     what, file_key, path);
            return -1;
        }
    }
    return 0;
}

/* Trims white space around a token read from a file and checks its characters. Returns 0 or
 * -1 with a reason in msg. */
static int clean_token(char *tok, const char *what, char *msg)
{
    size_t n = strlen(tok);
    while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '\n' ||
                     tok[n - 1] == '\r'))
        tok[--n] = '\0';
    size_t lead = strspn(tok, " \t\r\n");
    memmove(tok, tok + lead, n - lead + 1);
    n -= lead;
    if (n == 0) {
        set_err(msg, KC_MSG_MAX, "%s: the token is empty", what);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tok[i];
        if (c < 0x20 || c > 0x7E) {
            set_err(msg, KC_MSG_MAX,
                     "%s: the token holds a control or non-ASCII character (at byte %zu)", what,
                     i);
            return -1;
        }
    }
    return 0;
}

/* Reads a token file (path resolved against base_dir) into out->token and keeps the path in
 * out->token_file. Returns 0 or -1 with msg set. */
static int load_token_file(const char *file, const char *base_dir, const char *what,
                           struct kube_config *out, char *msg)
{
    char path[KC_PATH_MAX], why[KC_MSG_MAX / 2];
    size_t len;
    if (resolve_path(base_dir, file, path, sizeof(path), why, sizeof(why)) < 0) {
        set_err(msg, KC_MSG_MAX, "%s: tokenFile: %s", what, why);
        return -1;
    }
    out->token = file_read(path, KUBECONFIG_MAX_FILE, &len, why, sizeof(why));
    if (!out->token) {
        set_err(msg, KC_MSG_MAX, "%s: cannot read the token file %s", what, why);
        return -1;
    }
    if (strlen(out->token) != len) {
        set_err(msg, KC_MSG_MAX, "%s: the token file %s holds a NUL byte", what, path);
        return -1;
    }
    char tw[KC_MSG_MAX / 2];
    set_err(tw, sizeof(tw), "%s: token file %s", what, path);
    if (clean_token(out->token, tw, msg) < 0)
        return -1;
    out->token_file = dup_str(path);
    if (!out->token_file) {
        set_err(msg, KC_MSG_MAX, "out of memory");
        return -1;
    }
    return 0;
}

/* An RFC 1123 label, as namespaces are. */
static bool is_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* Checks the server URL and stores it without trailing slashes. Returns 0 or -1 (msg). */
static int set_server(const char *url, const char *what, struct kube_config *out, char *msg)
{
    if (!url) {
        set_err(msg, KC_MSG_MAX, "%s: server is missing", what);
        return -1;
    }
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7F || *c == '?' || *c == '#' || *c == '@' ||
            (unsigned char)*c >= 0x80) {
            set_err(msg, KC_MSG_MAX,
                     "%s: server \"%.300s\" is not a valid URL (white space, '?', '#', '@' and "
                     "non-ASCII characters are not allowed)",
                     what, url);
            return -1;
        }
    }
    bool https = strncmp(url, "https://", 8) == 0;
    bool http = strncmp(url, "http://", 7) == 0;
    if (!https && !http) {
        set_err(msg, KC_MSG_MAX, "%s: server \"%.300s\" must be an https:// URL", what, url);
        return -1;
    }
    const char *auth = url + (https ? 8 : 7);
    size_t alen = strcspn(auth, "/");
    const char *port = NULL;
    size_t hlen;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close || close == auth + 1) {
            set_err(msg, KC_MSG_MAX, "%s: server \"%.300s\": bad IPv6 address", what, url);
            return -1;
        }
        hlen = (size_t)(close - auth) + 1;
        if (hlen < alen) {
            if (auth[hlen] != ':') {
                set_err(msg, KC_MSG_MAX, "%s: server \"%.300s\": bad host", what, url);
                return -1;
            }
            port = auth + hlen + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon)
            port = colon + 1;
    }
    if (hlen == 0) {
        set_err(msg, KC_MSG_MAX, "%s: server \"%.300s\" has no host", what, url);
        return -1;
    }
    if (port) {
        size_t plen = (size_t)(auth + alen - port);
        unsigned long pv = 0;
        bool ok = plen > 0 && plen <= 5;
        for (size_t i = 0; ok && i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                ok = false;
            else
                pv = pv * 10 + (unsigned long)(port[i] - '0');
        }
        if (!ok || pv == 0 || pv > 65535) {
            set_err(msg, KC_MSG_MAX, "%s: server \"%.300s\" has a bad port", what, url);
            return -1;
        }
    }
    if (http) {
        bool local = (hlen == 9 && strncmp(auth, "localhost", 9) == 0) ||
                     (hlen == 9 && strncmp(auth, "127.0.0.1", 9) == 0) ||
                     (hlen == 5 && strncmp(auth, "[::1]", 5) == 0);
        if (!local) {
            set_err(msg, KC_MSG_MAX,
                     "%s: server \"%.300s\" must be an https:// URL (plain http is allowed only "
                     "for localhost, 127.0.0.1 and [::1])",
                     what, url);
            return -1;
        }
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    out->server = malloc(n + 1);
    if (!out->server) {
        set_err(msg, KC_MSG_MAX, "out of memory");
        return -1;
    }
    memcpy(out->server, url, n);
    out->server[n] = '\0';
    return 0;
}

/* Finds the entry named name in the list root[list] (items {name: ..., item: {...}}). Returns
 * 1 and sets *found (borrowed; NULL for a null item, which jansson reads as empty), 0 when
 * absent, -1 on a malformed list (msg set). */
static int find_named(const json_t *root, const char *list, const char *item, const char *name,
                      json_t **found, char *msg)
{
    json_t *arr = json_object_get(root, list);
    *found = NULL;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr)) {
        set_err(msg, KC_MSG_MAX, "%s must be a list", list);
        return -1;
    }
    size_t i;
    json_t *e;
    bool matched = false;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_object(e)) {
            set_err(msg, KC_MSG_MAX, "%s[%zu] must be a mapping", list, i);
            return -1;
        }
        json_t *n = json_object_get(e, "name");
        if (!json_is_string(n)) {
            set_err(msg, KC_MSG_MAX, "%s[%zu]: name must be a string", list, i);
            return -1;
        }
        if (strcmp(json_string_value(n), name) != 0)
            continue;
        if (matched) {
            set_err(msg, KC_MSG_MAX, "%s: two entries are named \"%.200s\"", list, name);
            return -1;
        }
        json_t *v = json_object_get(e, item);
        if (v && !json_is_null(v) && !json_is_object(v)) {
            set_err(msg, KC_MSG_MAX, "%s[%zu] (\"%.200s\"): %s must be a mapping", list, i,
                     name, item);
            return -1;
        }
        *found = (v && json_is_object(v)) ? v : NULL; /* NULL: a null entry, read as empty */
        matched = true;
    }
    return matched ? 1 : 0;
}

/* Checks tls-server-name (NULL: unset): a DNS name or an IPv4 address, as the name to check
 * in the server certificate. Returns 0 or -1 (msg). */
static int check_server_name(const char *name, const char *what, char *msg)
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
        set_err(msg, KC_MSG_MAX,
                "%s: tls-server-name \"%.100s\" is not a host name (letters, digits, '-', '_' "
                "and '.')",
                what, name);
        return -1;
    }
    return 0;
}

/* Checks proxy-url (NULL: unset): http://, https:// or socks5:// (the schemes kubectl
 * supports) with a host. Returns 0 or -1 (msg). */
static int check_proxy_url(const char *url, const char *what, char *msg)
{
    if (!url)
        return 0;
    static const char *const schemes[] = {"http://", "https://", "socks5://"};
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && !rest; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            rest = url + strlen(schemes[i]);
    if (!rest) {
        set_err(msg, KC_MSG_MAX,
                "%s: proxy-url \"%.300s\" must be an http://, https:// or socks5:// URL", what,
                url);
        return -1;
    }
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7F || (unsigned char)*c >= 0x80) {
            set_err(msg, KC_MSG_MAX,
                    "%s: proxy-url \"%.300s\" is not a valid URL (white space and non-ASCII "
                    "characters are not allowed)",
                    what, url);
            return -1;
        }
    }
    const char *at = strchr(rest, '@'); /* user:password@ */
    const char *host = at && at < rest + strcspn(rest, "/") ? at + 1 : rest;
    if (host[0] == '\0' || host[0] == '/' || host[0] == ':') {
        set_err(msg, KC_MSG_MAX, "%s: proxy-url \"%.300s\" has no host", what, url);
        return -1;
    }
    return 0;
}

/* Fills out from the cluster entry. Returns 0 or -1 (msg). */
static int load_cluster(const json_t *cl, const char *what, const char *base_dir,
                        struct kube_config *out, char *msg)
{
    const char *server, *sni, *proxy;
    if (get_str(cl, "server", what, &server, msg) < 0 || set_server(server, what, out, msg) < 0)
        return -1;
    if (get_str(cl, "tls-server-name", what, &sni, msg) < 0 ||
        get_str(cl, "proxy-url", what, &proxy, msg) < 0 ||
        check_server_name(sni, what, msg) < 0 || check_proxy_url(proxy, what, msg) < 0)
        return -1;
    if ((sni && !(out->tls_server_name = dup_str(sni))) ||
        (proxy && !(out->proxy_url = dup_str(proxy)))) {
        set_err(msg, KC_MSG_MAX, "out of memory");
        return -1;
    }
    json_t *ins = json_object_get(cl, "insecure-skip-tls-verify");
    if (ins && !json_is_null(ins)) {
        if (!json_is_boolean(ins)) {
            set_err(msg, KC_MSG_MAX, "%s: insecure-skip-tls-verify must be true or false", what);
            return -1;
        }
        out->insecure_skip_tls_verify = json_is_true(ins);
    }
    if (load_pem(cl, "certificate-authority-data", "certificate-authority", what, base_dir,
                 &out->ca_pem, &out->ca_pem_len, msg) < 0)
        return -1;
    if (out->ca_pem && out->insecure_skip_tls_verify) {
        set_err(msg, KC_MSG_MAX,
                 "%s: a certificate authority cannot be set together with "
                 "insecure-skip-tls-verify",
                 what);
        return -1;
    }
    return 0;
}

/* Quotes name for a message ("kind-kind"), bounded and not cutting UTF-8. */
static void quote_name(char *buf, size_t n, const char *kind, const char *name)
{
    size_t l = utf8_cut(name, strnlen(name, 200));
    snprintf(buf, n, "%s \"%.*s\"", kind, (int)l, name);
}

/* Fills out from the user entry. Returns 0 or -1 (msg). */
static int load_user(const json_t *u, const char *what, const char *base_dir,
                     struct kube_config *out, char *msg)
{
    /* Named in the message so that a user sees which plugin their CLI wrote. */
    json_t *exec = json_object_get(u, "exec");
    if (exec && !json_is_null(exec)) {
        const char *cmd = json_string_value(json_object_get(exec, "command"));
        char named[160] = "";
        if (cmd)
            quote_name(named, sizeof(named), " (command", cmd);
        set_err(msg, KC_MSG_MAX,
                "%s: exec credential plugins%s%s are not supported (use a token, a token file or "
                "a client certificate)",
                what, named, cmd ? ")" : "");
        return -1;
    }
    json_t *ap = json_object_get(u, "auth-provider");
    if (ap && !json_is_null(ap)) {
        const char *name = json_string_value(json_object_get(ap, "name"));
        char named[160] = "";
        if (name)
            quote_name(named, sizeof(named), " (name", name);
        set_err(msg, KC_MSG_MAX,
                "%s: auth-provider plugins%s%s are not supported (use a token, a token file or "
                "a client certificate)",
                what, named, name ? ")" : "");
        return -1;
    }
    const char *username, *password, *token, *token_file;
    if (get_str(u, "username", what, &username, msg) < 0 ||
        get_str(u, "password", what, &password, msg) < 0 ||
        get_str(u, "token", what, &token, msg) < 0 ||
        get_str(u, "tokenFile", what, &token_file, msg) < 0)
        return -1;
    if (username || password) {
        set_err(msg, KC_MSG_MAX, "%s: username/password (basic) authentication is not supported",
                 what);
        return -1;
    }
    if (load_pem(u, "client-certificate-data", "client-certificate", what, base_dir,
                 &out->client_cert_pem, &out->client_cert_pem_len, msg) < 0 ||
        load_pem(u, "client-key-data", "client-key", what, base_dir, &out->client_key_pem,
                 &out->client_key_pem_len, msg) < 0)
        return -1;
    if (!out->client_cert_pem != !out->client_key_pem) {
        set_err(msg, KC_MSG_MAX, "%s: a client certificate needs its key (and a key its certificate)",
                 what);
        return -1;
    }
    if (token) {
        out->token = dup_str(token);
        if (!out->token) {
            set_err(msg, KC_MSG_MAX, "out of memory");
            return -1;
        }
        return clean_token(out->token, what, msg);
    }
    if (token_file)
        return load_token_file(token_file, base_dir, what, out, msg);
    return 0;
}

/* The whole kubeconfig semantics on a parsed root. Returns 0 or -1 (msg). */
static int load_root(const json_t *root, const char *base_dir, const char *context,
                     struct kube_config *out, char *msg)
{
    if (json_is_null(root)) {
        set_err(msg, KC_MSG_MAX, "the kubeconfig is empty");
        return -1;
    }
    if (!json_is_object(root)) {
        set_err(msg, KC_MSG_MAX, "the kubeconfig must be a mapping");
        return -1;
    }
    const char *kind;
    if (get_str(root, "kind", "kubeconfig", &kind, msg) < 0)
        return -1;
    if (kind && strcmp(kind, "Config") != 0) {
        set_err(msg, KC_MSG_MAX, "kind is \"%.100s\", expected \"Config\"", kind);
        return -1;
    }
    const char *ctx_name = context;
    if (!ctx_name || !ctx_name[0]) {
        if (get_str(root, "current-context", "kubeconfig", &ctx_name, msg) < 0)
            return -1;
        if (!ctx_name) {
            set_err(msg, KC_MSG_MAX,
                     "no current-context is set (set one with kubectl config use-context, or "
                     "name a context)");
            return -1;
        }
    }
    char cwhat[256], what[600];
    quote_name(cwhat, sizeof(cwhat), "context", ctx_name);

    json_t *ctx;
    int rc = find_named(root, "contexts", "context", ctx_name, &ctx, msg);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        set_err(msg, KC_MSG_MAX, "%s not found", cwhat);
        return -1;
    }
    const char *cluster_name, *user_name, *ns;
    if (get_str(ctx, "cluster", cwhat, &cluster_name, msg) < 0 ||
        get_str(ctx, "user", cwhat, &user_name, msg) < 0 ||
        get_str(ctx, "namespace", cwhat, &ns, msg) < 0)
        return -1;
    if (!cluster_name) {
        set_err(msg, KC_MSG_MAX, "%s names no cluster", cwhat);
        return -1;
    }
    if (ns && !is_dns_label(ns)) {
        set_err(msg, KC_MSG_MAX,
                 "%s: namespace \"%.100s\" is not a valid namespace name (a lowercase RFC 1123 "
                 "label)",
                 cwhat, ns);
        return -1;
    }
    out->namespace = dup_str(ns ? ns : "default");
    out->context = dup_str(ctx_name);
    if (!out->namespace || !out->context) {
        set_err(msg, KC_MSG_MAX, "out of memory");
        return -1;
    }

    json_t *cl;
    quote_name(what, sizeof(what), "cluster", cluster_name);
    rc = find_named(root, "clusters", "cluster", cluster_name, &cl, msg);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        set_err(msg, KC_MSG_MAX, "%s (of %s) not found", what, cwhat);
        return -1;
    }
    if (load_cluster(cl, what, base_dir, out, msg) < 0)
        return -1;

    if (user_name) {
        json_t *u;
        quote_name(what, sizeof(what), "user", user_name);
        rc = find_named(root, "users", "user", user_name, &u, msg);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            set_err(msg, KC_MSG_MAX, "%s (of %s) not found", what, cwhat);
            return -1;
        }
        if (load_user(u, what, base_dir, out, msg) < 0)
            return -1;
    }
    return 0;
}

/* kubeconfig_parse with an optional file name for the messages. */
static int parse_named(const char *text, size_t len, const char *name, const char *base_dir,
                       const char *context, struct kube_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    json_t *root = yaml_json_load(text, len, name, err, errlen);
    if (!root)
        return -1;
    char msg[KC_MSG_MAX] = "";
    int rc = load_root(root, base_dir, context, out, msg);
    json_decref(root);
    if (rc < 0) {
        kube_config_free(out);
        if (name)
            set_err(err, errlen, "%s: %s", name, msg);
        else
            set_err(err, errlen, "%s", msg);
        return -1;
    }
    return 0;
}

int kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
                     struct kube_config *out, char *err, size_t errlen)
{
    return parse_named(text, len, NULL, base_dir, context, out, err, errlen);
}

int kubeconfig_load(const char *path, const char *context, struct kube_config *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t len;
    char *text = file_read(path, KUBECONFIG_MAX_FILE, &len, err, errlen);
    if (!text)
        return -1;
    char dir[KC_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof(dir))
            n = sizeof(dir) - 1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int rc = parse_named(text, len, path, dir, context, out, err, errlen);
    free(text);
    return rc;
}

/* ---- in-cluster ---- */

int kubeconfig_in_cluster_dir(const char *dir, struct kube_config *out, char *err,
                              size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !host[0] || !port || !port[0]) {
        set_err(err, errlen,
                "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                "must be set");
        return -1;
    }
    size_t pl = strlen(port);
    unsigned long pv = 0;
    bool ok = pl <= 5;
    for (size_t i = 0; ok && i < pl; i++) {
        if (port[i] < '0' || port[i] > '9')
            ok = false;
        else
            pv = pv * 10 + (unsigned long)(port[i] - '0');
    }
    if (!ok || pv == 0 || pv > 65535) {
        set_err(err, errlen, "KUBERNETES_SERVICE_PORT \"%.20s\" is not a port number", port);
        return -1;
    }
    if (strlen(host) > 253 || strpbrk(host, "/@?#[] \t\r\n")) {
        set_err(err, errlen, "KUBERNETES_SERVICE_HOST \"%.100s\" is not a host name or address",
                host);
        return -1;
    }
    bool v6 = strchr(host, ':') != NULL;
    char url[300];
    snprintf(url, sizeof(url), "https://%s%s%s:%lu", v6 ? "[" : "", host, v6 ? "]" : "", pv);
    char msg[KC_MSG_MAX] = "";
    char path[KC_PATH_MAX], why[KC_MSG_MAX / 2];
    if (set_server(url, "in-cluster config", out, msg) < 0)
        goto bad;
    if (load_token_file("token", dir, "in-cluster config", out, msg) < 0)
        goto bad;
    if (resolve_path(dir, "ca.crt", path, sizeof(path), why, sizeof(why)) < 0) {
        set_err(msg, sizeof(msg), "in-cluster config: %s", why);
        goto bad;
    }
    out->ca_pem = file_read(path, KUBECONFIG_MAX_FILE, &out->ca_pem_len, why, sizeof(why));
    if (!out->ca_pem) {
        set_err(msg, sizeof(msg), "in-cluster config: cannot read the CA %s", why);
        goto bad;
    }
    if (!has_pem(out->ca_pem, out->ca_pem_len)) {
        set_err(msg, sizeof(msg), "in-cluster config: %s holds no PEM data", path);
        goto bad;
    }
    const char *ns = getenv("POD_NAMESPACE");
    char *ns_file = NULL;
    if (!ns || !ns[0]) {
        size_t len;
        if (resolve_path(dir, "namespace", path, sizeof(path), why, sizeof(why)) < 0) {
            set_err(msg, sizeof(msg), "in-cluster config: %s", why);
            goto bad;
        }
        struct stat st;
        if (stat(path, &st) == 0) {
            ns_file = file_read(path, 4096, &len, why, sizeof(why));
            if (!ns_file) {
                set_err(msg, sizeof(msg), "in-cluster config: cannot read the namespace %s",
                         why);
                goto bad;
            }
        } else if (errno != ENOENT) {
            set_err(msg, sizeof(msg), "in-cluster config: cannot read the namespace %s: %s",
                     path, strerror(errno));
            goto bad;
        }
        if (ns_file) {
            size_t n = strlen(ns_file);
            while (n > 0 && (ns_file[n - 1] == '\n' || ns_file[n - 1] == '\r' ||
                             ns_file[n - 1] == ' '))
                ns_file[--n] = '\0';
        }
        ns = (ns_file && ns_file[0]) ? ns_file : "default";
    }
    if (!is_dns_label(ns)) {
        set_err(msg, sizeof(msg),
                 "in-cluster config: namespace \"%.100s\" is not a valid namespace name", ns);
        free(ns_file);
        goto bad;
    }
    out->namespace = dup_str(ns);
    free(ns_file);
    if (!out->namespace) {
        set_err(msg, sizeof(msg), "out of memory");
        goto bad;
    }
    return 0;
bad:
    kube_config_free(out);
    set_err(err, errlen, "%s", msg);
    return -1;
}

int kubeconfig_in_cluster(struct kube_config *out, char *err, size_t errlen)
{
    return kubeconfig_in_cluster_dir(KUBECONFIG_SA_DIR, out, err, errlen);
}

/* ---- the search order ---- */

int kubeconfig_resolve(const char *flag_path, struct kube_config *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (flag_path && flag_path[0])
        return kubeconfig_load(flag_path, NULL, out, err, errlen);

    const char *env = getenv("KUBECONFIG");
    if (env) {
        const char *p = env;
        while (*p == ':')
            p++;
        if (*p) {
            char path[KC_PATH_MAX];
            size_t n = strcspn(p, ":");
            if (n >= sizeof(path)) {
                set_err(err, errlen, "KUBECONFIG: path is too long");
                return -1;
            }
            memcpy(path, p, n);
            path[n] = '\0';
            return kubeconfig_load(path, NULL, out, err, errlen);
        }
    }

    char home_cfg[KC_PATH_MAX] = "";
    const char *home = getenv("HOME");
    if (home && home[0]) {
        int n = snprintf(home_cfg, sizeof(home_cfg), "%s/.kube/config", home);
        if (n < 0 || (size_t)n >= sizeof(home_cfg))
            home_cfg[0] = '\0';
    }
    struct stat st;
    bool have_home = home_cfg[0] && stat(home_cfg, &st) == 0;

    const char *svc = getenv("KUBERNETES_SERVICE_HOST");
    if (svc && svc[0]) {
        if (kubeconfig_in_cluster(out, err, errlen) == 0)
            return 0;
        if (!have_home)
            return -1;
    }
    if (have_home)
        return kubeconfig_load(home_cfg, NULL, out, err, errlen);
    set_err(err, errlen,
            "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, run in a cluster, or create "
            "%s",
            home_cfg[0] ? home_cfg : "$HOME/.kube/config");
    return -1;
}
