/* test_kubeconfig.c — unit tests for controller/kubeconfig.c (on controller/yaml_json.c, the
 * shared base64 decoder and file reader). Files live in a temporary directory made per test
 * run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "incluster_config.h"
#include "kubeconfig.h"

#define CA_PEM "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n"
#define KEY_PEM "-----BEGIN RSA PRIVATE KEY-----\nKEY\n-----END RSA PRIVATE KEY-----\n"
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define CERT_B64                                                                                 \
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNMSUVOVAotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
#define KEY_B64                                                                                  \
    "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpLRVkKLS0tLS1FTkQgUlNBIFBSSVZBVEUgS0VZLS0tLS0K"
#define NOT_PEM_B64 "bm90IHBlbQ=="

static char tmp[256];

/* Writes text to tmp/name (creating tmp/sub if the name needs it). */
static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void path_of(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmp, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/test_kubeconfig.XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/sub", tmp);
    mkdir(sub, 0700);
    snprintf(sub, sizeof(sub), "%s/sa", tmp);
    mkdir(sub, 0700);
    snprintf(sub, sizeof(sub), "%s/home", tmp);
    mkdir(sub, 0700);
    snprintf(sub, sizeof(sub), "%s/home/.kube", tmp);
    mkdir(sub, 0700);
    write_file("ca.crt", CA_PEM);
    write_file("sub/client.crt", CERT_PEM);
    write_file("sub/client.key", KEY_PEM);
    write_file("token", "  tok-from-file\n");
    write_file("empty-token", "\n");
    write_file("notpem.crt", "hello\n");
    write_file("sa/token", "sa-token\n");
    write_file("sa/ca.crt", CA_PEM);
    write_file("sa/namespace", "valkey-system\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* Parses text (base dir tmp) expecting success. */
static void parse_ok(const char *text, const char *context, struct kube_config *c)
{
    char err[1024] = "";
    int rc = kubeconfig_parse(text, strlen(text), tmp, context, c, err, sizeof(err));
    if (rc != 0)
        print_error("unexpected failure: %s\n", err);
    assert_int_equal(rc, 0);
}

/* Parses text expecting failure with exactly msg (after replacing "TMP" with the temp dir). */
static void parse_fails(const char *text, const char *context, const char *msg)
{
    char err[1024] = "", want[1024];
    struct kube_config c;
    const char *at = strstr(msg, "TMP");
    if (at)
        snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - msg), msg, tmp, at + 3);
    else
        snprintf(want, sizeof(want), "%s", msg);
    int rc = kubeconfig_parse(text, strlen(text), tmp, context, &c, err, sizeof(err));
    if (rc == 0)
        kube_config_free(&c);
    assert_int_equal(rc, -1);
    if (strcmp(err, want) != 0)
        print_error("got  \"%s\"\nwant \"%s\"\n", err, want);
    assert_string_equal(err, want);
    assert_null(c.server);
    assert_null(c.namespace);
}

/* A kubeconfig with one context "c" (cluster "cl", user "u"); the cluster and user bodies are
 * given as YAML lines indented by 4. */
static void make_config(char *buf, size_t n, const char *cluster, const char *user)
{
    snprintf(buf, n,
             "apiVersion: v1\n"
             "kind: Config\n"
             "current-context: c\n"
             "contexts:\n"
             "- name: c\n"
             "  context:\n"
             "    cluster: cl\n"
             "    user: u\n"
             "clusters:\n"
             "- name: cl\n"
             "  cluster:\n"
             "%s"
             "users:\n"
             "- name: u\n"
             "  user:\n"
             "%s",
             cluster, user);
}

static const char kind_config[] =
    "apiVersion: v1\n"
    "clusters:\n"
    "- cluster:\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "    server: https://127.0.0.1:43210/\n"
    "  name: kind-kind\n"
    "- cluster:\n"
    "    insecure-skip-tls-verify: true\n"
    "    server: https://lab.example.com:6443/prefix/\n"
    "    tls-server-name: kubernetes\n"
    "    proxy-url: http://proxy:3128\n"
    "  name: lab\n"
    "contexts:\n"
    "- context:\n"
    "    cluster: kind-kind\n"
    "    user: kind-kind\n"
    "  name: kind-kind\n"
    "- context:\n"
    "    cluster: lab\n"
    "    namespace: valkey\n"
    "    user: admin\n"
    "  name: lab\n"
    "- context:\n"
    "    cluster: lab\n"
    "  name: anonymous\n"
    "current-context: kind-kind\n"
    "kind: Config\n"
    "preferences: {}\n"
    "users:\n"
    "- name: kind-kind\n"
    "  user:\n"
    "    client-certificate-data: " CERT_B64 "\n"
    "    client-key-data: " KEY_B64 "\n"
    "- name: admin\n"
    "  user:\n"
    "    token: abc.def\n";

