/* admission.c — AdmissionReview v1 codec (see admission.h). */
#include "admission.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t admission_json_depth(const char *text, size_t len, size_t limit)
{
    size_t depth = 0, max = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                max = depth;
                if (max > limit)
                    return max;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

static const char *string_or(const json_t *obj, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : fallback;
}

void admission_request_free(struct admission_request *req)
{
    json_decref(req->root);
    req->root = NULL;
}

/* Frees what decode built so far and writes the reason. Returns -1. */
static int refuse(struct admission_request *req, char *err, size_t errlen, const char *msg)
{
    admission_request_free(req);
    snprintf(err, errlen, "%s", msg);
    return -1;
}

int admission_decode(const char *body, size_t len, struct admission_request *req, char *err,
                     size_t errlen)
{
    static const char *const ops[] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
    json_error_t jerr;

    memset(req, 0, sizeof(*req));
    if (len == 0)
        return refuse(req, err, errlen, "empty body: expected an AdmissionReview");
    if (admission_json_depth(body, len, ADMISSION_DEPTH_MAX) > ADMISSION_DEPTH_MAX)
        return refuse(req, err, errlen, "JSON nested too deeply (more than 64 levels)");
    req->root = json_loadb(body, len, 0, &jerr);
    if (!req->root) {
        snprintf(err, errlen, "body is not valid JSON: %s at line %d column %d", jerr.text,
                 jerr.line, jerr.column);
        return -1;
    }
    const json_t *root = req->root;
    if (!json_is_object(root))
        return refuse(req, err, errlen, "body is not an AdmissionReview: expected a JSON object");
    const char *api = json_string_value(json_object_get(root, "apiVersion"));
    const char *kind = json_string_value(json_object_get(root, "kind"));
    if (!kind || strcmp(kind, "AdmissionReview") != 0)
        return refuse(req, err, errlen, "body is not an AdmissionReview: kind must be \"AdmissionReview\"");
    if (!api || strcmp(api, "admission.k8s.io/v1") != 0)
        return refuse(req, err, errlen,
                      "unsupported AdmissionReview apiVersion: only admission.k8s.io/v1 is served "
                      "(set admissionReviewVersions: [\"v1\"] in the webhook configuration)");
    const json_t *r = json_object_get(root, "request");
    if (!json_is_object(r))
        return refuse(req, err, errlen, "AdmissionReview has no request object");

    const json_t *uid = json_object_get(r, "uid");
    if (!json_is_string(uid) || json_string_length(uid) == 0)
        return refuse(req, err, errlen, "request.uid is required");
    if (json_string_length(uid) >= ADMISSION_UID_MAX || strlen(json_string_value(uid)) != json_string_length(uid))
        return refuse(req, err, errlen, "request.uid is too long or holds a NUL byte");
    memcpy(req->uid, json_string_value(uid), json_string_length(uid) + 1);

    const char *op = json_string_value(json_object_get(r, "operation"));
    size_t i;
    for (i = 0; op && i < 4 && strcmp(op, ops[i]) != 0; i++)
        ;
    if (!op || i == 4)
        return refuse(req, err, errlen, "request.operation must be CREATE, UPDATE, DELETE or CONNECT");
    req->op = (enum admission_op)i;

    const json_t *k = json_object_get(r, "kind");
    if (!json_is_object(k) || !json_is_string(json_object_get(k, "kind")))
        return refuse(req, err, errlen, "request.kind (group, version, kind) is required");
    req->group = string_or(k, "group", "");
    req->kind = string_or(k, "kind", "");
    req->sub_resource = string_or(r, "subResource", "");
    req->name = string_or(r, "name", "");
    req->namespace_ = string_or(r, "namespace", "");
    req->dry_run = json_is_true(json_object_get(r, "dryRun"));

    json_t *obj = json_object_get(r, "object");
    json_t *old = json_object_get(r, "oldObject");
    if (obj && !json_is_null(obj) && !json_is_object(obj))
        return refuse(req, err, errlen, "request.object must be a JSON object");
    if (old && !json_is_null(old) && !json_is_object(old))
        return refuse(req, err, errlen, "request.oldObject must be a JSON object");
    req->object = json_is_object(obj) ? obj : NULL;
    req->old_object = json_is_object(old) ? old : NULL;
    return 0;
}

/* Writes the Status object of a refusal. The message and causes come from user input and
 * are escaped by strbuf_json_string / strbuf_json_value. */
static void write_status(struct strbuf *b, const struct admission_verdict *v)
{
    const char *msg = v->message ? v->message : "";
    const char *reason = v->reason ? v->reason : "Invalid";

    strbuf_puts(b, "{\"metadata\":{},\"status\":\"Failure\",\"message\":");
    strbuf_json_string(b, msg, strlen(msg));
    strbuf_puts(b, ",\"reason\":");
    strbuf_json_string(b, reason, strlen(reason));
    strbuf_printf(b, ",\"code\":%d", v->code ? v->code : 400);
    if (v->causes || v->kind || v->name) {
        const char *sep = "";
        strbuf_puts(b, ",\"details\":{");
        if (v->name) {
            strbuf_puts(b, "\"name\":");
            strbuf_json_string(b, v->name, strlen(v->name));
            sep = ",";
        }
        if (v->group) {
            strbuf_printf(b, "%s\"group\":", sep);
            strbuf_json_string(b, v->group, strlen(v->group));
            sep = ",";
        }
        if (v->kind) {
            strbuf_printf(b, "%s\"kind\":", sep);
            strbuf_json_string(b, v->kind, strlen(v->kind));
            sep = ",";
        }
        if (v->causes) {
            strbuf_printf(b, "%s\"causes\":", sep);
            strbuf_json_value(b, v->causes);
        }
        strbuf_puts(b, "}");
    }
    strbuf_puts(b, "}");
}

char *admission_encode(const char *uid, const struct admission_verdict *v, size_t *len)
{
    struct strbuf b;
    const char *u = uid ? uid : "";

    strbuf_init(&b, ADMISSION_BODY_MAX);
    strbuf_puts(&b, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                    "\"response\":{\"uid\":");
    strbuf_json_string(&b, u, strlen(u));
    strbuf_puts(&b, v->allowed ? ",\"allowed\":true" : ",\"allowed\":false");
    if (!v->allowed) {
        strbuf_puts(&b, ",\"status\":");
        write_status(&b, v);
    }
    if (v->patch && v->patch_len > 0) {
        strbuf_puts(&b, ",\"patchType\":\"JSONPatch\",\"patch\":\"");
        strbuf_base64(&b, v->patch, v->patch_len);
        strbuf_puts(&b, "\"");
    }
    if (v->nwarnings > 0) {
        strbuf_puts(&b, ",\"warnings\":[");
        for (size_t i = 0; i < v->nwarnings; i++) {
            if (i > 0)
                strbuf_puts(&b, ",");
            strbuf_json_string(&b, v->warnings[i], strlen(v->warnings[i]));
        }
        strbuf_puts(&b, "]");
    }
    strbuf_puts(&b, "}}");
    return strbuf_take(&b, len);
}
