/* cluster_password.h — the Valkey password of a ValkeyCluster, from its auth Secret (the
 * controller's <name>-auth, or the user's spec.auth.secretName), key "password". */
#ifndef GUNGNIR_CLUSTER_PASSWORD_H
#define GUNGNIR_CLUSTER_PASSWORD_H

#include "informer.h"
#include "kube_api.h"

#include <stdbool.h>
#include <stddef.h>

#define CLUSTER_PASSWORD_MAX 256

/* Reads secret_name in namespace_ from the secrets cache, or (when api is not NULL and the
 * cache does not hold it: a user's Secret without our labels) from the API server through api,
 * and writes the decoded password into buf. Returns 0, or -1 with buf "" and, when why is not
 * NULL, why in words a user can act on: the Secret is not there, has no key "password", the
 * value is not base64 or longer than size - 1, or not usable (cluster_password_usable). */
int cluster_password(struct informer *secrets, struct kube_api *api, const char *namespace_,
                     const char *secret_name, char *buf, size_t size, char *why, size_t whylen);

/* True when password can be handed to valkey-server as one double-quoted config value: not
 * empty, no control character, no '"' and no '\\'. */
bool cluster_password_usable(const char *password);

#endif