static void test_data_fields(void **state)
{
    (void)state;
    struct kube_config c;
    parse_ok(kind_config, NULL, &c);
    assert_string_equal(c.server, "https://127.0.0.1:43210");
    assert_int_equal(c.ca_pem_len, strlen(CA_PEM));
    assert_memory_equal(c.ca_pem, CA_PEM, c.ca_pem_len);
    assert_string_equal(c.ca_pem, CA_PEM);
    assert_string_equal(c.client_cert_pem, CERT_PEM);
    assert_int_equal(c.client_cert_pem_len, strlen(CERT_PEM));
    assert_string_equal(c.client_key_pem, KEY_PEM);
    assert_int_equal(c.client_key_pem_len, strlen(KEY_PEM));
    assert_null(c.token);
    assert_null(c.token_file);
    assert_false(c.insecure_skip_tls_verify);
    assert_null(c.tls_server_name);
    assert_null(c.proxy_url);
    assert_string_equal(c.namespace, "default");
    assert_string_equal(c.context, "kind-kind");
    kube_config_free(&c);
    assert_null(c.server);
    kube_config_free(&c); /* twice is harmless */
    kube_config_free(NULL);
}

static void test_context_selection(void **state)
{
    (void)state;
    struct kube_config c;
    parse_ok(kind_config, "lab", &c);
    assert_string_equal(c.server, "https://lab.example.com:6443/prefix");
    assert_true(c.insecure_skip_tls_verify);
    assert_null(c.ca_pem);
    assert_string_equal(c.tls_server_name, "kubernetes");
    assert_string_equal(c.proxy_url, "http://proxy:3128");
    assert_string_equal(c.token, "abc.def");
    assert_null(c.token_file);
    assert_null(c.client_cert_pem);
    assert_string_equal(c.namespace, "valkey");
    assert_string_equal(c.context, "lab");
    kube_config_free(&c);

    /* a context without a user: no credentials */
    parse_ok(kind_config, "anonymous", &c);
    assert_null(c.token);
    assert_null(c.client_cert_pem);
    kube_config_free(&c);

    /* "" means the current context too */
    parse_ok(kind_config, "", &c);
    assert_string_equal(c.context, "kind-kind");
    kube_config_free(&c);
}

static void test_file_fields(void **state)
{
    (void)state;
    char cfg[4096], abs_ca[512], user[1024];
    struct kube_config c;

    /* relative paths, against the base directory */
    make_config(cfg, sizeof(cfg),
                "    server: https://h:6443\n    certificate-authority: ca.crt\n",
                "    client-certificate: sub/client.crt\n"
                "    client-key: ./sub/../sub/client.key\n");
    parse_ok(cfg, NULL, &c);
    assert_string_equal(c.ca_pem, CA_PEM);
    assert_int_equal(c.ca_pem_len, strlen(CA_PEM));
    assert_string_equal(c.client_cert_pem, CERT_PEM);
    assert_string_equal(c.client_key_pem, KEY_PEM);
    kube_config_free(&c);

    /* absolute paths; the token file is read and its path kept */
    path_of(abs_ca, sizeof(abs_ca), "ca.crt");
    char cluster[1024];
    snprintf(cluster, sizeof(cluster),
             "    server: https://h:6443\n    certificate-authority: \"%s\"\n", abs_ca);
    make_config(cfg, sizeof(cfg), cluster, "    tokenFile: token\n");
    parse_ok(cfg, NULL, &c);
    assert_string_equal(c.ca_pem, CA_PEM);
    assert_string_equal(c.token, "tok-from-file");
    char want[512];
    path_of(want, sizeof(want), "token");
    assert_string_equal(c.token_file, want);
    kube_config_free(&c);

    /* token wins over tokenFile, as in kubectl */
    make_config(cfg, sizeof(cfg), "    server: https://h\n",
                "    token: inline\n    tokenFile: missing-file\n");
    parse_ok(cfg, NULL, &c);
    assert_string_equal(c.token, "inline");
    assert_null(c.token_file);
    kube_config_free(&c);

    /* kubeconfig_load resolves against the file's own directory */
    snprintf(user, sizeof(user), "    client-certificate: client.crt\n"
                                 "    client-key: client.key\n");
    make_config(cfg, sizeof(cfg), "    server: http://localhost:8080\n    insecure-skip-tls-verify: false\n", user);
    write_file("sub/config", cfg);
    char path[512], err[1024];
    path_of(path, sizeof(path), "sub/config");
    assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "http://localhost:8080");
    assert_string_equal(c.client_cert_pem, CERT_PEM);
    kube_config_free(&c);

    /* a JSON kubeconfig */
    const char *json =
        "{\"kind\":\"Config\",\"apiVersion\":\"v1\",\"current-context\":\"j\","
        "\"contexts\":[{\"name\":\"j\",\"context\":{\"cluster\":\"k\",\"user\":\"v\","
        "\"namespace\":\"ns1\"}}],"
        "\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"https://[fd00::1]:6443\","
        "\"certificate-authority-data\":\"" CA_B64 "\"}}],"
        "\"users\":[{\"name\":\"v\",\"user\":{\"token\":\"jt\"}}]}";
    parse_ok(json, NULL, &c);
    assert_string_equal(c.server, "https://[fd00::1]:6443");
    assert_string_equal(c.ca_pem, CA_PEM);
    assert_string_equal(c.token, "jt");
    assert_string_equal(c.namespace, "ns1");
    kube_config_free(&c);
}

