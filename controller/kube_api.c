/* kube_api.c — see kube_api.h. */
#include "kube_api.h"

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

const char *kube_api_errstr(struct kube_api *api) { return api->errstr(api->ctx); }

long kube_api_get(struct kube_api *api, const char *path, json_t **out)
{
    return api->call(api->ctx, "GET", path, NULL, NULL, out);
}

long kube_api_apply(struct kube_api *api, const char *collection, const json_t *obj)
{
    char path[1024];
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    int n = snprintf(path, sizeof(path), "%s/%s?fieldManager=gungnir&force=true", collection, name ? name : "");
    if (n < 0 || (size_t)n >= sizeof(path))
        return 414; /* URI too long: never sent */
    api->writes++;
    return api->call(api->ctx, "PATCH", path, "application/apply-patch+yaml", obj, NULL);
}

long kube_api_create(struct kube_api *api, const char *collection, const json_t *obj)
{
    api->writes++;
    return api->call(api->ctx, "POST", collection, NULL, obj, NULL);
}

long kube_api_update(struct kube_api *api, const char *path, const json_t *obj)
{
    api->writes++;
    return api->call(api->ctx, "PUT", path, NULL, obj, NULL);
}

long kube_api_merge_patch(struct kube_api *api, const char *path, const json_t *patch)
{
    api->writes++;
    return api->call(api->ctx, "PATCH", path, "application/merge-patch+json", patch, NULL);
}

long kube_api_delete(struct kube_api *api, const char *path, const char *uid)
{
    json_t *opts = uid ? json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions", "preconditions",
                                   "uid", uid)
                       : NULL;
    if (uid && !opts)
        return -1;
    api->writes++;
    long code = api->call(api->ctx, "DELETE", path, NULL, opts, NULL);
    json_decref(opts);
    return code;
}
