/* kubeconfig.c — kubeconfig files and the search order (see kubeconfig.h); the in-cluster
 * config is incluster_config.c, the endpoint checks kube_endpoint.c, the files
 * kube_cred_files.c. */
#include "kubeconfig.h"
#include "errbuf.h"

#include "file_read.h"
#include "incluster_config.h"
#include "kube_cred_files.h"
#include "kube_endpoint.h"
#include "utf8.h"
#include "yaml_json.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KC_MSG_MAX 1024


void kube_config_free(struct kube_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->tls_server_name);
    free(c->proxy_url);
    free(c->ca_pem);
    free(c->client_cert_pem);
    if (c->client_key_pem) /* key material: do not leave it in freed memory */
        OPENSSL_cleanse(c->client_key_pem, c->client_key_pem_len);
    free(c->client_key_pem);
    free(c->token);
    free(c->token_file);
    free(c->namespace);
    free(c->context);
    memset(c, 0, sizeof(*c));
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* ---- values ---- */

/* Looks up key in obj: *val is the string, or NULL when absent, null or "". Returns 0, or -1
 * when the value is not a string. */
static int get_str(const json_t *obj, const char *key, const char *what, const char **val,
                   char *msg)
{
    json_t *v = json_object_get(obj, key);
    *val = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        errbuf_set(msg, KC_MSG_MAX, "%s: %s must be a string", what, key);
        return -1;
    }
    if (json_string_length(v) != strlen(json_string_value(v))) {
        errbuf_set(msg, KC_MSG_MAX, "%s: %s contains a NUL character", what, key);
        return -1;
    }
    if (json_string_value(v)[0])
        *val = json_string_value(v);
    return 0;
}

/* Loads a PEM item of obj from data_key (base64) or file_key (a path), as
 * kube_cred_load_pem. *out stays NULL when neither is set. Returns 0 or -1 with msg set. */
static int load_pem(const json_t *obj, const char *data_key, const char *file_key,
                    const char *what, const char *base_dir, char **out, size_t *outlen,
                    char *msg)
{
    const char *data, *file;
    if (get_str(obj, data_key, what, &data, msg) < 0 ||
        get_str(obj, file_key, what, &file, msg) < 0)
        return -1;
    struct kube_cred_item item = {data_key, data, file_key, file};
    return kube_cred_load_pem(&item, what, base_dir, out, outlen, msg, KC_MSG_MAX);
}

/* Finds the entry named name in the list root[list] (items {name: ..., item: {...}}). Returns
 * 1 and sets *found (borrowed; NULL for a null item, which jansson reads as empty), 0 when
 * absent, -1 on a malformed list (msg set). */
static int find_named(const json_t *root, const char *list, const char *item, const char *name,
                      json_t **found, char *msg)
{
    json_t *arr = json_object_get(root, list);
    *found = NULL;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr)) {
        errbuf_set(msg, KC_MSG_MAX, "%s must be a list", list);
        return -1;
    }
    size_t i;
    json_t *e;
    bool matched = false;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_object(e)) {
            errbuf_set(msg, KC_MSG_MAX, "%s[%zu] must be a mapping", list, i);
            return -1;
        }
        json_t *n = json_object_get(e, "name");
        if (!json_is_string(n)) {
            errbuf_set(msg, KC_MSG_MAX, "%s[%zu]: name must be a string", list, i);
            return -1;
        }
        if (strcmp(json_string_value(n), name) != 0)
            continue;
        if (matched) {
            errbuf_set(msg, KC_MSG_MAX, "%s: two entries are named \"%.200s\"", list, name);
            return -1;
        }
        json_t *v = json_object_get(e, item);
        if (v && !json_is_null(v) && !json_is_object(v)) {
            errbuf_set(msg, KC_MSG_MAX, "%s[%zu] (\"%.200s\"): %s must be a mapping", list, i,
                     name, item);
            return -1;
        }
        *found = (v && json_is_object(v)) ? v : NULL; /* NULL: a null entry, read as empty */
        matched = true;
    }
    return matched ? 1 : 0;
}