/* A kubeconfig as several cloud CLIs leave it after each added its cluster: exec plugins
 * (aws, gke-gcloud-auth-plugin, kubelogin) in users that are not selected must not stop the
 * others from loading; a long plain value continued on the next line (gcloud's installHint),
 * a block literal with an indentation indicator (az's installHint), names with ':' and '/'
 * (EKS ARNs, oc login). */
static const char cloud_config[] =
    "apiVersion: v1\n"
    "clusters:\n"
    "- cluster:\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "    server: https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com\n"
    "  name: arn:aws:eks:eu-west-1:123456789012:cluster/prod\n"
    "- cluster:\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "    server: https://34.118.1.2\n"
    "  name: gke_my-project_europe-west1_prod\n"
    "- cluster:\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "    server: https://aks-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443\n"
    "  name: aks\n"
    "- cluster:\n"
    "    server: https://api.crc.testing:6443\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "  name: api-crc-testing:6443\n"
    "contexts:\n"
    "- context:\n"
    "    cluster: arn:aws:eks:eu-west-1:123456789012:cluster/prod\n"
    "    user: arn:aws:eks:eu-west-1:123456789012:cluster/prod\n"
    "  name: arn:aws:eks:eu-west-1:123456789012:cluster/prod\n"
    "- context:\n"
    "    cluster: gke_my-project_europe-west1_prod\n"
    "    user: gke_my-project_europe-west1_prod\n"
    "  name: gke_my-project_europe-west1_prod\n"
    "- context:\n"
    "    cluster: aks\n"
    "    user: clusterUser_rg_aks\n"
    "  name: aks\n"
    "- context:\n"
    "    cluster: aks\n"
    "    user: clusterAdmin_rg_aks\n"
    "  name: aks-admin\n"
    "- context:\n"
    "    cluster: api-crc-testing:6443\n"
    "    namespace: valkey\n"
    "    user: kubeadmin/api-crc-testing:6443\n"
    "  name: valkey/api-crc-testing:6443/kubeadmin\n"
    "current-context: valkey/api-crc-testing:6443/kubeadmin\n"
    "kind: Config\n"
    "preferences: {}\n"
    "users:\n"
    "- name: arn:aws:eks:eu-west-1:123456789012:cluster/prod\n"
    "  user:\n"
    "    exec:\n"
    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
    "      args:\n"
    "      - --region\n"
    "      - eu-west-1\n"
    "      - eks\n"
    "      - get-token\n"
    "      - --cluster-name\n"
    "      - prod\n"
    "      command: aws\n"
    "      env:\n"
    "      - name: AWS_PROFILE\n"
    "        value: prod\n"
    "      interactiveMode: IfAvailable\n"
    "      provideClusterInfo: false\n"
    "- name: gke_my-project_europe-west1_prod\n"
    "  user:\n"
    "    exec:\n"
    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
    "      command: gke-gcloud-auth-plugin\n"
    "      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following\n"
    "        https://cloud.google.com/kubernetes-engine/docs/how-to/"
    "cluster-access-for-kubectl#install_plugin\n"
    "      provideClusterInfo: true\n"
    "- name: clusterUser_rg_aks\n"
    "  user:\n"
    "    exec:\n"
    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
    "      args:\n"
    "      - get-token\n"
    "      - --login\n"
    "      - devicecode\n"
    "      command: kubelogin\n"
    "      env: null\n"
    "      installHint: |2\n"
    "\n"
    "        kubelogin is not installed which is required to connect to AAD enabled cluster.\n"
    "\n"
    "        To learn more, please go to https://aka.ms/aks/kubelogin\n"
    "      provideClusterInfo: false\n"
    "- name: clusterAdmin_rg_aks\n"
    "  user:\n"
    "    client-certificate-data: " CERT_B64 "\n"
    "    client-key-data: " KEY_B64 "\n"
    "    token: 0a1b2c3d4e5f\n"
    "- name: kubeadmin/api-crc-testing:6443\n"
    "  user:\n"
    "    token: sha256~AbCdEf-123_456\n";

