/* vkc_validate.h — the Validator: every rule of the ValkeyCluster API (api.md), in one place,
 * for the webhook and the controller alike.
 *
 * Objects are expected to have been through vkc_default first (the admission chain runs the
 * mutating webhook before the validating one; the controller defaults its own copy). Every
 * error is collected, none stops the others. */
#ifndef GUNGNIR_VKC_VALIDATE_H
#define GUNGNIR_VKC_VALIDATE_H

#include "field_errors.h"
#include "vkc_spec.h"

#include <jansson.h>

#define VKC_WARNINGS_MAX 8
#define VKC_WARNING_TEXT_MAX 256

/* Warnings for the user (AdmissionResponse.warnings): the request is still allowed. */
struct vkc_warnings {
    size_t count;
    char items[VKC_WARNINGS_MAX][VKC_WARNING_TEXT_MAX];
};

/* Validates a whole ValkeyCluster (metadata.name, spec). When out is not NULL, the parsed spec
 * is stored there (borrowing from obj). warns may be NULL. Returns 0 if valid, else -1. */
int vkc_validate_object(const json_t *obj, ferr_list *errs, struct vkc_warnings *warns,
                        struct vkc_spec *out);

/* Validates new_obj as vkc_validate_object does, then the transition rules against old_obj:
 * storage may grow but not shrink, storage class and persistence mode are immutable with
 * storage, spec.replicas may not change while old_obj's status.failover.inProgress. Transition
 * errors are marked (ferr_http_code 403). Returns 0 if allowed, else -1. */
int vkc_validate_update(const json_t *old_obj, const json_t *new_obj, ferr_list *errs,
                        struct vkc_warnings *warns);

/* Validates an autoscaling/v1 Scale for the scale subresource: spec.replicas within bounds.
 * Returns 0 if valid, else -1. */
int vkc_validate_scale(const json_t *scale, ferr_list *errs);

/* Name checks, exposed for tests: 1 if s is a DNS-1035 label / DNS-1123 subdomain /
 * Kubernetes qualified name (label or annotation key) / label value, else 0. */
int vkc_is_dns1035_label(const char *s, size_t max_len);
int vkc_is_dns1123_subdomain(const char *s);
int vkc_is_qualified_name(const char *s);
int vkc_is_label_value(const char *s);

#endif
