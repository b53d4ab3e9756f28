/* cluster_password.c — see cluster_password.h. */
#include "cluster_password.h"
#include "desired.h"

#include "base64.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes the base64 text into buf (NUL-terminated). Returns 0, or -1 when it is not base64,
 * holds a NUL or does not fit in size - 1 bytes. */
static int decode_password(const char *text, char *buf, size_t size)
{
    size_t n;
    unsigned char *d = base64_decode(text, strlen(text), &n, NULL, NULL, 0);
    int rc = -1;
    if (d && n < size && !memchr(d, '\0', n)) {
        memcpy(buf, d, n + 1);
        rc = 0;
    }
    if (d)
        OPENSSL_cleanse(d, n);
    free(d);
    return rc;
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
    else if (decode_password(b64, buf, size) < 0)
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