static void test_cloud_cli_configs(void **state)
{
    (void)state;
    struct kube_config c;
    parse_ok(cloud_config, NULL, &c);
    assert_string_equal(c.context, "valkey/api-crc-testing:6443/kubeadmin");
    assert_string_equal(c.server, "https://api.crc.testing:6443");
    assert_string_equal(c.ca_pem, CA_PEM);
    assert_string_equal(c.token, "sha256~AbCdEf-123_456");
    assert_string_equal(c.namespace, "valkey");
    kube_config_free(&c);

    parse_ok(cloud_config, "aks-admin", &c);
    assert_string_equal(c.server, "https://aks-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443");
    assert_string_equal(c.client_cert_pem, CERT_PEM);
    assert_string_equal(c.client_key_pem, KEY_PEM);
    assert_string_equal(c.token, "0a1b2c3d4e5f");
    kube_config_free(&c);

    parse_fails(cloud_config, "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
                "user \"arn:aws:eks:eu-west-1:123456789012:cluster/prod\": exec credential "
                "plugins (command \"aws\") are not supported (use a token, a token file or a "
                "client certificate)");
    parse_fails(cloud_config, "gke_my-project_europe-west1_prod",
                "user \"gke_my-project_europe-west1_prod\": exec credential plugins (command "
                "\"gke-gcloud-auth-plugin\") are not supported (use a token, a token file or a "
                "client certificate)");
    parse_fails(cloud_config, "aks",
                "user \"clusterUser_rg_aks\": exec credential plugins (command \"kubelogin\") are "
                "not supported (use a token, a token file or a client certificate)");

    /* the same file on disk: the messages start with its path */
    char path[512], err[1024], want[1024];
    write_file("cloud-config", cloud_config);
    path_of(path, sizeof(path), "cloud-config");
    assert_int_equal(kubeconfig_load(path, "aks", &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s: user \"clusterUser_rg_aks\": exec credential plugins (command \"kubelogin\") "
             "are not supported (use a token, a token file or a client certificate)",
             path);
    assert_string_equal(err, want);
    assert_int_equal(kubeconfig_load(path, "aks-admin", &c, err, sizeof(err)), 0);
    kube_config_free(&c);
}

/* YAML that hand-edited and generated kubeconfigs use: anchors, aliases and merge keys,
 * base64 wrapped in a block literal or folded, quoted values continued on the next line,
 * flow style. */
static void test_yaml_features(void **state)
{
    (void)state;
    struct kube_config c;
    static const char anchors[] =
        "kind: Config\n"
        "current-context: b\n"
        "clusters:\n"
        "- name: a\n"
        "  cluster: &shared\n"
        "    server: https://shared:6443\n"
        "    certificate-authority-data: |\n"
        "      LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNB\n"
        "      Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K\n"
        "- name: b\n"
        "  cluster:\n"
        "    <<: *shared\n"
        "    server: https://b:6443\n"
        "    tls-server-name: kubernetes.default.svc\n"
        "contexts:\n"
        "- name: a\n"
        "  context: {cluster: a, user: &u admin}\n"
        "- name: b\n"
        "  context: {cluster: b, user: *u, namespace: ns-b}\n"
        "users:\n"
        "- name: *u\n"
        "  user:\n"
        "    token: \"abc\\\n"
        "      def\"\n";
    parse_ok(anchors, NULL, &c);
    assert_string_equal(c.context, "b");
    assert_string_equal(c.server, "https://b:6443");
    assert_string_equal(c.tls_server_name, "kubernetes.default.svc");
    assert_string_equal(c.ca_pem, CA_PEM);
    assert_string_equal(c.token, "abcdef");
    assert_string_equal(c.namespace, "ns-b");
    kube_config_free(&c);
    parse_ok(anchors, "a", &c);
    assert_string_equal(c.server, "https://shared:6443");
    assert_null(c.tls_server_name);
    kube_config_free(&c);

    /* folded base64: the line breaks become spaces, which the decoder skips */
    char cfg[4096];
    make_config(cfg, sizeof(cfg),
                "    server: https://h\n"
                "    certificate-authority-data: >-\n"
                "      LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNB\n"
                "      Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K\n",
                "    token: t\n");
    parse_ok(cfg, NULL, &c);
    assert_string_equal(c.ca_pem, CA_PEM);
    kube_config_free(&c);

    /* flow style YAML (not JSON), single-quoted */
    const char *flow = "{kind: Config, current-context: f, contexts: [{name: f, context: "
                       "{cluster: f, user: f}}], clusters: [{name: f, cluster: {server: "
                       "'https://f:6443', proxy-url: 'socks5://proxy:1080'}}], users: [{name: f, "
                       "user: {token: 'it''s'}}]}";
    parse_ok(flow, NULL, &c);
    assert_string_equal(c.server, "https://f:6443");
    assert_string_equal(c.proxy_url, "socks5://proxy:1080");
    assert_string_equal(c.token, "it's");
    kube_config_free(&c);

    /* an alias bomb is refused, not expanded */
    char bomb[4096];
    size_t n = (size_t)snprintf(bomb, sizeof(bomb), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        n += (size_t)snprintf(bomb + n, sizeof(bomb) - n, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++)
            n += (size_t)snprintf(bomb + n, sizeof(bomb) - n, "%s*a%d", k ? ", " : "", i - 1);
        n += (size_t)snprintf(bomb + n, sizeof(bomb) - n, "]\n");
    }
    parse_fails(bomb, NULL,
                "line 6: the document expands to more than 1048576 nodes (aliases are counted as "
                "copies of what they name)");
}

static void test_selection_errors(void **state)
{
    (void)state;
    parse_fails("apiVersion: v1\nkind: Config\nclusters: []\n", NULL,
                "no current-context is set (set one with kubectl config use-context, or name a "
                "context)");
    parse_fails(kind_config, "nope", "context \"nope\" not found");
    parse_fails("current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: x\n", NULL,
                "cluster \"x\" (of context \"c\") not found");
    parse_fails("current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: x\n"
                "    user: u\nclusters:\n- name: x\n  cluster:\n    server: https://h\n",
                NULL, "user \"u\" (of context \"c\") not found");
    parse_fails("current-context: c\ncontexts:\n- name: c\n  context: {user: u}\n", NULL,
                "context \"c\" names no cluster");
    parse_fails("current-context: c\ncontexts:\n- name: c\n  context:\n", NULL,
                "context \"c\" names no cluster");
    parse_fails("current-context: c\ncontexts:\n- name: c\n  context: {cluster: x}\n"
                "- name: c\n  context: {cluster: y}\n",
                NULL, "contexts: two entries are named \"c\"");
    parse_fails("current-context: c\ncontexts: {}\n", NULL, "contexts must be a list");
    parse_fails("current-context: c\ncontexts:\n- context: {}\n", NULL,
                "contexts[0]: name must be a string");
    parse_fails("", NULL, "the kubeconfig is empty");
    parse_fails("- a\n", NULL, "the kubeconfig must be a mapping");
    parse_fails("kind: Pod\n", NULL, "kind is \"Pod\", expected \"Config\"");
    parse_fails("current-context: 5\n", NULL, "kubeconfig: current-context must be a string");
    parse_fails("a: 1\na: 2\n", NULL, "line 2: duplicate key \"a\"");
    char cfg[4096];
    snprintf(cfg, sizeof(cfg),
             "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: x\n"
             "    namespace: Bad_NS\nclusters:\n- name: x\n  cluster:\n    server: https://h\n");
    parse_fails(cfg, NULL,
                "context \"c\": namespace \"Bad_NS\" is not a valid namespace name (a lowercase "
                "RFC 1123 label)");
}

static void test_cluster_errors(void **state)
{
    (void)state;
    char cfg[4096];
#define CLUSTER_FAILS(body, msg)                                                                 \
    do {                                                                                         \
        make_config(cfg, sizeof(cfg), body, "    token: t\n");                                   \
        parse_fails(cfg, NULL, msg);                                                             \
    } while (0)
    CLUSTER_FAILS("    insecure-skip-tls-verify: true\n", "cluster \"cl\": server is missing");
    CLUSTER_FAILS("    server: http://10.0.0.1:8080\n",
                  "cluster \"cl\": server \"http://10.0.0.1:8080\" must be an https:// URL "
                  "(plain http is allowed only for localhost, 127.0.0.1 and [::1])");
    CLUSTER_FAILS("    server: ftp://h\n",
                  "cluster \"cl\": server \"ftp://h\" must be an https:// URL");
    CLUSTER_FAILS("    server: h:6443\n",
                  "cluster \"cl\": server \"h:6443\" must be an https:// URL");
    CLUSTER_FAILS("    server: https://:6443\n",
                  "cluster \"cl\": server \"https://:6443\" has no host");
    CLUSTER_FAILS("    server: https://h:99999\n",
                  "cluster \"cl\": server \"https://h:99999\" has a bad port");
    CLUSTER_FAILS("    server: https://u:p@h\n",
                  "cluster \"cl\": server \"https://u:p@h\" is not a valid URL (white space, '?', "
                  "'#', '@' and non-ASCII characters are not allowed)");
    CLUSTER_FAILS("    server: 6443\n", "cluster \"cl\": server must be a string");
    CLUSTER_FAILS("    server: https://h\n    insecure-skip-tls-verify: \"true\"\n",
                  "cluster \"cl\": insecure-skip-tls-verify must be true or false");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority-data: \"LS0t!\"\n",
                  "cluster \"cl\": certificate-authority-data is not valid base64: invalid "
                  "character 0x21 at byte 4");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority-data: LS0tL\n",
                  "cluster \"cl\": certificate-authority-data is not valid base64: length is not "
                  "a multiple of 4 (missing '=' padding?)");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority-data: LS0t-LS0t\n",
                  "cluster \"cl\": certificate-authority-data is not valid base64: invalid "
                  "character 0x2d at byte 4");
    CLUSTER_FAILS("    server: https://h\n    tls-server-name: \"a/b\"\n",
                  "cluster \"cl\": tls-server-name \"a/b\" is not a host name (letters, digits, "
                  "'-', '_' and '.')");
    CLUSTER_FAILS("    server: https://h\n    tls-server-name: \"kubernetes:443\"\n",
                  "cluster \"cl\": tls-server-name \"kubernetes:443\" is not a host name "
                  "(letters, digits, '-', '_' and '.')");
    CLUSTER_FAILS("    server: https://h\n    proxy-url: ftp://proxy:21\n",
                  "cluster \"cl\": proxy-url \"ftp://proxy:21\" must be an http://, https:// or "
                  "socks5:// URL");
    CLUSTER_FAILS("    server: https://h\n    proxy-url: proxy:3128\n",
                  "cluster \"cl\": proxy-url \"proxy:3128\" must be an http://, https:// or "
                  "socks5:// URL");
    CLUSTER_FAILS("    server: https://h\n    proxy-url: http://user:pw@/\n",
                  "cluster \"cl\": proxy-url \"http://user:pw@/\" has no host");
    CLUSTER_FAILS("    server: https://h\n    proxy-url: \"http://pro xy\"\n",
                  "cluster \"cl\": proxy-url \"http://pro xy\" is not a valid URL (white space "
                  "and non-ASCII characters are not allowed)");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority-data: " NOT_PEM_B64 "\n",
                  "cluster \"cl\": certificate-authority-data does not hold PEM data (no "
                  "\"-----BEGIN\" line)");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority: missing.crt\n",
                  "cluster \"cl\": certificate-authority: cannot read TMP/missing.crt: No such "
                  "file or directory");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority: sub\n",
                  "cluster \"cl\": certificate-authority: cannot read TMP/sub: not a regular "
                  "file");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority: notpem.crt\n",
                  "cluster \"cl\": certificate-authority: TMP/notpem.crt holds no PEM data (no "
                  "\"-----BEGIN\" line)");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority: ca.crt\n"
                  "    certificate-authority-data: " CA_B64 "\n",
                  "cluster \"cl\": both certificate-authority-data and certificate-authority are "
                  "set; keep one");
    CLUSTER_FAILS("    server: https://h\n    certificate-authority: ca.crt\n"
                  "    insecure-skip-tls-verify: true\n",
                  "cluster \"cl\": a certificate authority cannot be set together with "
                  "insecure-skip-tls-verify");
