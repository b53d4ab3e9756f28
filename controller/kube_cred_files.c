/* kube_cred_files.c — resolved paths, PEM recognition and token files (see
 * kube_cred_files.h). */
#include "kube_cred_files.h"
#include "errbuf.h"

#include "base64.h"
#include "file_read.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int kube_cred_resolve_path(const char *base_dir, const char *p, char *out, size_t outlen,
                           char *err, size_t errlen)
{
    int n;
    if (p[0] == '/') {
        n = snprintf(out, outlen, "%s", p);
    } else {
        if (!base_dir || !base_dir[0]) {
            errbuf_set(err, errlen, "relative path \"%s\" with no directory to resolve it in", p);
            return -1;
        }
        size_t bl = strlen(base_dir);
        bool slash = base_dir[bl - 1] == '/';
        n = snprintf(out, outlen, "%s%s%s", base_dir, slash ? "" : "/", p);
    }
    if (n < 0 || (size_t)n >= outlen) {
        errbuf_set(err, errlen, "path \"%.200s...\" is too long", p);
        return -1;
    }
    return 0;
}

bool kube_cred_has_pem(const char *s, size_t n)
{
    static const char begin[] = "-----BEGIN ";
    size_t bl = sizeof(begin) - 1;
    for (size_t i = 0; i + bl <= n; i++)
        if (s[i] == '-' && memcmp(s + i, begin, bl) == 0)
            return true;
    return false;
}

/* Decodes item->data into *out. Returns 0 or -1 (msg). */
static int pem_from_data(const struct kube_cred_item *item, const char *what, char **out,
                         size_t *outlen, char *msg, size_t msglen)
{
    char why[128];
    *out = (char *)base64_decode(item->data, strlen(item->data), outlen, NULL, why,
                                 sizeof(why));
    if (!*out) {
        errbuf_set(msg, msglen, "%s: %s is not valid base64: %s", what, item->data_key, why);
        return -1;
    }
    if (!kube_cred_has_pem(*out, *outlen)) {
        errbuf_set(msg, msglen, "%s: %s does not hold PEM data (no \"-----BEGIN\" line)", what,
                item->data_key);
        return -1;
    }
    return 0;
}

/* Reads item->file (resolved against base_dir) into *out. Returns 0 or -1 (msg). */
static int pem_from_file(const struct kube_cred_item *item, const char *what,
                         const char *base_dir, char **out, size_t *outlen, char *msg,
                         size_t msglen)
{
    char path[KUBE_CRED_PATH_MAX], why[512];
    if (kube_cred_resolve_path(base_dir, item->file, path, sizeof(path), why, sizeof(why)) < 0) {
        errbuf_set(msg, msglen, "%s: %s: %s", what, item->file_key, why);
        return -1;
    }
    *out = file_read(path, KUBECONFIG_MAX_FILE, outlen, why, sizeof(why));
    if (!*out) {
        errbuf_set(msg, msglen, "%s: %s: cannot read %s", what, item->file_key, why);
        return -1;
    }
    if (!kube_cred_has_pem(*out, *outlen)) {
        errbuf_set(msg, msglen, "%s: %s: %s holds no PEM data (no \"-----BEGIN\" line)", what,
                item->file_key, path);
        return -1;
    }
    return 0;
}

int kube_cred_load_pem(const struct kube_cred_item *item, const char *what,
                       const char *base_dir, char **out, size_t *outlen, char *msg,
                       size_t msglen)
{
    if (item->data && item->file) {
        errbuf_set(msg, msglen, "%s: both %s and %s are set; keep one", what, item->data_key,
                item->file_key);
        return -1;
    }
    if (item->data)
        return pem_from_data(item, what, out, outlen, msg, msglen);
    if (item->file)
        return pem_from_file(item, what, base_dir, out, outlen, msg, msglen);
    return 0;
}

int kube_cred_clean_token(char *tok, const char *what, char *msg, size_t msglen)
{
    size_t n = strlen(tok);
    while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '\n' ||
                     tok[n - 1] == '\r'))
        tok[--n] = '\0';
    size_t lead = strspn(tok, " \t\r\n");
    memmove(tok, tok + lead, n - lead + 1);
    n -= lead;
    if (n == 0) {
        errbuf_set(msg, msglen, "%s: the token is empty", what);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tok[i];
        if (c < 0x20 || c > 0x7E) {
            errbuf_set(msg, msglen,
                    "%s: the token holds a control or non-ASCII character (at byte %zu)", what,
                    i);
            return -1;
        }
    }
    return 0;
}

int kube_cred_load_token_file(const char *file, const char *base_dir, const char *what,
                              struct kube_config *out, char *msg, size_t msglen)
{
    char path[KUBE_CRED_PATH_MAX], why[512];
    size_t len;
    if (kube_cred_resolve_path(base_dir, file, path, sizeof(path), why, sizeof(why)) < 0) {
        errbuf_set(msg, msglen, "%s: tokenFile: %s", what, why);
        return -1;
    }
    out->token = file_read(path, KUBECONFIG_MAX_FILE, &len, why, sizeof(why));
    if (!out->token) {
        errbuf_set(msg, msglen, "%s: cannot read the token file %s", what, why);
        return -1;
    }
    if (strlen(out->token) != len) {
        errbuf_set(msg, msglen, "%s: the token file %s holds a NUL byte", what, path);
        return -1;
    }
    char tw[512];
    errbuf_set(tw, sizeof(tw), "%s: token file %s", what, path);
    if (kube_cred_clean_token(out->token, tw, msg, msglen) < 0)
        return -1;
    size_t pl = strlen(path);
    out->token_file = malloc(pl + 1);
    if (!out->token_file) {
        errbuf_set(msg, msglen, "out of memory");
        return -1;
    }
    memcpy(out->token_file, path, pl + 1);
    return 0;
}
