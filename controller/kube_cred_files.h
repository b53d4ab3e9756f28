/* kube_cred_files.h — the credential material a kubeconfig or the in-cluster config names: a
 * path resolved against the config's directory, a PEM item from its base64 value or its file,
 * and the bearer token read from its file, trimmed and checked. Shared by kubeconfig.c and incluster_config.c. Every message
 * starts with `what` (the entry it came from) and is written, bounded, to msg. */
#ifndef GUNGNIR_KUBE_CRED_FILES_H
#define GUNGNIR_KUBE_CRED_FILES_H

#include "kubeconfig.h"

#include <stdbool.h>
#include <stddef.h>

#define KUBE_CRED_PATH_MAX 4096 /* bytes of a resolved path, with its NUL */

/* Joins base_dir and a relative path p into out (an absolute p is copied as is). Returns 0,
 * or -1 with a reason in err (no base_dir for a relative p, or the result does not fit). */
int kube_cred_resolve_path(const char *base_dir, const char *p, char *out, size_t outlen,
                           char *err, size_t errlen);

/* Whether the n bytes at s hold a "-----BEGIN " line opener, i.e. look like PEM. */
bool kube_cred_has_pem(const char *s, size_t n);

/* One PEM item of a kubeconfig entry: the value of its *-data key (base64) and of its file
 * key (a path), each NULL when unset; the key names are for the messages. All borrowed. */
struct kube_cred_item {
    const char *data_key;
    const char *data;
    const char *file_key;
    const char *file;
};

/* Loads item into *out (len *outlen, NUL-terminated, owned by the caller): decoded from
 * item->data, or read from item->file resolved against base_dir (at most
 * KUBECONFIG_MAX_FILE bytes); either must hold PEM. Both set is refused. *out stays NULL when
 * neither is set. Returns 0, or -1 with msg set (*out may then be set; the caller frees it). */
int kube_cred_load_pem(const struct kube_cred_item *item, const char *what,
                       const char *base_dir, char **out, size_t *outlen, char *msg,
                       size_t msglen);

/* Trims white space around the NUL-terminated token tok in place and refuses an empty token
 * or one with a control or non-ASCII character. Returns 0 or -1 with msg set. */
int kube_cred_clean_token(char *tok, const char *what, char *msg, size_t msglen);

/* Reads the token file `file` (resolved against base_dir, at most KUBECONFIG_MAX_FILE bytes)
 * into out->token, cleaned as kube_cred_clean_token does, and keeps the resolved path in
 * out->token_file (both owned by *out). Returns 0 or -1 with msg set; on -1 out->token may be
 * set and is released by kube_config_free. */
int kube_cred_load_token_file(const char *file, const char *base_dir, const char *what,
                              struct kube_config *out, char *msg, size_t msglen);

#endif
