/* kube_api.c — see kube_api.h. */
#include "kube_api.h"
#include "fault_point.h"

#include <stdio.h>
#include <string.h>

static long client_call(void *ctx, const char *method, const char *path, const char *content_type,
                        const json_t *body, json_t **out)
{
    if (body)
        return kube_send_json(ctx, method, path, content_type, body, out);
    return kube_request(ctx, method, path, content_type, NULL, 0, out);
}

static const char *client_errstr(void *ctx) { return kube_client_errstr(ctx); }

void kube_api_for_client(struct kube_api *api, struct kube_client *client)
{
    *api = (struct kube_api){.call = client_call, .errstr = client_errstr, .ctx = client};
}

const char *kube_api_errstr(struct kube_api *api)
{
    return api->fault[0] ? api->fault : api->errstr(api->ctx);
}

/* Counts a write and passes its fault point (test builds). Returns 0 to send it, or -1: the
 * injected failure, said by kube_api_errstr. */
static int begin_write(struct kube_api *api, const char *verb, const char *path)
{
    api->writes++;
    api->fault[0] = '\0';
#ifdef GUNGNIR_FAULT_POINTS
    char name[FAULT_POINT_NAME_MAX];
    if (fault_point_hit(fault_point_api_name(name, sizeof(name), verb, path)) != 0) {
        snprintf(api->fault, sizeof(api->fault), "fault injected at %s", name);
        return -1;
    }
#else
    (void)verb;
    (void)path;
#endif
    return 0;
}

long kube_api_get(struct kube_api *api, const char *path, json_t **out)
{
    api->fault[0] = '\0';
    return api->call(api->ctx, "GET", path, NULL, NULL, out);
}

long kube_api_apply(struct kube_api *api, const char *collection, const json_t *obj)
{
    char path[1024];
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    int n = snprintf(path, sizeof(path), "%s/%s?fieldManager=gungnir&force=true", collection, name ? name : "");
    if (n < 0 || (size_t)n >= sizeof(path))
        return 414; /* URI too long: never sent */
    if (begin_write(api, "apply", path) != 0)
        return -1;
    return api->call(api->ctx, "PATCH", path, "application/apply-patch+yaml", obj, NULL);
}

long kube_api_create(struct kube_api *api, const char *collection, const json_t *obj)
{
    if (begin_write(api, "create", collection) != 0)
        return -1;
    return api->call(api->ctx, "POST", collection, NULL, obj, NULL);
}

long kube_api_update(struct kube_api *api, const char *path, const json_t *obj)
{
    if (begin_write(api, "update", path) != 0)
        return -1;
    return api->call(api->ctx, "PUT", path, NULL, obj, NULL);
}

long kube_api_merge_patch(struct kube_api *api, const char *path, const json_t *patch)
{
    if (begin_write(api, "patch", path) != 0)
        return -1;
    return api->call(api->ctx, "PATCH", path, "application/merge-patch+json", patch, NULL);
}

long kube_api_delete(struct kube_api *api, const char *path, const char *uid)
{
    json_t *opts = uid ? json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions", "preconditions",
                                   "uid", uid)
                       : NULL;
    if (uid && !opts)
        return -1;
    long code = begin_write(api, "delete", path) != 0 ? -1 : api->call(api->ctx, "DELETE", path, NULL, opts, NULL);
    json_decref(opts);
    return code;
}