#undef CLUSTER_FAILS

    /* without a base directory, relative paths are refused */
    make_config(cfg, sizeof(cfg), "    server: https://h\n    certificate-authority: ca.crt\n",
                "    token: t\n");
    char err[512];
    struct kube_config c;
    assert_int_equal(kubeconfig_parse(cfg, strlen(cfg), NULL, NULL, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "cluster \"cl\": certificate-authority: relative path \"ca.crt\" "
                             "with no directory to resolve it in");
    /* http on loopback is allowed */
    make_config(cfg, sizeof(cfg), "    server: http://127.0.0.1:8080\n", "    token: t\n");
    parse_ok(cfg, NULL, &c);
    kube_config_free(&c);
    make_config(cfg, sizeof(cfg), "    server: http://[::1]\n", "    token: t\n");
    parse_ok(cfg, NULL, &c);
    assert_string_equal(c.server, "http://[::1]");
    kube_config_free(&c);
}

static void test_user_errors(void **state)
{
    (void)state;
    char cfg[4096];
#define USER_FAILS(body, msg)                                                                    \
    do {                                                                                         \
        make_config(cfg, sizeof(cfg), "    server: https://h\n", body);                          \
        parse_fails(cfg, NULL, msg);                                                             \
    } while (0)
    USER_FAILS("    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
               "      command: aws\n      args: [eks, get-token]\n",
               "user \"u\": exec credential plugins (command \"aws\") are not supported (use a "
               "token, a token file or a client certificate)");
    USER_FAILS("    exec: {apiVersion: client.authentication.k8s.io/v1}\n",
               "user \"u\": exec credential plugins are not supported (use a token, a token file "
               "or a client certificate)");
    USER_FAILS("    auth-provider:\n      name: gcp\n",
               "user \"u\": auth-provider plugins (name \"gcp\") are not supported (use a token, "
               "a token file or a client certificate)");
    /* the plugin is refused even when the user also has a token */
    USER_FAILS("    token: t\n    auth-provider:\n      name: oidc\n      config: {}\n",
               "user \"u\": auth-provider plugins (name \"oidc\") are not supported (use a token, "
               "a token file or a client certificate)");
    USER_FAILS("    username: admin\n    password: secret\n",
               "user \"u\": username/password (basic) authentication is not supported");
    USER_FAILS("    client-certificate-data: " CERT_B64 "\n",
               "user \"u\": a client certificate needs its key (and a key its certificate)");
    USER_FAILS("    client-key: sub/client.key\n",
               "user \"u\": a client certificate needs its key (and a key its certificate)");
    USER_FAILS("    client-certificate-data: " CERT_B64 "\n    client-certificate: x\n",
               "user \"u\": both client-certificate-data and client-certificate are set; keep one");
    USER_FAILS("    client-certificate-data: " CERT_B64 "\n    client-key-data: \"S0V*\"\n",
               "user \"u\": client-key-data is not valid base64: invalid character 0x2a at byte "
               "3");
    USER_FAILS("    client-certificate-data: " CERT_B64 "\n    client-key-data: \"S0V Z\"\n",
               "user \"u\": client-key-data does not hold PEM data (no \"-----BEGIN\" line)");
    USER_FAILS("    client-certificate: sub/client.crt\n    client-key: nokey\n",
               "user \"u\": client-key: cannot read TMP/nokey: No such file or directory");
    USER_FAILS("    tokenFile: missing\n",
               "user \"u\": cannot read the token file TMP/missing: No such file or directory");
    USER_FAILS("    tokenFile: empty-token\n",
               "user \"u\": token file TMP/empty-token: the token is empty");
    USER_FAILS("    token: \"a\\nb\"\n",
               "user \"u\": the token holds a control or non-ASCII character (at byte 1)");
    USER_FAILS("    token: [a]\n", "user \"u\": token must be a string");
#undef USER_FAILS
}

