/* pod_template.h — the pod template of a ValkeyCluster's StatefulSet: the valkey container
 * (started with the password on stdin, never in an argument), the exporter sidecar when
 * spec.metrics.enabled, the restricted securityContext, the volumes, the scheduling fields
 * passed through from spec.pod, and the annotations (the config hash that rolls the pods when a
 * line of valkey.conf that needs a restart changes, and Prometheus' scrape hints). Pure. */
#ifndef GUNGNIR_POD_TEMPLATE_H
#define GUNGNIR_POD_TEMPLATE_H

#include "desired.h"

#include <jansson.h>

/* {"metadata": {"labels", "annotations"}, "spec": {...}} for in (new), or NULL when out of
 * memory. */
json_t *pod_template(const struct desired_input *in);

#endif
