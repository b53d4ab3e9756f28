/* kube_client.c — see kube_client.h. */
#include "kube_client.h"
#include "strbuf.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_MAX 16384
#define WATCH_LINE_MAX (16u * 1024u * 1024u)

struct kube_client {
    CURL *curl;
    char *server;
    char *token;      /* current bearer token, or NULL */
    char *token_file; /* where to re-read it from, or NULL */
    time_t token_read_at;
    char *ca_pem, *cert_pem, *key_pem;
    size_t ca_len, cert_len, key_len;
    char *tls_server_name;
    bool insecure;
    long connect_timeout_ms, request_timeout_ms;
    char *user_agent;
    const volatile int *abort_flag;
    char errstr[KUBE_ERR_MAX];
};

void kube_client_set_abort_flag(struct kube_client *c, const volatile int *flag) { c->abort_flag = flag; }

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const struct kube_client *c = clientp;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return c->abort_flag && *c->abort_flag ? 1 : 0;
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
    FILE *f = fopen(c->token_file, "r");
    char buf[TOKEN_MAX];
    size_t n;

    if (!f) {
        set_err(c, "cannot read the token file %s: %s", c->token_file, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n == 0) {
        set_err(c, "the token file %s is empty", c->token_file);
        return -1;
    }
    char *t = dup_n(buf, n);
    if (!t)
        return -1;
    free(c->token);
    c->token = t;
    c->token_read_at = time(NULL);
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
};

struct transfer {
    struct kube_client *c;
    struct strbuf body;        /* a plain request's answer */
    struct watch_state *watch; /* or a watch's event stream */
};

/* Hands every complete line in w->line to the callback and keeps the rest. Returns -1 when
 * the callback asked to stop. */
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
            int rc = (type && json_is_object(obj)) ? w->fn(w->ctx, type, obj) : 0;
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
    if (c->abort_flag && *c->abort_flag) {
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
        set_err(c, "%s %s: %s", method, path, curl_easy_strerror(rc));
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
    if (w.stopped) {
        set_err(c, "GET %s: stopped", path);
        code = -1;
    } else if (w.too_long) {
        set_err(c, "GET %s: a watch event is larger than %u bytes", path, WATCH_LINE_MAX);
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
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                     ch == '-' || ch == '_' || ch == '.' || ch == '~';
        if (o + (plain ? 1 : 3) >= size)
            return -1;
        if (plain) {
            buf[o++] = (char)ch;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[ch >> 4];
            buf[o++] = hex[ch & 15];
        }
    }
    if (o >= size)
        return -1;
    buf[o] = '\0';
    return 0;
}
