/* ops_server.h — the plain-HTTP operations endpoints: /healthz and /readyz (kubelet probes)
 * and /metrics (Prometheus text). GET only; anything else is 404 or 405. */
#ifndef GUNGNIR_OPS_SERVER_H
#define GUNGNIR_OPS_SERVER_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

struct ops_server;

/* Returns true when the process is ready to serve (answers /readyz with 200, else 503). */
typedef bool (*ops_ready_fn)(void);

/* Starts a server on bind serving health (when health is true) and metrics (when metrics is
 * true). Returns a new server, or NULL with the reason in err. */
struct ops_server *ops_server_start(const struct bind_address *bind, bool health, bool metrics,
                                    ops_ready_fn ready, char *err, size_t errlen);

/* Stops and frees. NULL is ignored. */
void ops_server_stop(struct ops_server *s);

#endif
