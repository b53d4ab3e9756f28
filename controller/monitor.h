/* monitor.h — watches every ValkeyCluster's primary and says when it is down (SDOWN).
 *
 * One thread probes the pod labelled gungnir.dev/role=primary of every cluster with failover
 * enabled, each at its spec.failover.probeIntervalMilliseconds, all due clusters in one
 * non-blocking round (prober.h): a hung server costs its own probe, never the others'. A probe
 * fails when the server does not answer in time, or answers but is not a primary. After
 * spec.failover.failureThreshold consecutive failures, or at once when the server's run_id
 * changed or its offset went back (it restarted), the primary is down: the monitor calls
 * on_down with the cluster's key ("namespace/name") so the reconcile runs the failover.
 *
 * The thread's round is monitor_refresh (every half second), monitor_due, prober_round and
 * monitor_record. Those three are public so that the unit tests run rounds by hand on a
 * monitor_new (no thread), with caches filled by hand and probe results of their own.
 *
 * There is no cap on the number of clusters: the table of watched primaries and the buffers of
 * a round grow with it (and the table shrinks again). When memory runs out a cluster that
 * cannot get an entry is not watched: that is logged (when the number of such clusters
 * changes) and counted at each refresh in gungnir_monitor_dropped_total, never silent. A round
 * that cannot get room for every due primary takes fewer; the others stay due for the next. */
#ifndef GUNGNIR_MONITOR_H
#define GUNGNIR_MONITOR_H

#include "informer.h"
#include "prober.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*monitor_down_fn)(void *ctx, const char *key);

struct monitor;

/* Starts the thread. The informers are borrowed and must outlive the monitor. */
struct monitor *monitor_start(struct informer *clusters, struct informer *pods, struct informer *secrets,
                              monitor_down_fn on_down, void *ctx, char *err, size_t errlen);

/* A monitor with no thread and no prober over the same caches (borrowed): the caller runs the
 * rounds with monitor_refresh, monitor_due and monitor_record. Returns NULL with err on
 * failure. */
struct monitor *monitor_new(struct informer *clusters, struct informer *pods, struct informer *secrets,
                            monitor_down_fn on_down, void *ctx, char *err, size_t errlen);

/* Stops the thread, if any, and frees m. NULL is a no-op. */
void monitor_stop(struct monitor *m);

/* Brings the watched primaries up to date with the caches: for every ValkeyCluster not being
 * deleted whose (defaulted) spec.failover.enabled is true, the pod of that cluster
 * (app.kubernetes.io/instance) labelled gungnir.dev/role=primary, not being deleted, with a
 * status.podIP; with auth enabled, only once the password is known (the Secret cache, or
 * monitor_set_password for a user's Secret). A primary
 * that is new or moved (other pod or IP) starts from a clean SDOWN state; the interval and
 * threshold follow the spec. Clusters no longer matching are forgotten. Returns how many
 * primaries are watched. */
size_t monitor_refresh(struct monitor *m);

/* Fills targets[0..max) with the watched primaries, not already down, whose probe is due at
 * now_ms (monotonic ms; each is due first at once, then every probeIntervalMilliseconds):
 * key "namespace/name/pod", the pod IP, DESIRED_PORT and the password ("" without auth); and
 * schedules their next probe. *timeout_ms (may be NULL) receives the round's timeout: the
 * smallest interval among them, at most 500 ms. Returns how many targets were filled. */
size_t monitor_due(struct monitor *m, int64_t now_ms, struct probe_target *targets, size_t max,
                   long *timeout_ms);

/* Records results[k] of probing targets[k] for k < n (targets as monitor_due filled them; a
 * target whose primary is no longer watched is skipped). A probe fails when it got no answer
 * or the server is not a primary; one the server refused the password of, or the prober
 * skipped (probe_result.skipped), counts neither way; the SDOWN state (sdown.h) decides. For every primary that
 * goes down, the reason is kept (monitor_primary_down) and on_down is called once, on the
 * caller's thread with no lock held. Returns how many went down. */
size_t monitor_record(struct monitor *m, const struct probe_target *targets, const struct probe_result *results,
                      size_t n);

/* Hands over the password of a cluster whose auth Secret is the user's (spec.auth.secretName:
 * it carries none of our labels, so the Secret cache does not hold it; the reconcile reads it
 * from the API server). The monitor probes that cluster's primary with it until a newer one is
 * handed over; NULL forgets it. A password the Secret cache has wins. Thread-safe; m may be
 * NULL. */
void monitor_set_password(struct monitor *m, const char *namespace_, const char *name, const char *password);

/* True when pod primary of cluster namespace/name is down now; why (if not NULL) says why
 * ("3 probes failed: connect: Connection refused", "restarted (run_id changed)"). */
bool monitor_primary_down(struct monitor *m, const char *namespace_, const char *name,
                          const char *primary, char *why, size_t whylen);

/* Forgets what was seen of the cluster's primary (after a failover: a new primary is watched
 * from a clean start). */
void monitor_reset(struct monitor *m, const char *namespace_, const char *name);

#endif