static void test_load_errors(void **state)
{
    (void)state;
    char path[512], err[1024], want[1024];
    struct kube_config c;
    path_of(path, sizeof(path), "no-such-config");
    assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);

    write_file("bad-yaml", "apiVersion: v1\nusers:\n- name: a\n  user: {token: t\n"
                           "current-context: x\n");
    path_of(path, sizeof(path), "bad-yaml");
    assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:5: did not find expected ',' or '}' (while parsing a flow mapping on line 4)",
             path);
    assert_string_equal(err, want);
    assert_null(c.server);

    write_file("tab-yaml", "apiVersion: v1\nclusters:\n\t- name: a\n");
    path_of(path, sizeof(path), "tab-yaml");
    assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:3: found character that cannot start any token (while scanning for the next "
             "token)",
             path);
    assert_string_equal(err, want);

    /* kubeconfig_parse has no file name: "line N:" */
    const char *dup = "kind: Config\nkind: Config\n";
    assert_int_equal(kubeconfig_parse(dup, strlen(dup), tmp, NULL, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "line 2: duplicate key \"kind\"");

    /* the 1 MiB bound: a comment pads a valid config past it */
    char cfg[4096];
    make_config(cfg, sizeof(cfg), "    server: https://h\n", "    token: t\n");
    size_t n = strlen(cfg);
    char *big = malloc(KUBECONFIG_MAX_FILE + 2);
    assert_non_null(big);
    memcpy(big, cfg, n);
    memset(big + n, ' ', KUBECONFIG_MAX_FILE + 1 - n);
    big[n] = '#';
    big[KUBECONFIG_MAX_FILE] = '\n';
    big[KUBECONFIG_MAX_FILE + 1] = '\0';
    write_file("big-config", big); /* KUBECONFIG_MAX_FILE + 1 bytes */
    path_of(path, sizeof(path), "big-config");
    assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
    assert_string_equal(err, want);
    big[KUBECONFIG_MAX_FILE - 1] = '\n';
    big[KUBECONFIG_MAX_FILE] = '\0';
    write_file("big-config", big); /* exactly the bound */
    assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://h");
    kube_config_free(&c);
    free(big);

    /* not a regular file */
    path_of(path, sizeof(path), "sub");
    assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: not a regular file", path);
    assert_string_equal(err, want);

    write_file("no-ctx", "apiVersion: v1\nkind: Config\n");
    path_of(path, sizeof(path), "no-ctx");
    assert_int_equal(kubeconfig_load(path, "other", &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: context \"other\" not found", path);
    assert_string_equal(err, want);
    assert_null(c.server);
}

static void set_sa_env(const char *host, const char *port)
{
    if (host)
        setenv("KUBERNETES_SERVICE_HOST", host, 1);
    else
        unsetenv("KUBERNETES_SERVICE_HOST");
    if (port)
        setenv("KUBERNETES_SERVICE_PORT", port, 1);
    else
        unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_in_cluster(void **state)
{
    (void)state;
    char dir[512], err[1024], want[1024];
    struct kube_config c;
    path_of(dir, sizeof(dir), "sa");
    unsetenv("POD_NAMESPACE");

    set_sa_env("10.96.0.1", "443");
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://10.96.0.1:443");
    assert_string_equal(c.token, "sa-token");
    snprintf(want, sizeof(want), "%s/token", dir);
    assert_string_equal(c.token_file, want);
    assert_string_equal(c.ca_pem, CA_PEM);
    assert_string_equal(c.namespace, "valkey-system");
    assert_null(c.context);
    assert_false(c.insecure_skip_tls_verify);
    kube_config_free(&c);

    set_sa_env("fd00:10:96::1", "6443");
    setenv("POD_NAMESPACE", "from-env", 1);
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://[fd00:10:96::1]:6443");
    assert_string_equal(c.namespace, "from-env");
    kube_config_free(&c);
    unsetenv("POD_NAMESPACE");

    /* no namespace file: "default" */
    char ns[512];
    path_of(ns, sizeof(ns), "sa/namespace");
    unlink(ns);
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), 0);
    assert_string_equal(c.namespace, "default");
    kube_config_free(&c);
    write_file("sa/namespace", "valkey-system\n");

    set_sa_env(NULL, "443");
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "not running in a cluster: KUBERNETES_SERVICE_HOST and "
                             "KUBERNETES_SERVICE_PORT must be set");
    set_sa_env("10.96.0.1", "https");
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "KUBERNETES_SERVICE_PORT \"https\" is not a port number");
    set_sa_env("a/b", "443");
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "KUBERNETES_SERVICE_HOST \"a/b\" is not a host name or address");

    set_sa_env("10.96.0.1", "443");
    path_of(dir, sizeof(dir), "sub"); /* no token there */
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "in-cluster config: cannot read the token file %s/token: No such file or directory",
             dir);
    assert_string_equal(err, want);
    assert_null(c.server);

    write_file("sub/token", "t\n");
    assert_int_equal(kubeconfig_in_cluster_dir(dir, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "in-cluster config: cannot read the CA %s/ca.crt: No such file or directory", dir);
    assert_string_equal(err, want);
    char tok[512];
    path_of(tok, sizeof(tok), "sub/token");
    unlink(tok);
    set_sa_env(NULL, NULL);
}

