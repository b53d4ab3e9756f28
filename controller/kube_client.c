/* kube_client.c — see kube_client.h. */
#include "kube_client.h"

#include "file_read.h"
#include "strbuf.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TOKEN_MAX 16384
#define WATCH_LINE_MAX (16u * 1024u * 1024u)

struct kube_client {
    CURL *curl;
    char *server;     /* the base URL requests go to: with tls_server_name as its host when set */
    char *host_header; /* "Host: <the server's own host[:port]>" when the URL's host was replaced */
    struct curl_slist *connect_to; /* "name:port:real-host:port" when it was, else NULL */
    char *proxy;      /* CURLOPT_PROXY, or NULL (then libcurl's *_proxy environment applies) */
    char *token;      /* current bearer token, or NULL */
    char *token_file; /* where to re-read it from, or NULL */
    time_t token_read_at;
    char *ca_pem, *cert_pem, *key_pem;
    size_t ca_len, cert_len, key_len;
    char *tls_server_name;
    bool insecure;
    long connect_timeout_ms, request_timeout_ms;
    char *user_agent;
    const atomic_int *abort_flag;
    const struct fence *fence;
    char curl_err[CURL_ERROR_SIZE]; /* libcurl's detail of the last failed transfer */
    char errstr[KUBE_ERR_MAX];
};

void kube_client_set_abort_flag(struct kube_client *c, const atomic_int *flag) { c->abort_flag = flag; }

void kube_client_set_fence(struct kube_client *c, const struct fence *f) { c->fence = f; }

/* True when c must give up: its stop flag is set or its fence is closed. */
static bool must_abort(const struct kube_client *c)
{
    return (c->abort_flag && atomic_load(c->abort_flag)) || fence_closed(c->fence);
}

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const struct kube_client *c = clientp;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return must_abort(c) ? 1 : 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void set_err(struct kube_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct kube_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof(c->errstr), fmt, ap);
    va_end(ap);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *dup_or_null(const char *s) { return s ? dup_n(s, strlen(s)) : NULL; }

/* Reads the token file into c->token. Returns 0, or -1 with errstr set (the old token is kept). */
static int read_token_file(struct kube_client *c)
{
    char why[KUBE_ERR_MAX - 64];
    size_t n;
    char *t = file_read(c->token_file, TOKEN_MAX, &n, why, sizeof(why));
    if (!t) {
        set_err(c, "cannot read the token file %s", why);
        return -1;
    }
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
        t[--n] = '\0';
    size_t lead = strspn(t, " \t\r\n");
    memmove(t, t + lead, n - lead + 1);
    n -= lead;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch < 0x20 || ch == 0x7f) { /* it goes into a header line */
            set_err(c, "the token file %s holds a control character (at byte %zu)", c->token_file,
                    i + lead);
            free(t);
            return -1;
        }
    }
    if (n == 0) {
        set_err(c, "the token file %s is empty", c->token_file);
        free(t);
        return -1;
    }
    free(c->token);
    c->token = t;
    c->token_read_at = time(NULL);
    return 0;
}

/* Points c at the API server through tls_server_name: requests go to a URL with that name as
 * its host, so that libcurl sends it as SNI and verifies the server certificate against it,
 * while CURLOPT_CONNECT_TO makes the connection to the server's real host and port and the
 * Host header keeps the real authority (what kubectl does with tls-server-name). Returns 0, or
 * -1 with err set. */
