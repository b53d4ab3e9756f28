/* controller.h — the controller half of gungnir, as a controller-runtime manager: informers
 * for ValkeyClusters and what they own, a rate-limited work queue, reconcile workers, and
 * leader election. Started by main() beside the webhook; the webhook never waits for it. */
#ifndef GUNGNIR_CONTROLLER_H
#define GUNGNIR_CONTROLLER_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

struct controller;

/* Finds the API server (--kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config), starts the
 * informers, the leader election (with --leader-elect; else this process leads) and the
 * workers. Returns the controller, or NULL with a reason in err. */
struct controller *controller_start(const struct gungnir_config *cfg, char *err, size_t errlen);

/* True once every informer has listed its resource. */
bool controller_synced(struct controller *c);

/* Stops the workers (each finishes its reconcile), the informers and the election. */
void controller_stop(struct controller *c);

#endif
