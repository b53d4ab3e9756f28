/* http_server.h — the webhook's HTTPS server (libmicrohttpd over GnuTLS).
 *
 * Routes:  POST /mutate-gungnir-dev-v1alpha1-valkeycluster    -> admit_mutate
 *          POST /validate-gungnir-dev-v1alpha1-valkeycluster  -> admit_validate
 * Refusals: unknown path 404; a method other than POST 405; Content-Type other than
 * application/json 415; a body over ADMISSION_BODY_MAX 413; a bad AdmissionReview 400.
 * An over-long body is read and dropped before its 413 (at most 4 MiB past the limit, for at
 * most 5 s; past that the connection is closed), so a client that sends the whole body before
 * it reads gets the 413; the connection is closed after a 413.
 * TLS 1.2 and 1.3 only; HTTP/1.1 keep-alive; a thread pool; a connection limit; idle and
 * slow clients are dropped after the idle timeout. */
#ifndef GUNGNIR_HTTP_SERVER_H
#define GUNGNIR_HTTP_SERVER_H

#include "config.h"

#include <stddef.h>

#define WEBHOOK_PATH_MUTATE "/mutate-gungnir-dev-v1alpha1-valkeycluster"
#define WEBHOOK_PATH_VALIDATE "/validate-gungnir-dev-v1alpha1-valkeycluster"

struct webhook_server;

/* Starts serving on cfg->webhook_bind with the active cert store (cert_store_activate).
 * Returns a new server, or NULL with the reason in err. */
struct webhook_server *webhook_server_start(const struct gungnir_config *cfg, char *err, size_t errlen);

/* Stops accepting, finishes in-flight requests, and frees the server. NULL is ignored. */
void webhook_server_stop(struct webhook_server *srv);

#endif
