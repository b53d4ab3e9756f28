/* monitor.h — watches every ValkeyCluster's primary and says when it is down (SDOWN).
 *
 * One thread probes the pod labelled gungnir.dev/role=primary of every cluster with failover
 * enabled, each at its spec.failover.probeIntervalMilliseconds, all due clusters in one
 * non-blocking round (prober.h): a hung server costs its own probe, never the others'. A probe
 * fails when the server does not answer in time, or answers but is not a primary. After
 * spec.failover.failureThreshold consecutive failures, or at once when the server's run_id
 * changed or its offset went back (it restarted), the primary is down: the monitor calls
 * on_down with the cluster's key ("namespace/name") so the reconcile runs the failover. */
#ifndef GUNGNIR_MONITOR_H
#define GUNGNIR_MONITOR_H

#include "informer.h"

#include <stdbool.h>
#include <stddef.h>

#define MONITOR_CLUSTERS_MAX 1024

typedef void (*monitor_down_fn)(void *ctx, const char *key);

struct monitor;

/* Starts the thread. The informers are borrowed and must outlive the monitor. */
struct monitor *monitor_start(struct informer *clusters, struct informer *pods, struct informer *secrets,
                              monitor_down_fn on_down, void *ctx, char *err, size_t errlen);

void monitor_stop(struct monitor *m);

/* True when pod primary of cluster namespace/name is down now; why (if not NULL) says why
 * ("3 probes failed: connect: Connection refused", "restarted (run_id changed)"). */
bool monitor_primary_down(struct monitor *m, const char *namespace_, const char *name,
                          const char *primary, char *why, size_t whylen);

/* Forgets what was seen of the cluster's primary (after a failover: a new primary is watched
 * from a clean start). */
void monitor_reset(struct monitor *m, const char *namespace_, const char *name);

#endif
