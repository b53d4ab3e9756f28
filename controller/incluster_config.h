/* incluster_config.h — the in-cluster config: where the API server is and how to log in to it
 * from inside a pod, from the Kubernetes service environment variables and the pod's service
 * account files. The result is the same struct kube_config a kubeconfig file gives
 * (kubeconfig.h), freed with kube_config_free. */
#ifndef GUNGNIR_INCLUSTER_CONFIG_H
#define GUNGNIR_INCLUSTER_CONFIG_H

#include "kubeconfig.h"

#include <stddef.h>

#define KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* The in-cluster config: server from KUBERNETES_SERVICE_HOST (an IPv6 address is bracketed)
 * and KUBERNETES_SERVICE_PORT, CA from KUBECONFIG_SA_DIR/ca.crt, token file
 * KUBECONFIG_SA_DIR/token (read once to check it, path kept), namespace from $POD_NAMESPACE,
 * else KUBECONFIG_SA_DIR/namespace, else "default". context stays NULL. Returns 0 or -1
 * (*out zeroed, err set). On success free *out with kube_config_free. */
int kubeconfig_in_cluster(struct kube_config *out, char *err, size_t errlen);

/* As kubeconfig_in_cluster with the service account files in dir instead (for tests). */
int kubeconfig_in_cluster_dir(const char *dir, struct kube_config *out, char *err,
                              size_t errlen);

#endif
