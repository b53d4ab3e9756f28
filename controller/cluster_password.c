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

bool cluster_password_usable(const char *password)
{
    if (!password[0])
        return false;
    for (const unsigned char *p = (const unsigned char *)password; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return false;
    return true;
}

int cluster_password(struct informer *secrets, struct kube_api *api, const char *namespace_,
                     const char *secret_name, char *buf, size_t size, char *why, size_t whylen)
{
    char path[512], scratch[8];
    long code = 0;
    json_t *s = informer_get(secrets, namespace_, secret_name);
    if (!why) {
        why = scratch;
        whylen = sizeof(scratch);
    }
    buf[0] = '\0';
    snprintf(why, whylen, "Secret %s/%s not found", namespace_, secret_name);
    if (!s && api) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", namespace_, secret_name);
        code = kube_api_get(api, path, &s);
        if (code != 200) {
            if (code != 404)
                snprintf(why, whylen, "cannot read Secret %s/%s: %s", namespace_, secret_name, kube_api_errstr(api));
            json_decref(s);
            return -1;
        }
    }
    if (!s)
        return -1;
    const char *b64 = json_string_value(json_object_get(json_object_get(s, "data"), DESIRED_PASSWORD_KEY));
    int rc = -1;
    if (!b64)
        snprintf(why, whylen, "Secret %s/%s has no key \"%s\"", namespace_, secret_name, DESIRED_PASSWORD_KEY);
    else if (cluster_base64_decode(b64, buf, size) < 0)
        snprintf(why, whylen, "the \"%s\" of Secret %s/%s is not base64 of at most %zu bytes without NUL",
                 DESIRED_PASSWORD_KEY, namespace_, secret_name, size - 1);
    else if (!cluster_password_usable(buf))
        snprintf(why, whylen, "the \"%s\" of Secret %s/%s is empty or holds '\"', '\\' or a control character",
                 DESIRED_PASSWORD_KEY, namespace_, secret_name);
    else
        rc = 0;
    if (rc != 0)
        buf[0] = '\0';
    else
        why[0] = '\0';
    json_decref(s);
    return rc;
}
