/* vkc_defaults.h — the Defaulter: fills in every default of the ValkeyCluster API (api.md).
 *
 * Only missing fields (absent or null) are set, so defaulting a defaulted object changes
 * nothing. Fields of the wrong type are left alone for the Validator to report. */
#ifndef GUNGNIR_VKC_DEFAULTS_H
#define GUNGNIR_VKC_DEFAULTS_H

#include "jsonpatch.h"

#include <jansson.h>

#define VKC_DEFAULT_REPLICAS 3
#define VKC_DEFAULT_IMAGE "valkey/valkey:8.1"
#define VKC_DEFAULT_PULL_POLICY "IfNotPresent"
#define VKC_DEFAULT_PROBE_INTERVAL_MS 1000
#define VKC_DEFAULT_FAILURE_THRESHOLD 3
#define VKC_DEFAULT_REPLICA_PRIORITY 100
#define VKC_DEFAULT_ISSUER_KIND "Issuer"
#define VKC_DEFAULT_ISSUER_GROUP "cert-manager.io"
#define VKC_MAXMEMORY_PERCENT 80

/* Defaults the ValkeyCluster object obj (borrowed) in place and, when patch is not NULL,
 * records one JSON Patch "add" for each field it set, in an order that applies cleanly to the
 * original object. Returns the number of fields set, or -1 on allocation failure. */
int vkc_default(json_t *obj, jsonpatch *patch);

#endif
