/* http_server.c — the webhook's HTTPS server (see http_server.h). */
#include "http_server.h"

#include "admission.h"
#include "admit.h"
#include "cert_store.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "net_addr.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum route { ROUTE_MUTATE, ROUTE_VALIDATE, ROUTE_OTHER, ROUTE_COUNT };

static const char *const route_labels[ROUTE_COUNT] = {"mutate", "validate", "other"};
#define RESULT_COUNT 5 /* enum admit_result */

struct webhook_server {
    struct MHD_Daemon *daemon;
    metrics_series *requests[ROUTE_COUNT][RESULT_COUNT];
    metrics_series *rejected[ROUTE_COUNT]; /* 404, 405, 413, 415 */
    metrics_series *latency[ROUTE_COUNT];
    unsigned int idle_timeout_s; /* MHD_OPTION_CONNECTION_TIMEOUT */
};

/* Per-request state, from the first call of the access handler to the completion notice. */
struct request {
    enum route route;
    int64_t start_ns; /* clock_now_ns when the headers arrived */
    char *body;
    size_t len, cap;
    int refused; /* an HTTP status already decided (413 from the headers or while reading) */
    bool queued; /* the refusal has been queued */
    size_t seen; /* body bytes read so far, kept or dropped */
    int64_t drain_until_ms; /* clock_now_ms past which a refused body is no longer read */
};

/* A body refused with 413 is read and dropped before the 413 is queued (a lingering close, as
 * nginx does): MHD answers only before the body or after all of it, and answering before it
 * means closing on a client that is still sending, whose TCP reset then destroys the 413 (a
 * client that writes the whole body before it reads, such as Python's http.client, never sees
 * it). The drain is bounded: at most DRAIN_MAX bytes past ADMISSION_BODY_MAX in all, for at
 * most DRAIN_MS from the refusal, with the connection's idle timeout cut to DRAIN_IDLE_S;
 * past a bound the connection is closed with no answer. A Content-Length past the byte bound,
 * or an Expect: 100-continue (the client waits before sending), gets its 413 at once. After a
 * 413 the connection is closed. */
#define DRAIN_MAX (4u * 1024u * 1024u)
#define DRAIN_MS 5000
#define DRAIN_IDLE_S 5u

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, const char *type,
                            char *body, size_t len, bool must_free)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (must_free)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
    if (status == MHD_HTTP_CONTENT_TOO_LARGE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
    return respond(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), false);
}

