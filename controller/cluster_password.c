/* cluster_password.c — see cluster_password.h. */
#include "cluster_password.h"
#include "desired.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int cluster_base64_decode(const char *text, char *buf, size_t size)
{
    size_t len = strlen(text);
    unsigned char out[CLUSTER_PASSWORD_MAX * 2];
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(out))
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
    if (n < 0)
        return -1;
    while (len > 0 && text[len - 1] == '=') { /* EVP_DecodeBlock counts the padding */
        n--;
        len--;
    }
    if (n < 0 || (size_t)n >= size || memchr(out, '\0', (size_t)n))
        return -1;
    memcpy(buf, out, (size_t)n);
    buf[n] = '\0';
    return n;
}

int cluster_password(struct informer *secrets, struct kube_api *api, const char *namespace_,
                     const char *secret_name, char *buf, size_t size)
{
    json_t *s = informer_get(secrets, namespace_, secret_name);
    buf[0] = '\0';
    if (!s && api) {
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", namespace_, secret_name);
        if (kube_api_get(api, path, &s) != 200) {
            json_decref(s);
            s = NULL;
        }
    }
    const char *b64 = json_string_value(json_object_get(json_object_get(s, "data"), DESIRED_PASSWORD_KEY));
    int rc = b64 && cluster_base64_decode(b64, buf, size) >= 0 ? 0 : -1;
    if (rc != 0)
        buf[0] = '\0';
    json_decref(s);
    return rc;
}
