/* ops_server.c — health and metrics endpoints (see ops_server.h). */
#include "ops_server.h"

#include "metrics.h"
#include "net_addr.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ops_server {
    struct MHD_Daemon *daemon;
    bool health, metrics;
    ops_ready_fn ready;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
    return reply(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct ops_server *s = cls;
    (void)version, (void)upload;

    if (!*req_cls) { /* first call: headers only */
        *req_cls = s;
        return MHD_YES;
    }
    if (*upload_size) { /* ignore any body */
        *upload_size = 0;
        return MHD_YES;
    }
    bool is_health = strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0;
    bool is_metrics = strcmp(url, "/metrics") == 0;
    if ((is_health && !s->health) || (is_metrics && !s->metrics) || (!is_health && !is_metrics))
        return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET\n");
    if (strcmp(url, "/healthz") == 0)
        return text(c, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0)
        return s->ready && !s->ready() ? text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n")
                                       : text(c, MHD_HTTP_OK, "ok\n");
    size_t len = 0;
    char *body = metrics_render(&len);
    if (!body)
        return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len, MHD_RESPMEM_MUST_FREE);
}

struct ops_server *ops_server_start(const struct bind_address *bind, bool health, bool metrics,
                                    ops_ready_fn ready, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct ops_server *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (net_addr_resolve(bind, &addr, &addrlen, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    s->health = health;
    s->metrics = metrics;
    s->ready = ready;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)bind->port,
                                 NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot serve HTTP on %s:%d (address in use?)", bind->host[0] ? bind->host : "*",
                 bind->port);
        free(s);
        return NULL;
    }
    return s;
}

void ops_server_stop(struct ops_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