static int route_by_name(struct kube_client *c, const char *name, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *explicit_port = NULL, *url = NULL;
    int rc = -1;
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, c->server, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "the API server URL \"%.300s\" cannot be parsed", c->server);
        goto done;
    }
    if (strcmp(scheme, "https") != 0 || strcasecmp(host, name) == 0) {
        rc = 0; /* no TLS, or the name is the host already */
        goto done;
    }
    curl_url_get(u, CURLUPART_PORT, &explicit_port, 0); /* NULL when the URL has none */
    if (curl_url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
        snprintf(err, errlen, "tls-server-name \"%.200s\" is not a valid host name", name);
        goto done;
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    char route[600], hosthdr[400];
    if ((size_t)snprintf(route, sizeof(route), "%s:%s:%s:%s", name, port, host, port) >=
            sizeof(route) ||
        (size_t)snprintf(hosthdr, sizeof(hosthdr), "Host: %s%s%s", host,
                         explicit_port ? ":" : "", explicit_port ? explicit_port : "") >=
            sizeof(hosthdr)) {
        snprintf(err, errlen, "tls-server-name \"%.200s\" is too long", name);
        goto done;
    }
    char *base = dup_n(url, n);
    char *hh = dup_or_null(hosthdr);
    struct curl_slist *ct = curl_slist_append(NULL, route);
    if (!base || !hh || !ct) {
        free(base);
        free(hh);
        curl_slist_free_all(ct);
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    free(c->server);
    c->server = base;
    c->host_header = hh;
    c->connect_to = ct;
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(explicit_port);
    curl_free(url);
    curl_url_cleanup(u);
    return rc;
}

/* Sets c->proxy from a proxy URL (the kubeconfig's proxy-url). Returns 0, or -1 with err. */
static int set_proxy(struct kube_client *c, const char *url, char *err, size_t errlen)
{
    if (!url || !url[0])
        return 0;
    if (strncmp(url, "socks5://", 9) == 0) {
        /* kubectl hands the host name to a SOCKS5 proxy to resolve: libcurl's socks5h */
        size_t n = strlen(url);
        c->proxy = malloc(n + 2);
        if (c->proxy) {
            memcpy(c->proxy, "socks5h://", 10);
            memcpy(c->proxy + 10, url + 9, n - 9 + 1);
        }
    } else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        c->proxy = dup_or_null(url);
    } else {
        snprintf(err, errlen,
                 "proxy URL \"%.300s\": only http://, https:// and socks5:// proxies are "
                 "supported",
                 url);
        return -1;
    }
    if (!c->proxy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

struct kube_client *kube_client_new(const struct kube_client_options *o, char *err, size_t errlen)
{
    struct kube_client *c;

    if (!o->server || strncmp(o->server, "http", 4) != 0) {
        snprintf(err, errlen, "the API server URL must start with https:// (got \"%s\")",
                 o->server ? o->server : "");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->curl = curl_easy_init();
    c->server = dup_or_null(o->server);
    c->token = dup_or_null(o->token);
    c->token_file = dup_or_null(o->token_file);
    c->tls_server_name = dup_or_null(o->tls_server_name);
    c->user_agent = dup_or_null(o->user_agent ? o->user_agent : "gungnir");
    if (o->ca_pem) {
        c->ca_pem = dup_n(o->ca_pem, o->ca_pem_len);
        c->ca_len = o->ca_pem_len;
    }
    if (o->cert_pem) {
        c->cert_pem = dup_n(o->cert_pem, o->cert_pem_len);
        c->cert_len = o->cert_pem_len;
    }
    if (o->key_pem) {
        c->key_pem = dup_n(o->key_pem, o->key_pem_len);
        c->key_len = o->key_pem_len;
    }
    c->insecure = o->insecure;
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    c->request_timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 30000;
    if (!c->curl || !c->server || !c->user_agent) {
        kube_client_free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (set_proxy(c, o->proxy_url, err, errlen) != 0 ||
        (c->tls_server_name && c->tls_server_name[0] &&
         route_by_name(c, c->tls_server_name, err, errlen) != 0)) {
        kube_client_free(c);
        return NULL;
    }
    if (c->token_file && read_token_file(c) != 0) {
        snprintf(err, errlen, "%s", c->errstr);
        kube_client_free(c);
        return NULL;
    }
    return c;
}

void kube_client_free(struct kube_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->server);
    free(c->host_header);
    curl_slist_free_all(c->connect_to);
    free(c->proxy);
    free(c->token);
    free(c->token_file);
    free(c->ca_pem);
    free(c->cert_pem);
    free(c->key_pem);
    free(c->tls_server_name);
    free(c->user_agent);
    free(c);
}

const char *kube_client_errstr(const struct kube_client *c) { return c->errstr; }

/* ---- one transfer ---------------------------------------------------------------------- */

struct watch_state {
    kube_watch_fn fn;
    void *ctx;
    struct strbuf line;
    bool stopped;
    bool too_long;
    bool lost; /* a line could not be read (the callback heard of it) */
};

struct transfer {
    struct kube_client *c;
    struct strbuf body;        /* a plain request's answer */
    struct watch_state *watch; /* or a watch's event stream */
};

/* Tells the callback that events were lost (a line that does not parse, or one over
 * WATCH_LINE_MAX) as an ERROR event with a Status of code 500, as the API server says a broken
 * watch: its caller must list again rather than go on as if nothing was missed. Returns the
 * callback's answer. */
static int deliver_loss(struct watch_state *w, const char *why)
{
    json_t *st = json_pack("{s:s, s:s, s:s, s:s, s:i}", "kind", "Status", "status", "Failure", "message", why,
                           "reason", "InternalError", "code", 500);
    int rc = st ? w->fn(w->ctx, "ERROR", st) : 1;
    json_decref(st);
    return rc;
}

/* Hands every complete line in w->line to the callback and keeps the rest. Returns -1 when
 * the callback asked to stop (also after an event that could not be read). */
static int deliver_lines(struct watch_state *w)
{
    size_t start = 0;
    for (size_t i = 0; i < w->line.len; i++) {
        if (w->line.data[i] != '\n')
            continue;
        size_t n = i - start;
        if (n > 0) {
            json_error_t je;
            json_t *ev = json_loadb(w->line.data + start, n, 0, &je);
            const char *type = json_string_value(json_object_get(ev, "type"));
            json_t *obj = json_object_get(ev, "object");
            int rc;
            if (type && json_is_object(obj)) {
                rc = w->fn(w->ctx, type, obj);
            } else {
                char why[256];
                snprintf(why, sizeof(why), "a watch event could not be read (%s); events may be lost",
                         ev ? "no type or object" : je.text);
                rc = deliver_loss(w, why);
                w->lost = true;
            }
            json_decref(ev);
            if (rc != 0) {
                w->stopped = true;
                return -1;
            }
        }
        start = i + 1;
    }
    if (start > 0) {
        memmove(w->line.data, w->line.data + start, w->line.len - start);
        w->line.len -= start;
        w->line.data[w->line.len] = '\0';
    }
    return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;

    long code = 0;
    if (t->watch)
        curl_easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &code);
    if (t->watch && code < 300) {
        if (strbuf_append(&t->watch->line, ptr, n) != 0) {
            t->watch->too_long = true;
            return 0;
        }
        return deliver_lines(t->watch) == 0 ? n : 0;
    }
    return strbuf_append(&t->body, ptr, n) == 0 ? n : 0;
}

/* Sets the options every request shares. Returns the header list to free after the request. */
static struct curl_slist *prepare(struct kube_client *c, const char *method, const char *url,
                                  const char *content_type, struct transfer *t)
{
    CURL *h = c->curl;
    struct curl_slist *hdrs = NULL;
    char auth[TOKEN_MAX + 32];

    curl_easy_reset(h); /* keeps the open connection and the TLS session cache */
    if (c->token_file && time(NULL) - c->token_read_at >= KUBE_TOKEN_REREAD_S)
        read_token_file(c); /* on failure the old token is kept; the API server will say 401 */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    c->curl_err[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
    if (c->connect_to)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
    if (c->proxy) {
        curl_easy_setopt(h, CURLOPT_PROXY, c->proxy);
        curl_easy_setopt(h, CURLOPT_NOPROXY, ""); /* the kubeconfig's proxy: no exceptions */
    }
    if (c->ca_pem) {
        struct curl_blob blob = {c->ca_pem, c->ca_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c->cert_pem && c->key_pem) {
        struct curl_blob cert = {c->cert_pem, c->cert_len, CURL_BLOB_NOCOPY};
        struct curl_blob key = {c->key_pem, c->key_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (c->host_header)
        hdrs = curl_slist_append(hdrs, c->host_header);
    if (content_type) {
        char ct[128];
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
    }
    if (c->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

const char *kube_status_message(const json_t *status, long http_code, char *buf, size_t size)
{
    const char *msg = json_string_value(json_object_get(status, "message"));
    const char *reason = json_string_value(json_object_get(status, "reason"));

    if (msg && msg[0])
        snprintf(buf, size, "%s (%s, %ld)", msg, reason && reason[0] ? reason : "no reason", http_code);
    else
        snprintf(buf, size, "the API server answered HTTP %ld without a Status message", http_code);
    return buf;
}

/* Runs the prepared transfer. Returns the HTTP status, or -1 with errstr set. */
static long perform(struct kube_client *c, const char *method, const char *path)
{
    if (must_abort(c)) {
        set_err(c, "%s %s: aborted", method, path);
        return -1;
    }
    CURLcode rc = curl_easy_perform(c->curl);
    long code = 0;

    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        set_err(c, "%s %s: aborted", method, path);
        return -1;
    }
    if (rc != CURLE_OK) {
        const char *detail = c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc);
        if (rc == CURLE_PEER_FAILED_VERIFICATION && c->host_header)
            set_err(c, "%s %s: %s (the certificate is checked against tls-server-name \"%s\")",
                    method, path, detail, c->tls_server_name);
        else
            set_err(c, "%s %s: %s", method, path, detail);
        return -1;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

long kube_request(struct kube_client *c, const char *method, const char *path,
                  const char *content_type, const char *body, size_t body_len, json_t **out)
{
    struct transfer t = {.c = c};
    char url[4096];
    long code;

    if (out)
        *out = NULL;
    c->errstr[0] = '\0';
    if ((size_t)snprintf(url, sizeof(url), "%s%s", c->server, path) >= sizeof(url)) {
        set_err(c, "%s: the URL is too long", method);
        return -1;
    }
    strbuf_init(&t.body, KUBE_BODY_MAX);
    struct curl_slist *hdrs = prepare(c, method, url, body ? (content_type ? content_type : "application/json") : NULL, &t);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->request_timeout_ms);
    if (body) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    code = perform(c, method, path);
    curl_slist_free_all(hdrs);
    if (code < 0) {
        if (t.body.failed)
            set_err(c, "%s %s: the answer is larger than %u bytes", method, path, KUBE_BODY_MAX);
        strbuf_free(&t.body);
        return -1;
    }
    json_t *doc = NULL;
    if (t.body.len > 0) {
        json_error_t je;
        doc = json_loadb(t.body.data, t.body.len, 0, &je);
    }
    strbuf_free(&t.body);
    if (code >= 400) {
        char msg[KUBE_ERR_MAX - 64];
        set_err(c, "%s %s: %s", method, path, kube_status_message(doc, code, msg, sizeof(msg)));
    }
    if (out)
        *out = doc;
    else
        json_decref(doc);
    return code;
}

long kube_get(struct kube_client *c, const char *path, json_t **out)
{
    return kube_request(c, "GET", path, NULL, NULL, 0, out);
}

long kube_send_json(struct kube_client *c, const char *method, const char *path,
                    const char *content_type, const json_t *body, json_t **out)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) {
        set_err(c, "%s %s: cannot serialize the body", method, path);
        if (out)
            *out = NULL;
        return -1;
    }
    long code = kube_request(c, method, path, content_type, text, strlen(text), out);
    free(text);
    return code;
}

long kube_watch(struct kube_client *c, const char *path, long idle_timeout_s, kube_watch_fn fn,
                void *ctx)
{
    struct watch_state w = {.fn = fn, .ctx = ctx};
    struct transfer t = {.c = c, .watch = &w};
    char url[4096];
    long code;

    c->errstr[0] = '\0';
    if ((size_t)snprintf(url, sizeof(url), "%s%s", c->server, path) >= sizeof(url)) {
        set_err(c, "GET: the URL is too long");
        return -1;
    }
    strbuf_init(&w.line, WATCH_LINE_MAX);
    strbuf_init(&t.body, 1u << 20); /* an error answer's Status */
    struct curl_slist *hdrs = prepare(c, "GET", url, NULL, &t);
    /* A dead connection is one that sends nothing (not even a bookmark) for idle_timeout_s. */
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, idle_timeout_s > 0 ? idle_timeout_s : 120L);
    code = perform(c, "GET", path);
    curl_slist_free_all(hdrs);
    if (w.too_long) {
        set_err(c, "GET %s: a watch event is larger than %u bytes", path, WATCH_LINE_MAX);
        if (!w.stopped)
            deliver_loss(&w, c->errstr);
        code = -1;
    } else if (w.stopped) {
        set_err(c, "GET %s: %s", path, w.lost ? "a watch event could not be read" : "stopped");
        code = -1;
    } else if (code >= 400) {
        json_error_t je;
        json_t *doc = t.body.len ? json_loadb(t.body.data, t.body.len, 0, &je) : NULL;
        char msg[KUBE_ERR_MAX - 64];
        set_err(c, "GET %s: %s", path, kube_status_message(doc, code, msg, sizeof(msg)));
        json_decref(doc);
    }
    strbuf_free(&w.line);
    strbuf_free(&t.body);
    return code;
}

int kube_query_escape(const char *s, char *buf, size_t size)
{
    size_t n = strlen(s);
    if (n > (size_t)INT_MAX / 3 || size == 0)
        return -1;
    char *e = curl_easy_escape(NULL, s, (int)n); /* NULL handle: allowed since libcurl 7.82 */
    if (!e)
        return -1;
    size_t el = strlen(e);
    int rc = -1;
    if (el < size) {
        memcpy(buf, e, el + 1);
        rc = 0;
    }
    curl_free(e);
    return rc;
}