static bool is_json(const char *type)
{
    if (!type)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(type, "application/json", n) == 0 && (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* Decides, on the first call (headers only), whether the request can be served. Returns 0,
 * or the HTTP status to refuse it with. */
static unsigned int check_headers(struct MHD_Connection *c, const char *url, const char *method,
                                  enum route *route)
{
    *route = strcmp(url, WEBHOOK_PATH_MUTATE) == 0     ? ROUTE_MUTATE
             : strcmp(url, WEBHOOK_PATH_VALIDATE) == 0 ? ROUTE_VALIDATE
                                                       : ROUTE_OTHER;
    if (*route == ROUTE_OTHER)
        return MHD_HTTP_NOT_FOUND;
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return MHD_HTTP_METHOD_NOT_ALLOWED;
    if (!is_json(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > ADMISSION_BODY_MAX)
        return MHD_HTTP_CONTENT_TOO_LARGE;
    return 0;
}

static const char *refusal_text(unsigned int status)
{
    switch (status) {
    case MHD_HTTP_NOT_FOUND:
        return "not found: the webhook serves POST " WEBHOOK_PATH_MUTATE " and POST " WEBHOOK_PATH_VALIDATE "\n";
    case MHD_HTTP_METHOD_NOT_ALLOWED:
        return "method not allowed: use POST\n";
    case MHD_HTTP_UNSUPPORTED_MEDIA_TYPE:
        return "unsupported media type: send an AdmissionReview as Content-Type: application/json\n";
    default:
        return "request body too large: an AdmissionReview may be at most 7 MiB\n";
    }
}

/* Returns true when a body refused at the headers (413 from its Content-Length) is to be read
 * and dropped before the answer: the client sends it without waiting for one, and it is
 * within the drain's byte bound. */
static bool drain_from_headers(struct MHD_Connection *c)
{
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    if (expect && strcasecmp(expect, "100-continue") == 0)
        return false;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl && strtoull(cl, NULL, 10) <= (unsigned long long)ADMISSION_BODY_MAX + DRAIN_MAX;
}

/* Starts reading a refused body to drop it: sets its deadline and cuts the connection's idle
 * timeout to DRAIN_IDLE_S (a stalled client is dropped then, not after the idle timeout). */
static void drain_start(struct webhook_server *srv, struct MHD_Connection *c, struct request *rq)
{
    rq->drain_until_ms = clock_now_ms() + DRAIN_MS;
    if (srv->idle_timeout_s > DRAIN_IDLE_S)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, DRAIN_IDLE_S);
}

/* Returns MHD_YES while the drain of a refused body is within its bounds (bytes and time), or
 * MHD_NO to close the connection. */
static enum MHD_Result drain_within_bounds(const struct request *rq)
{
    if (rq->seen > (size_t)ADMISSION_BODY_MAX + DRAIN_MAX || clock_now_ms() > rq->drain_until_ms)
        return MHD_NO;
    return MHD_YES;
}

/* Appends a chunk of the body, bounded by ADMISSION_BODY_MAX. Returns 0, or -1 when too large
 * or out of memory. */
static int body_append(struct request *rq, const char *data, size_t n)
{
    if (rq->len + n > ADMISSION_BODY_MAX)
        return -1;
    if (rq->len + n > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 4096;
        while (cap < rq->len + n)
            cap *= 2;
        if (cap > ADMISSION_BODY_MAX)
            cap = ADMISSION_BODY_MAX;
        char *b = realloc(rq->body, cap);
        if (!b)
            return -1;
        rq->body = b;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct webhook_server *srv = cls;
    struct request *rq = *req_cls;
    (void)version;

    if (!rq) { /* headers only */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        rq->start_ns = clock_now_ns();
        *req_cls = rq;
        unsigned int refuse = check_headers(c, url, method, &rq->route);
        if (refuse) {
            rq->refused = (int)refuse;
            metrics_inc(srv->rejected[rq->route]);
            if (refuse == MHD_HTTP_CONTENT_TOO_LARGE && drain_from_headers(c)) {
                drain_start(srv, c, rq);
                return MHD_YES;
            }
            rq->queued = true;
            return send_text(c, refuse, refusal_text(refuse));
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        rq->seen += n;
        if (rq->refused)
            return drain_within_bounds(rq);
        if (body_append(rq, upload, n) != 0) {
            rq->refused = MHD_HTTP_CONTENT_TOO_LARGE;
            metrics_inc(srv->rejected[rq->route]);
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
            drain_start(srv, c, rq);
            return drain_within_bounds(rq);
        }
        return MHD_YES;
    }
    if (rq->refused) {
        if (rq->queued)
            return MHD_YES;
        rq->queued = true; /* the whole refused body has been read: answer now */
        return send_text(c, (unsigned int)rq->refused, refusal_text((unsigned int)rq->refused));
    }

    struct admit_answer a;
    if (rq->route == ROUTE_MUTATE)
        admit_mutate(rq->body ? rq->body : "", rq->len, &a);
    else
        admit_validate(rq->body ? rq->body : "", rq->len, &a);
    metrics_inc(srv->requests[rq->route][a.result]);
    metrics_observe(srv->latency[rq->route], (double)(clock_now_ns() - rq->start_ns) / 1e9);
    if (!a.body)
        return MHD_NO;
    return respond(c, (unsigned int)a.http_status, a.content_type, a.body, a.len, true);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    struct request *rq = *req_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *req_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_write(LOG_DEBUG, "webhook http", "detail", msg, NULL);
}

static void register_metrics(struct webhook_server *srv)
{
    static const double bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1};
    char labels[96];
    for (int r = 0; r < ROUTE_COUNT; r++) {
        for (int k = 0; k < RESULT_COUNT; k++) {
            snprintf(labels, sizeof(labels), "path=\"%s\",result=\"%s\"", route_labels[r],
                     admit_result_name((enum admit_result)k));
            srv->requests[r][k] = metrics_counter("gungnir_webhook_requests_total",
                                                  "Webhook requests by path and result", labels);
        }
        snprintf(labels, sizeof(labels), "path=\"%s\",result=\"refused\"", route_labels[r]);
        srv->rejected[r] = metrics_counter("gungnir_webhook_requests_total",
                                           "Webhook requests by path and result", labels);
        snprintf(labels, sizeof(labels), "path=\"%s\"", route_labels[r]);
        srv->latency[r] = metrics_histogram("gungnir_webhook_request_duration_seconds",
                                            "Time from request headers to the queued answer", labels,
                                            bounds, sizeof(bounds) / sizeof(bounds[0]));
    }
}

struct webhook_server *webhook_server_start(const struct gungnir_config *cfg, char *err, size_t errlen)
{
    struct webhook_server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_storage addr;
    socklen_t addrlen;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned int threads = cfg->webhook_threads > 0 ? (unsigned int)cfg->webhook_threads
                                                    : (unsigned int)(cores > 0 ? cores : 1);

    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (net_addr_resolve(&cfg->webhook_bind, &addr, &addrlen, err, errlen) != 0) {
        free(srv);
        return NULL;
    }
    register_metrics(srv);
    srv->idle_timeout_s = (unsigned int)cfg->webhook_idle_timeout_s;
    srv->daemon = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO,
        (uint16_t)cfg->webhook_bind.port, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_HTTPS_CERT_CALLBACK, cert_store_retrieve,
        MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE",
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->webhook_max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->webhook_idle_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "cannot serve HTTPS on %s:%d (address in use, or no permission?)",
                 cfg->webhook_bind.host[0] ? cfg->webhook_bind.host : "*", cfg->webhook_bind.port);
        free(srv);
        return NULL;
    }
    return srv;
}

void webhook_server_stop(struct webhook_server *srv)
{
    if (!srv)
        return;
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