/* Fills out from the cluster entry. Returns 0 or -1 (msg). */
static int load_cluster(const json_t *cl, const char *what, const char *base_dir,
                        struct kube_config *out, char *msg)
{
    const char *server, *sni, *proxy;
    if (get_str(cl, "server", what, &server, msg) < 0 || kube_endpoint_server(server, what, out, msg, KC_MSG_MAX) < 0)
        return -1;
    if (get_str(cl, "tls-server-name", what, &sni, msg) < 0 ||
        get_str(cl, "proxy-url", what, &proxy, msg) < 0 ||
        kube_endpoint_server_name(sni, what, msg, KC_MSG_MAX) < 0 ||
        kube_endpoint_proxy_url(proxy, what, msg, KC_MSG_MAX) < 0)
        return -1;
    if ((sni && !(out->tls_server_name = dup_str(sni))) ||
        (proxy && !(out->proxy_url = dup_str(proxy)))) {
        errbuf_set(msg, KC_MSG_MAX, "out of memory");
        return -1;
    }
    json_t *ins = json_object_get(cl, "insecure-skip-tls-verify");
    if (ins && !json_is_null(ins)) {
        if (!json_is_boolean(ins)) {
            errbuf_set(msg, KC_MSG_MAX, "%s: insecure-skip-tls-verify must be true or false", what);
            return -1;
        }
        out->insecure_skip_tls_verify = json_is_true(ins);
    }
    if (load_pem(cl, "certificate-authority-data", "certificate-authority", what, base_dir,
                 &out->ca_pem, &out->ca_pem_len, msg) < 0)
        return -1;
    if (out->ca_pem && out->insecure_skip_tls_verify) {
        errbuf_set(msg, KC_MSG_MAX,
                 "%s: a certificate authority cannot be set together with "
                 "insecure-skip-tls-verify",
                 what);
        return -1;
    }
    return 0;
}

/* Quotes name for a message ("kind-kind"), bounded and not cutting UTF-8. */
static void quote_name(char *buf, size_t n, const char *kind, const char *name)
{
    size_t l = utf8_cut(name, strnlen(name, 200));
    snprintf(buf, n, "%s \"%.*s\"", kind, (int)l, name);
}

/* Fills out from the user entry. Returns 0 or -1 (msg). */
static int load_user(const json_t *u, const char *what, const char *base_dir,
                     struct kube_config *out, char *msg)
{
    /* Named in the message so that a user sees which plugin their CLI wrote. */
    json_t *exec = json_object_get(u, "exec");
    if (exec && !json_is_null(exec)) {
        const char *cmd = json_string_value(json_object_get(exec, "command"));
        char named[160] = "";
        if (cmd)
            quote_name(named, sizeof(named), " (command", cmd);
        errbuf_set(msg, KC_MSG_MAX,
                "%s: exec credential plugins%s%s are not supported (use a token, a token file or "
                "a client certificate)",
                what, named, cmd ? ")" : "");
        return -1;
    }
    json_t *ap = json_object_get(u, "auth-provider");
    if (ap && !json_is_null(ap)) {
        const char *name = json_string_value(json_object_get(ap, "name"));
        char named[160] = "";
        if (name)
            quote_name(named, sizeof(named), " (name", name);
        errbuf_set(msg, KC_MSG_MAX,
                "%s: auth-provider plugins%s%s are not supported (use a token, a token file or "
                "a client certificate)",
                what, named, name ? ")" : "");
        return -1;
    }
    const char *username, *password, *token, *token_file;
    if (get_str(u, "username", what, &username, msg) < 0 ||
        get_str(u, "password", what, &password, msg) < 0 ||
        get_str(u, "token", what, &token, msg) < 0 ||
        get_str(u, "tokenFile", what, &token_file, msg) < 0)
        return -1;
    if (username || password) {
        errbuf_set(msg, KC_MSG_MAX, "%s: username/password (basic) authentication is not supported",
                 what);
        return -1;
    }
    if (load_pem(u, "client-certificate-data", "client-certificate", what, base_dir,
                 &out->client_cert_pem, &out->client_cert_pem_len, msg) < 0 ||
        load_pem(u, "client-key-data", "client-key", what, base_dir, &out->client_key_pem,
                 &out->client_key_pem_len, msg) < 0)
        return -1;
    if (!out->client_cert_pem != !out->client_key_pem) {
        errbuf_set(msg, KC_MSG_MAX, "%s: a client certificate needs its key (and a key its certificate)",
                 what);
        return -1;
    }
    if (token) {
        out->token = dup_str(token);
        if (!out->token) {
            errbuf_set(msg, KC_MSG_MAX, "out of memory");
            return -1;
        }
        return kube_cred_clean_token(out->token, what, msg, KC_MSG_MAX);
    }
    if (token_file)
        return kube_cred_load_token_file(token_file, base_dir, what, out, msg, KC_MSG_MAX);
    return 0;
}

