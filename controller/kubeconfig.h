/* kubeconfig.h — where the API server is and how to authenticate to it: from a kubeconfig
 * file (YAML or JSON, as kubectl, kind, minikube and the cloud CLIs write it) or from the pod's
 * service account. The result holds everything the kube client needs, with the bytes of every
 * referenced file already read, except the token file, whose path is kept because projected
 * service account tokens rotate and the client must re-read it.
 *
 * From a kubeconfig, for the selected context:
 *   cluster: server (https://..., http:// only for localhost/127.0.0.1/[::1]),
 *            certificate-authority-data (base64 PEM) or certificate-authority (file),
 *            insecure-skip-tls-verify, tls-server-name, proxy-url
 *   user:    client-certificate-data / client-certificate and client-key-data / client-key,
 *            token or tokenFile (token wins when both are set, as in kubectl)
 *   context: namespace (default "default")
 * Relative file paths are resolved against the kubeconfig's directory. Refused with a message
 * naming the entry: exec (naming its command) and auth-provider (naming it) plugins and
 * username/password of the selected user (other users are not looked at, so a file where
 * cloud CLIs left exec users for other clusters loads), a CA together with
 * insecure-skip-tls-verify, both *-data and the file for one item, a certificate without its
 * key (or the reverse), *-data that is not padded base64 (line breaks and spaces in it are
 * skipped) of PEM, a tls-server-name that is not a host name, a proxy-url that is not
 * http://, https:// or socks5://. Files are read only if they are regular files of at most
 * KUBECONFIG_MAX_FILE bytes (file_read.h). Unknown fields (preferences, extensions, ...) are
 * ignored. The YAML is read by yaml_json.h (libyaml): block and flow style, every quoting
 * style, multi-line values, anchors, aliases and merge keys, with its bounds on nesting and
 * alias expansion. The in-cluster config (the service account's) is incluster_config.h. */
#ifndef GUNGNIR_KUBECONFIG_H
#define GUNGNIR_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define KUBECONFIG_MAX_FILE (1024 * 1024) /* bytes, for the kubeconfig and each file it names */

/* Every pointer is owned by the struct (kube_config_free releases them); NULL when absent.
 * The PEM buffers are also NUL-terminated. */
struct kube_config {
    char *server;            /* "https://host:port" (or with a path prefix), no trailing '/' */
    char *tls_server_name;   /* SNI and the name checked in the server certificate, or NULL */
    char *proxy_url;         /* the cluster's proxy-url, or NULL */
    bool insecure_skip_tls_verify;
    char *ca_pem;            /* CA bundle to verify the server with, or NULL (system CAs) */
    size_t ca_pem_len;
    char *client_cert_pem;   /* client certificate (set together with client_key_pem) */
    size_t client_cert_pem_len;
    char *client_key_pem;
    size_t client_key_pem_len;
    char *token;             /* bearer token: `token`, or token_file's content at load time */
    char *token_file;        /* absolute or as-resolved path to re-read the token from, or NULL */
    char *namespace;         /* never NULL after a successful load; "default" if unset */
    char *context;           /* the context used, or NULL for the in-cluster config */
};

/* Reads the kubeconfig at path and fills *out for context (NULL: its current-context).
 * Returns 0, or -1 with *out zeroed and err naming the problem ("PATH:LINE: ..." for YAML
 * errors, "PATH: ..." otherwise). On success free *out with kube_config_free. */
int kubeconfig_load(const char *path, const char *context, struct kube_config *out, char *err,
                    size_t errlen);

/* As kubeconfig_load, for len bytes of kubeconfig text already in memory. Relative paths
 * in it are resolved against base_dir (NULL: relative paths are refused); files are read only
 * when the text names them. Errors carry no file name ("line N: ..." for YAML errors). */
int kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
                     struct kube_config *out, char *err, size_t errlen);

/* The controller's search order: flag_path (the --kubeconfig flag) when non-empty; else the
 * first non-empty entry of $KUBECONFIG (a ':' list; the files are not merged); else the
 * in-cluster config (incluster_config.h) when KUBERNETES_SERVICE_HOST is set; else
 * $HOME/.kube/config. If the in-cluster config fails and $HOME/.kube/config exists, that
 * file is used. The current context is used. Returns 0 or -1 (*out zeroed, err set). */
int kubeconfig_resolve(const char *flag_path, struct kube_config *out, char *err,
                       size_t errlen);

/* Frees what *c owns and zeroes it. c may be NULL; safe on a zeroed struct. */
void kube_config_free(struct kube_config *c);

#endif
