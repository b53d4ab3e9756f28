/* admit.c — the webhook handlers (see admit.h). */
#include "admit.h"

#include "admission.h"
#include "field_errors.h"
#include "jsonpatch.h"
#include "vkc_defaults.h"
#include "vkc_spec.h"
#include "vkc_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *admit_result_name(enum admit_result r)
{
    static const char *const names[] = {"allowed", "patched", "denied", "bad_request", "error"};
    return names[r];
}

static void answer_text(struct admit_answer *out, enum admit_result result, int status,
                        const char *msg)
{
    size_t n = strlen(msg);
    out->result = result;
    out->http_status = status;
    out->content_type = "text/plain; charset=utf-8";
    out->body = malloc(n + 2);
    if (!out->body) {
        out->len = 0;
        return;
    }
    memcpy(out->body, msg, n);
    out->body[n] = '\n';
    out->body[n + 1] = '\0';
    out->len = n + 1;
}

static void answer_review(struct admit_answer *out, const char *uid, enum admit_result result,
                          const struct admission_verdict *v)
{
    out->body = admission_encode(uid, v, &out->len);
    if (!out->body) {
        answer_text(out, ADMIT_ERROR, 500, "out of memory");
        return;
    }
    out->result = result;
    out->http_status = 200;
    out->content_type = "application/json";
}

static const char *object_name(const struct admission_request *req)
{
    const char *n = json_string_value(
        json_object_get(json_object_get(req->object, "metadata"), "name"));
    return n && n[0] ? n : req->name;
}

/* A request this webhook cannot judge (wrong resource, no object): refused in the review. */
static void answer_refusal(struct admit_answer *out, const struct admission_request *req,
                           const char *msg)
{
    struct admission_verdict v = {.allowed = false, .code = 400, .reason = "BadRequest", .message = msg};
    answer_review(out, req->uid, ADMIT_DENIED, &v);
}

/* Checks that req is about a ValkeyCluster (or its scale subresource) and carries the objects
 * its operation needs. Returns 0, or -1 after answering. */
static int check_target(struct admit_answer *out, const struct admission_request *req)
{
    char msg[256];
    bool scale = strcmp(req->sub_resource, "scale") == 0;

    if (req->op == ADMISSION_DELETE || req->op == ADMISSION_CONNECT)
        return 0;
    if (scale ? strcmp(req->kind, "Scale") != 0
              : strcmp(req->kind, VKC_KIND) != 0 || strcmp(req->group, VKC_GROUP) != 0) {
        snprintf(msg, sizeof(msg), "this webhook serves %s and its scale subresource, not %.64s%s%.64s%s%.32s",
                 VKC_KIND_GROUP, req->kind, req->group[0] ? "." : "", req->group,
                 req->sub_resource[0] ? "/" : "", req->sub_resource);
        answer_refusal(out, req, msg);
        return -1;
    }
    if (!req->object) {
        answer_refusal(out, req, "request.object is required for CREATE and UPDATE");
        return -1;
    }
    if (req->op == ADMISSION_UPDATE && !req->old_object && !scale) {
        answer_refusal(out, req, "request.oldObject is required for UPDATE");
        return -1;
    }
    return 0;
}

/* The start both handlers share: clears *out, decodes body into *req and checks its target.
 * Returns 0 with *req to be freed by the caller (admission_request_free); or -1 after answering
 * (400 for a body that is not an AdmissionReview, a refusal in the review for a wrong target),
 * with nothing left to free. */
static int admit_begin(const char *body, size_t len, struct admission_request *req,
                       struct admit_answer *out)
{
    char err[256];

    memset(out, 0, sizeof(*out));
    if (admission_decode(body, len, req, err, sizeof(err)) != 0) {
        answer_text(out, ADMIT_BAD_REQUEST, 400, err);
        return -1;
    }
    if (check_target(out, req) != 0) {
        admission_request_free(req);
        return -1;
    }
    return 0;
}

void admit_mutate(const char *body, size_t len, struct admit_answer *out)
{
    struct admission_request req;

    if (admit_begin(body, len, &req, out) != 0)
        return;

    struct admission_verdict v = {.allowed = true};
    jsonpatch patch = {0};
    bool defaults = (req.op == ADMISSION_CREATE || req.op == ADMISSION_UPDATE) &&
                    strcmp(req.sub_resource, "scale") != 0;
    if (defaults) {
        if (jsonpatch_init(&patch) != 0 || vkc_default(req.object, &patch) < 0) {
            jsonpatch_free(&patch);
            answer_text(out, ADMIT_ERROR, 500, "out of memory");
            goto done;
        }
        if (jsonpatch_count(&patch) > 0) {
            v.patch = jsonpatch_text(&patch, &v.patch_len);
            if (!v.patch) {
                jsonpatch_free(&patch);
                answer_text(out, ADMIT_ERROR, 500, "the defaults patch is too large");
                goto done;
            }
        }
    }
    answer_review(out, req.uid, jsonpatch_count(&patch) > 0 ? ADMIT_PATCHED : ADMIT_ALLOWED, &v);
    jsonpatch_free(&patch);
done:
    admission_request_free(&req);
}

void admit_validate(const char *body, size_t len, struct admit_answer *out)
{
    struct admission_request req;
    ferr_list *errs = NULL;
    struct vkc_warnings warns = {0};
    const char *warn_ptrs[VKC_WARNINGS_MAX];

    if (admit_begin(body, len, &req, out) != 0)
        return;
    if (req.op == ADMISSION_DELETE || req.op == ADMISSION_CONNECT) {
        struct admission_verdict v = {.allowed = true};
        answer_review(out, req.uid, ADMIT_ALLOWED, &v);
        goto done;
    }

    errs = malloc(sizeof(*errs));
    if (!errs) {
        answer_text(out, ADMIT_ERROR, 500, "out of memory");
        goto done;
    }
    ferr_init(errs);
    if (strcmp(req.sub_resource, "scale") == 0) {
        vkc_validate_scale(req.object, errs);
    } else if (vkc_default(req.object, NULL) < 0 ||
               (req.old_object && vkc_default(req.old_object, NULL) < 0)) {
        answer_text(out, ADMIT_ERROR, 500, "out of memory");
        goto done;
    } else if (req.op == ADMISSION_UPDATE) {
        vkc_validate_update(req.old_object, req.object, errs, &warns);
    } else {
        vkc_validate_object(req.object, errs, &warns, NULL);
    }

    for (size_t i = 0; i < warns.count; i++)
        warn_ptrs[i] = warns.items[i];
    struct admission_verdict v = {.allowed = true, .warnings = warn_ptrs, .nwarnings = warns.count};
    if (errs->count + errs->dropped == 0) {
        answer_review(out, req.uid, ADMIT_ALLOWED, &v);
        goto done;
    }
    char message[FERR_MAX * FERR_TEXT_MAX + 512];
    const char *name = object_name(&req);
    ferr_render(errs, VKC_KIND_GROUP, name, message, sizeof(message));
    v.allowed = false;
    v.code = ferr_http_code(errs);
    v.reason = ferr_reason(errs);
    v.message = message;
    v.causes = ferr_causes(errs);
    v.kind = VKC_KIND;
    v.group = VKC_GROUP;
    v.name = name;
    answer_review(out, req.uid, ADMIT_DENIED, &v);
    json_decref(v.causes);
done:
    free(errs);
    admission_request_free(&req);
}