/* Checks that root is a kubeconfig: a mapping whose kind, when set, is "Config". Returns 0 or
 * -1 (msg). */
static int check_root(const json_t *root, char *msg)
{
    if (json_is_null(root)) {
        errbuf_set(msg, KC_MSG_MAX, "the kubeconfig is empty");
        return -1;
    }
    if (!json_is_object(root)) {
        errbuf_set(msg, KC_MSG_MAX, "the kubeconfig must be a mapping");
        return -1;
    }
    const char *kind;
    if (get_str(root, "kind", "kubeconfig", &kind, msg) < 0)
        return -1;
    if (kind && strcmp(kind, "Config") != 0) {
        errbuf_set(msg, KC_MSG_MAX, "kind is \"%.100s\", expected \"Config\"", kind);
        return -1;
    }
    return 0;
}

/* The context to use: context when non-empty, else root's current-context (*name borrows
 * from root). Returns 0 or -1 (msg). */
static int context_name(const json_t *root, const char *context, const char **name, char *msg)
{
    *name = context;
    if (context && context[0])
        return 0;
    if (get_str(root, "current-context", "kubeconfig", name, msg) < 0)
        return -1;
    if (!*name) {
        errbuf_set(msg, KC_MSG_MAX,
                "no current-context is set (set one with kubectl config use-context, or "
                "name a context)");
        return -1;
    }
    return 0;
}

/* Finds the entry name of root[list] that must exist (what names it, cwhat the context that
 * refers to it). Returns 0 with *found set (borrowed, NULL for an empty entry) or -1 (msg). */
static int find_required(const json_t *root, const char *list, const char *item,
                         const char *name, const char *what, const char *cwhat, json_t **found,
                         char *msg)
{
    int rc = find_named(root, list, item, name, found, msg);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        errbuf_set(msg, KC_MSG_MAX, "%s (of %s) not found", what, cwhat);
        return -1;
    }
    return 0;
}

/* Reads the context ctx_name (cwhat names it): its cluster and user names (borrowed from
 * root; the user may be NULL) and out->namespace and out->context. Returns 0 or -1 (msg). */
static int load_context(const json_t *root, const char *ctx_name, const char *cwhat,
                        const char **cluster_name, const char **user_name,
                        struct kube_config *out, char *msg)
{
    json_t *ctx;
    int rc = find_named(root, "contexts", "context", ctx_name, &ctx, msg);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        errbuf_set(msg, KC_MSG_MAX, "%s not found", cwhat);
        return -1;
    }
    const char *ns;
    if (get_str(ctx, "cluster", cwhat, cluster_name, msg) < 0 ||
        get_str(ctx, "user", cwhat, user_name, msg) < 0 ||
        get_str(ctx, "namespace", cwhat, &ns, msg) < 0)
        return -1;
    if (!*cluster_name) {
        errbuf_set(msg, KC_MSG_MAX, "%s names no cluster", cwhat);
        return -1;
    }
    if (ns && !kube_endpoint_is_dns_label(ns)) {
        errbuf_set(msg, KC_MSG_MAX,
                "%s: namespace \"%.100s\" is not a valid namespace name (a lowercase RFC 1123 "
                "label)",
                cwhat, ns);
        return -1;
    }
    out->namespace = dup_str(ns ? ns : "default");
    out->context = dup_str(ctx_name);
    if (!out->namespace || !out->context) {
        errbuf_set(msg, KC_MSG_MAX, "out of memory");
        return -1;
    }
    return 0;
}

