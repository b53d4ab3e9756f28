/* incluster_config.c — the config of a pod's service account (see incluster_config.h). */
#include "incluster_config.h"
#include "errbuf.h"

#include "file_read.h"
#include "kube_cred_files.h"
#include "kube_endpoint.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IC_MSG_MAX 1024
#define IC_WHAT "in-cluster config"


/* The server URL from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, into url. Returns
 * 0 or -1 with err set. */
static int service_url(char *url, size_t urllen, char *err, size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !host[0] || !port || !port[0]) {
        errbuf_set(err, errlen,
                "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                "must be set");
        return -1;
    }
    unsigned long pv;
    if (!kube_endpoint_port(port, strlen(port), &pv)) {
        errbuf_set(err, errlen, "KUBERNETES_SERVICE_PORT \"%.20s\" is not a port number", port);
        return -1;
    }
    if (strlen(host) > 253 || strpbrk(host, "/@?#[] \t\r\n")) {
        errbuf_set(err, errlen, "KUBERNETES_SERVICE_HOST \"%.100s\" is not a host name or address",
                host);
        return -1;
    }
    bool v6 = strchr(host, ':') != NULL;
    snprintf(url, urllen, "https://%s%s%s:%lu", v6 ? "[" : "", host, v6 ? "]" : "", pv);
    return 0;
}

/* Reads dir/ca.crt into out->ca_pem. Returns 0 or -1 with msg set. */
static int load_ca(const char *dir, struct kube_config *out, char *msg, size_t msglen)
{
    char path[KUBE_CRED_PATH_MAX], why[IC_MSG_MAX / 2];
    if (kube_cred_resolve_path(dir, "ca.crt", path, sizeof(path), why, sizeof(why)) < 0) {
        errbuf_set(msg, msglen, IC_WHAT ": %s", why);
        return -1;
    }
    out->ca_pem = file_read(path, KUBECONFIG_MAX_FILE, &out->ca_pem_len, why, sizeof(why));
    if (!out->ca_pem) {
        errbuf_set(msg, msglen, IC_WHAT ": cannot read the CA %s", why);
        return -1;
    }
    if (!kube_cred_has_pem(out->ca_pem, out->ca_pem_len)) {
        errbuf_set(msg, msglen, IC_WHAT ": %s holds no PEM data", path);
        return -1;
    }
    return 0;
}

/* Reads dir/namespace, trailing line breaks and spaces cut, into *ns_file (the caller
 * frees it); *ns_file stays NULL when the file does not exist. Returns 0 or -1 (msg). */
static int read_namespace_file(const char *dir, char **ns_file, char *msg, size_t msglen)
{
    char path[KUBE_CRED_PATH_MAX], why[IC_MSG_MAX / 2];
    size_t len;
    *ns_file = NULL;
    if (kube_cred_resolve_path(dir, "namespace", path, sizeof(path), why, sizeof(why)) < 0) {
        errbuf_set(msg, msglen, IC_WHAT ": %s", why);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        errbuf_set(msg, msglen, IC_WHAT ": cannot read the namespace %s: %s", path,
                strerror(errno));
        return -1;
    }
    *ns_file = file_read(path, 4096, &len, why, sizeof(why));
    if (!*ns_file) {
        errbuf_set(msg, msglen, IC_WHAT ": cannot read the namespace %s", why);
        return -1;
    }
    size_t n = strlen(*ns_file);
    while (n > 0 && ((*ns_file)[n - 1] == '\n' || (*ns_file)[n - 1] == '\r' ||
                     (*ns_file)[n - 1] == ' '))
        (*ns_file)[--n] = '\0';
    return 0;
}

/* Sets out->namespace from $POD_NAMESPACE, else dir/namespace, else "default", and checks
 * it. Returns 0 or -1 (msg). */
static int set_namespace(const char *dir, struct kube_config *out, char *msg, size_t msglen)
{
    const char *ns = getenv("POD_NAMESPACE");
    char *ns_file = NULL;
    if (!ns || !ns[0]) {
        if (read_namespace_file(dir, &ns_file, msg, msglen) < 0)
            return -1;
        ns = (ns_file && ns_file[0]) ? ns_file : "default";
    }
    int rc = 0;
    if (!kube_endpoint_is_dns_label(ns)) {
        errbuf_set(msg, msglen, IC_WHAT ": namespace \"%.100s\" is not a valid namespace name", ns);
        rc = -1;
    } else {
        size_t n = strlen(ns);
        out->namespace = malloc(n + 1);
        if (out->namespace) {
            memcpy(out->namespace, ns, n + 1);
        } else {
            errbuf_set(msg, msglen, "out of memory");
            rc = -1;
        }
    }
    free(ns_file);
    return rc;
}

int kubeconfig_in_cluster_dir(const char *dir, struct kube_config *out, char *err,
                              size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char url[300];
    if (service_url(url, sizeof(url), err, errlen) < 0)
        return -1;
    char msg[IC_MSG_MAX] = "";
    if (kube_endpoint_server(url, IC_WHAT, out, msg, sizeof(msg)) < 0 ||
        kube_cred_load_token_file("token", dir, IC_WHAT, out, msg, sizeof(msg)) < 0 ||
        load_ca(dir, out, msg, sizeof(msg)) < 0 || set_namespace(dir, out, msg, sizeof(msg)) < 0) {
        kube_config_free(out);
        errbuf_set(err, errlen, "%s", msg);
        return -1;
    }
    return 0;
}

int kubeconfig_in_cluster(struct kube_config *out, char *err, size_t errlen)
{
    return kubeconfig_in_cluster_dir(KUBECONFIG_SA_DIR, out, err, errlen);
}