static void test_resolve_order(void **state)
{
    (void)state;
    char err[1024], want[1024], home[512], flag[512], env[1024];
    struct kube_config c;
    char cfg[4096];

    /* three configs that differ by server */
    make_config(cfg, sizeof(cfg), "    server: https://flag\n", "    token: t\n");
    write_file("flag-config", cfg);
    make_config(cfg, sizeof(cfg), "    server: https://env\n", "    token: t\n");
    write_file("env-config", cfg);
    make_config(cfg, sizeof(cfg), "    server: https://home\n", "    token: t\n");
    write_file("home/.kube/config", cfg);
    path_of(flag, sizeof(flag), "flag-config");
    path_of(home, sizeof(home), "home");
    setenv("HOME", home, 1);
    snprintf(env, sizeof(env), "::%s/env-config:%s/flag-config", tmp, tmp);
    setenv("KUBECONFIG", env, 1);
    set_sa_env("10.96.0.1", "443");

    /* 1. the flag */
    assert_int_equal(kubeconfig_resolve(flag, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://flag");
    kube_config_free(&c);
    /* 2. the first file of $KUBECONFIG */
    assert_int_equal(kubeconfig_resolve("", &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://env");
    kube_config_free(&c);
    assert_int_equal(kubeconfig_resolve(NULL, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://env");
    kube_config_free(&c);
    /* 3. in-cluster (no service account here, so it fails) and then 4. ~/.kube/config */
    unsetenv("KUBECONFIG");
    struct stat st;
    if (stat(KUBECONFIG_SA_DIR "/token", &st) != 0) {
        assert_int_equal(kubeconfig_resolve(NULL, &c, err, sizeof(err)), 0);
        assert_string_equal(c.server, "https://home");
        kube_config_free(&c);
        /* without a home config, the in-cluster error is reported */
        char hc[512];
        path_of(hc, sizeof(hc), "home/.kube/config");
        unlink(hc);
        assert_int_equal(kubeconfig_resolve(NULL, &c, err, sizeof(err)), -1);
        assert_string_equal(err, "in-cluster config: cannot read the token file " KUBECONFIG_SA_DIR
                                 "/token: No such file or directory");
        write_file("home/.kube/config", cfg);
    }
    /* 4. not in a cluster: ~/.kube/config */
    set_sa_env(NULL, NULL);
    assert_int_equal(kubeconfig_resolve(NULL, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://home");
    kube_config_free(&c);
    /* nothing at all */
    char hc[512];
    path_of(hc, sizeof(hc), "home/.kube/config");
    unlink(hc);
    assert_int_equal(kubeconfig_resolve(NULL, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, run in a cluster, or "
             "create %s/.kube/config",
             home);
    assert_string_equal(err, want);
    /* a flag that names a missing file is an error, not a fall-through */
    path_of(flag, sizeof(flag), "missing");
    assert_int_equal(kubeconfig_resolve(flag, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: No such file or directory", flag);
    assert_string_equal(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_fields),
        cmocka_unit_test(test_context_selection),
        cmocka_unit_test(test_file_fields),
        cmocka_unit_test(test_cloud_cli_configs),
        cmocka_unit_test(test_yaml_features),
        cmocka_unit_test(test_selection_errors),
        cmocka_unit_test(test_cluster_errors),
        cmocka_unit_test(test_user_errors),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_resolve_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