/* The whole kubeconfig semantics on a parsed root. Returns 0 or -1 (msg). */
static int load_root(const json_t *root, const char *base_dir, const char *context,
                     struct kube_config *out, char *msg)
{
    const char *ctx_name, *cluster_name, *user_name;
    if (check_root(root, msg) < 0 || context_name(root, context, &ctx_name, msg) < 0)
        return -1;
    char cwhat[256], what[600];
    quote_name(cwhat, sizeof(cwhat), "context", ctx_name);
    if (load_context(root, ctx_name, cwhat, &cluster_name, &user_name, out, msg) < 0)
        return -1;

    json_t *cl;
    quote_name(what, sizeof(what), "cluster", cluster_name);
    if (find_required(root, "clusters", "cluster", cluster_name, what, cwhat, &cl, msg) < 0 ||
        load_cluster(cl, what, base_dir, out, msg) < 0)
        return -1;

    if (user_name) {
        json_t *u;
        quote_name(what, sizeof(what), "user", user_name);
        if (find_required(root, "users", "user", user_name, what, cwhat, &u, msg) < 0 ||
            load_user(u, what, base_dir, out, msg) < 0)
            return -1;
    }
    return 0;
}


/* kubeconfig_parse with an optional file name for the messages. */
static int parse_named(const char *text, size_t len, const char *name, const char *base_dir,
                       const char *context, struct kube_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    json_t *root = yaml_json_load(text, len, name, err, errlen);
    if (!root)
        return -1;
    char msg[KC_MSG_MAX] = "";
    int rc = load_root(root, base_dir, context, out, msg);
    json_decref(root);
    if (rc < 0) {
        kube_config_free(out);
        if (name)
            errbuf_set(err, errlen, "%s: %s", name, msg);
        else
            errbuf_set(err, errlen, "%s", msg);
        return -1;
    }
    return 0;
}

int kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
                     struct kube_config *out, char *err, size_t errlen)
{
    return parse_named(text, len, NULL, base_dir, context, out, err, errlen);
}

int kubeconfig_load(const char *path, const char *context, struct kube_config *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t len;
    char *text = file_read(path, KUBECONFIG_MAX_FILE, &len, err, errlen);
    if (!text)
        return -1;
    char dir[KUBE_CRED_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof(dir))
            n = sizeof(dir) - 1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int rc = parse_named(text, len, path, dir, context, out, err, errlen);
    free(text);
    return rc;
}

/* ---- the search order ---- */

int kubeconfig_resolve(const char *flag_path, struct kube_config *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (flag_path && flag_path[0])
        return kubeconfig_load(flag_path, NULL, out, err, errlen);

    const char *env = getenv("KUBECONFIG");
    if (env) {
        const char *p = env;
        while (*p == ':')
            p++;
        if (*p) {
            char path[KUBE_CRED_PATH_MAX];
            size_t n = strcspn(p, ":");
            if (n >= sizeof(path)) {
                errbuf_set(err, errlen, "KUBECONFIG: path is too long");
                return -1;
            }
            memcpy(path, p, n);
            path[n] = '\0';
            return kubeconfig_load(path, NULL, out, err, errlen);
        }
    }

    char home_cfg[KUBE_CRED_PATH_MAX] = "";
    const char *home = getenv("HOME");
    if (home && home[0]) {
        int n = snprintf(home_cfg, sizeof(home_cfg), "%s/.kube/config", home);
        if (n < 0 || (size_t)n >= sizeof(home_cfg))
            home_cfg[0] = '\0';
    }
    struct stat st;
    bool have_home = home_cfg[0] && stat(home_cfg, &st) == 0;

    const char *svc = getenv("KUBERNETES_SERVICE_HOST");
    if (svc && svc[0]) {
        if (kubeconfig_in_cluster(out, err, errlen) == 0)
            return 0;
        if (!have_home)
            return -1;
    }
    if (have_home)
        return kubeconfig_load(home_cfg, NULL, out, err, errlen);
    errbuf_set(err, errlen,
            "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, run in a cluster, or create "
            "%s",
            home_cfg[0] ? home_cfg : "$HOME/.kube/config");
    return -1;
}
