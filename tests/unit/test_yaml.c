/* test_yaml.c — unit tests for controller/yaml.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml.h"

/* Parses yaml and checks it equals the JSON text want. */
static void parses_as(const char *yaml, const char *want)
{
    char err[256] = "";
    json_t *got = yaml_parse(yaml, strlen(yaml), err, sizeof(err));
    if (!got)
        print_error("unexpected failure: %s\n--- input:\n%s\n", err, yaml);
    assert_non_null(got);
    json_error_t jerr;
    json_t *exp = json_loads(want, JSON_DECODE_ANY, &jerr);
    if (!exp)
        print_error("bad expected JSON: %s\n", jerr.text);
    assert_non_null(exp);
    if (!json_equal(got, exp)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        print_error("got  %s\nwant %s\n", g, want);
        free(g);
    }
    assert_true(json_equal(got, exp));
    json_decref(got);
    json_decref(exp);
}

/* Parses yaml, expecting failure with exactly msg. */
static void refused(const char *yaml, const char *msg)
{
    char err[256] = "";
    json_t *got = yaml_parse(yaml, strlen(yaml), err, sizeof(err));
    if (got) {
        char *g = json_dumps(got, JSON_ENCODE_ANY);
        print_error("unexpected success: %s\n--- input:\n%s\n", g, yaml);
        free(g);
        json_decref(got);
    }
    assert_null(got);
    if (strcmp(err, msg) != 0)
        print_error("got error  \"%s\"\nwant error \"%s\"\n", err, msg);
    assert_string_equal(err, msg);
}

static const char kubectl_config[] =
    "apiVersion: v1\n"
    "clusters:\n"
    "- cluster:\n"
    "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
    "    server: https://127.0.0.1:43210\n"
    "  name: kind-kind\n"
    "- cluster:\n"
    "    insecure-skip-tls-verify: true\n"
    "    server: https://10.0.0.1:6443\n"
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
    "current-context: kind-kind\n"
    "kind: Config\n"
    "preferences: {}\n"
    "users:\n"
    "- name: kind-kind\n"
    "  user:\n"
    "    client-certificate-data: Q0VSVA==\n"
    "    client-key-data: S0VZ\n"
    "- name: admin\n"
    "  user:\n"
    "    token: abc.def\n";

static void test_kubectl(void **state)
{
    (void)state;
    parses_as(kubectl_config,
              "{\"apiVersion\":\"v1\",\"clusters\":["
              "{\"cluster\":{\"certificate-authority-data\":"
              "\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\",\"server\":\"https://127.0.0.1:43210\"},"
              "\"name\":\"kind-kind\"},"
              "{\"cluster\":{\"insecure-skip-tls-verify\":true,\"server\":\"https://10.0.0.1:6443\"},"
              "\"name\":\"lab\"}],"
              "\"contexts\":[{\"context\":{\"cluster\":\"kind-kind\",\"user\":\"kind-kind\"},"
              "\"name\":\"kind-kind\"},{\"context\":{\"cluster\":\"lab\",\"namespace\":\"valkey\","
              "\"user\":\"admin\"},\"name\":\"lab\"}],"
              "\"current-context\":\"kind-kind\",\"kind\":\"Config\",\"preferences\":{},"
              "\"users\":[{\"name\":\"kind-kind\",\"user\":{\"client-certificate-data\":\"Q0VSVA==\","
              "\"client-key-data\":\"S0VZ\"}},{\"name\":\"admin\",\"user\":{\"token\":\"abc.def\"}}]}");
}

/* minikube: absolute file paths, extensions with a date that has ':' and ',' in it. */
static void test_minikube(void **state)
{
    (void)state;
    parses_as("apiVersion: v1\n"
              "clusters:\n"
              "- cluster:\n"
              "    certificate-authority: /home/me/.minikube/ca.crt\n"
              "    extensions:\n"
              "    - extension:\n"
              "        last-update: Mon, 01 Jan 2024 10:00:00 UTC\n"
              "        provider: minikube.sigs.k8s.io\n"
              "        version: v1.32.0\n"
              "      name: cluster_info\n"
              "    server: https://192.168.49.2:8443\n"
              "  name: minikube\n"
              "contexts: null\n"
              "users:\n",
              "{\"apiVersion\":\"v1\",\"clusters\":[{\"cluster\":{"
              "\"certificate-authority\":\"/home/me/.minikube/ca.crt\",\"extensions\":[{"
              "\"extension\":{\"last-update\":\"Mon, 01 Jan 2024 10:00:00 UTC\","
              "\"provider\":\"minikube.sigs.k8s.io\",\"version\":\"v1.32.0\"},"
              "\"name\":\"cluster_info\"}],\"server\":\"https://192.168.49.2:8443\"},"
              "\"name\":\"minikube\"}],\"contexts\":null,\"users\":null}");
}

/* Sequences indented under their key (PyYAML, gcloud), with comments and a leading "---". */
static void test_indented_sequences(void **state)
{
    (void)state;
    parses_as("---\n"
              "# written by a tool\n"
              "apiVersion: v1\n"
              "clusters:\n"
              "  - name: gke   # the cluster\n"
              "    cluster:\n"
              "      server: \"https://34.1.2.3\"\n"
              "\n"
              "  - name: other\n"
              "    cluster: {server: 'https://x'}\n"
              "users:\n"
              "  -   name: u\n"
              "      user:\n"
              "        token: t\n"
              "...\n",
              "{\"apiVersion\":\"v1\",\"clusters\":[{\"name\":\"gke\",\"cluster\":{\"server\":"
              "\"https://34.1.2.3\"}},{\"name\":\"other\",\"cluster\":{\"server\":\"https://x\"}}],"
              "\"users\":[{\"name\":\"u\",\"user\":{\"token\":\"t\"}}]}");
}

static void test_json_document(void **state)
{
    (void)state;
    parses_as("{\n"
              "  \"kind\": \"Config\",\n"
              "  \"apiVersion\": \"v1\",\n"
              "  \"clusters\": [\n"
              "    {\"name\": \"c\", \"cluster\": {\"server\": \"https://h:6443\",\n"
              "      \"insecure-skip-tls-verify\": true}}\n"
              "  ],\n"
              "  \"n\": [1, -2, 0, 1.5, null, false, \"x\\u00e9\\ud83d\\ude00\"],\n"
              "  \"empty\": {}, \"list\": []\n"
              "}\n",
              "{\"kind\":\"Config\",\"apiVersion\":\"v1\",\"clusters\":[{\"name\":\"c\",\"cluster\":"
              "{\"server\":\"https://h:6443\",\"insecure-skip-tls-verify\":true}}],"
              "\"n\":[1,-2,0,\"1.5\",null,false,\"x\\u00e9\\ud83d\\ude00\"],\"empty\":{},\"list\":[]}");
    parses_as("[1, [2, [3]], {a: b, 'c d': \"e\"},]", "[1,[2,[3]],{\"a\":\"b\",\"c d\":\"e\"}]");
    parses_as("{a: , b: null, \"c\":1}", "{\"a\":null,\"b\":null,\"c\":1}");
}

static void test_scalars(void **state)
{
    (void)state;
    parses_as("a: true\nb: False\nc: TRUE\nd: null\ne: ~\nf:\ng: 42\nh: -7\ni: 0\n"
              "j: 007\nk: 1.5\nl: 1e3\nm: 99999999999999999999\nn: -9223372036854775808\n"
              "o: \"true\"\np: '42'\nq: yes\nr: +1\n",
              "{\"a\":true,\"b\":false,\"c\":true,\"d\":null,\"e\":null,\"f\":null,\"g\":42,"
              "\"h\":-7,\"i\":0,\"j\":\"007\",\"k\":\"1.5\",\"l\":\"1e3\","
              "\"m\":\"99999999999999999999\",\"n\":-9223372036854775808,\"o\":\"true\","
              "\"p\":\"42\",\"q\":\"yes\",\"r\":\"+1\"}");
}

static void test_quoting(void **state)
{
    (void)state;
    parses_as("a: 'it''s # not a comment'\n"
              "b: \"tab\\there \\\"q\\\" \\\\ \\x41 \\u00e9 \\U0001F600 \\/ \\N\"\n"
              "c: plain with spaces   # comment\n"
              "d: a#b\n"
              "e: \"multi\n  line\n\n  folded\"\n"
              "f: 'x\n   y'\n"
              "g: \"joined\\\n   here\"\n"
              "\"quoted key\": 1\n"
              "'single: key': 2\n"
              "h: http://host:80/path\n"
              "i: ''\n",
              "{\"a\":\"it's # not a comment\","
              "\"b\":\"tab\\there \\\"q\\\" \\\\ A \\u00e9 \\ud83d\\ude00 / \\u0085\","
              "\"c\":\"plain with spaces\",\"d\":\"a#b\",\"e\":\"multi line\\nfolded\","
              "\"f\":\"x y\",\"g\":\"joinedhere\",\"quoted key\":1,\"single: key\":2,"
              "\"h\":\"http://host:80/path\",\"i\":\"\"}");
}

static void test_nesting_and_empty(void **state)
{
    (void)state;
    parses_as("a:\n  b:\n    c:\n      - 1\n      - - 2\n        - 3\n      -\n      - d: e\n"
              "        f: g\n  h: i\nj:\n",
              "{\"a\":{\"b\":{\"c\":[1,[2,3],null,{\"d\":\"e\",\"f\":\"g\"}]},\"h\":\"i\"},"
              "\"j\":null}");
    parses_as("", "null");
    parses_as("# only a comment\n\n", "null");
    parses_as("---\n", "null");
    parses_as("\xEF\xBB\xBF" "a: 1\r\nb:\r\n- x\r\n", "{\"a\":1,\"b\":[\"x\"]}");
    parses_as("just a scalar\n", "\"just a scalar\"");
    parses_as("- a\n- b: c\n  d: [e]\n", "[\"a\",{\"b\":\"c\",\"d\":[\"e\"]}]");
    /* a compact sequence under a key, followed by the next key */
    parses_as("a:\n- 1\n- 2\nb: 3\n", "{\"a\":[1,2],\"b\":3}");
    parses_as("k: \t v\t\n", "{\"k\":\"v\"}");
}

static void test_block_scalars(void **state)
{
    (void)state;
    parses_as("a: |\n  line 1\n    more\n\n  line 3\nb: |-\n  stripped\n"
              "c: >\n  folded\n  text\n\n  para\nd: |+\n  kept\n\ne: x\n",
              "{\"a\":\"line 1\\n  more\\n\\nline 3\\n\",\"b\":\"stripped\","
              "\"c\":\"folded text\\npara\\n\",\"d\":\"kept\\n\\n\",\"e\":\"x\"}");
    parses_as("- |\n  one\n- two\n", "[\"one\\n\",\"two\"]");
    parses_as("a: |\nb: 1\n", "{\"a\":\"\",\"b\":1}");
}

static void test_refusals(void **state)
{
    (void)state;
    refused("a: 1\nb: &x 2\n", "line 2: anchors (&) are not supported");
    refused("a: 1\nb: *x\n", "line 2: aliases (*) are not supported");
    refused("a: !!str 1\n", "line 1: tags (!) are not supported");
    refused("%YAML 1.2\n---\na: 1\n", "line 1: directives (%) are not supported");
    refused("? a\n: b\n", "line 1: complex keys (?) are not supported");
    refused("a: 1\n---\nb: 2\n", "line 2: multiple documents are not supported");
    refused("a:\n\tb: 1\n", "line 2: tab character in indentation (indent with spaces)");
    refused("a: 1\nb: 2\na: 3\n", "line 3: duplicate key \"a\"");
    refused("{\"a\": 1, \"a\": 2}", "line 1: duplicate key \"a\"");
    refused("a: b: c\n", "line 1: ': ' inside a plain value (quote the value)");
    refused("a: one\n  two\n", "line 2: unexpected indentation (a multi-line plain value? quote it)");
    refused("a:\n  b: 1\n c: 2\n", "line 3: unexpected indentation");
    refused("a: - b\n", "line 1: a block sequence cannot start on the same line as its key");
    refused("a: 1\n- b\n", "line 2: a sequence item where a mapping key was expected");
    refused("- a\nb: 1\n", "line 2: unexpected content after the document");
    refused("a: \"open\nb: 1\n", "line 3: unterminated double-quoted string (opened on line 1)");
    refused("a: [1, 2\n", "line 2: unterminated '[' (opened on line 1)");
    refused("a: {b: 1\n\n", "line 3: unterminated '{' (opened on line 1)");
    refused("a: [b: 1]\n", "line 1: mappings inside a flow sequence must be written as {key: value}");
    refused("a: \"\\q\"\n", "line 1: unknown escape \\'q' in a double-quoted string");
    refused("a: \"\\u00\"\n", "line 1: escape '\\u' needs 4 hex digits");
    refused("a: \"\\ud800\"\n", "line 1: unpaired surrogate \\uD800 in a double-quoted string");
    refused("a: \"\\0\"\n", "line 1: NUL characters (\\0) are not supported in strings");
    refused("a: 1\nb: \"x\" y\n", "line 2: unexpected 'y' after the value");
    refused("a: 1\nb: \xff\n", "line 2: invalid UTF-8");
    refused("a: 1\n\nb: \x01\n", "line 3: control character 0x01 is not allowed");
    refused("a: @x\n", "line 1: '@' is a reserved indicator (quote the value)");
    refused("a: 1\n...\nb: 2\n", "line 3: content after the end of the document (\"...\")");
    refused("--- a: 1\n", "line 1: content on a document marker line is not supported (start it "
                          "on the next line)");
    refused("a: |x\n  t\n", "line 1: unexpected text after a block scalar header");
    refused("{[1]: 2}", "line 1: only scalar mapping keys are supported");
    refused("  : x\n", "line 1: a mapping key is missing before ':'");
}

/* A NUL byte inside the input is refused too (the length, not a terminator, bounds it). */
static void test_nul_byte(void **state)
{
    (void)state;
    char err[128] = "";
    assert_null(yaml_parse("a: 1\nb: \0\n", 10, err, sizeof(err)));
    assert_string_equal(err, "line 2: control character 0x00 is not allowed");
    /* the name variant */
    assert_null(yaml_parse_named("a: 1\na: 2\n", 10, "/tmp/kc", err, sizeof(err)));
    assert_string_equal(err, "/tmp/kc:2: duplicate key \"a\"");
    /* a short error buffer is filled, not overrun; a NULL one is allowed */
    char tiny[8];
    assert_null(yaml_parse("a: &x", 5, tiny, sizeof(tiny)));
    assert_string_equal(tiny, "line 1:");
    assert_null(yaml_parse("a: &x", 5, NULL, 0));
}

static void test_depth_bound(void **state)
{
    (void)state;
    char buf[8192];
    char err[256];
    /* block: 32 nested mappings parse, 33 do not */
    for (int depth = 32; depth <= 33; depth++) {
        size_t n = 0;
        for (int d = 0; d < depth; d++) {
            for (int s = 0; s < d; s++)
                buf[n++] = ' ';
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k:\n");
        }
        n -= 1; /* the last key gets a value */
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " v\n");
        json_t *v = yaml_parse(buf, n, err, sizeof(err));
        if (depth == 32) {
            assert_non_null(v);
            json_decref(v);
        } else {
            assert_null(v);
            assert_string_equal(err, "line 33: nesting deeper than 32 levels");
        }
    }
    /* flow: 32 '[' parse, 33 do not; a huge nesting is refused without deep recursion */
    for (int depth = 32; depth <= 33; depth++) {
        memset(buf, '[', (size_t)depth);
        memset(buf + depth, ']', (size_t)depth);
        json_t *v = yaml_parse(buf, (size_t)depth * 2, err, sizeof(err));
        if (depth == 32) {
            assert_non_null(v);
            json_decref(v);
        } else {
            assert_null(v);
            assert_string_equal(err, "line 1: nesting deeper than 32 levels");
        }
    }
    memset(buf, '[', sizeof(buf));
    assert_null(yaml_parse(buf, sizeof(buf), err, sizeof(err)));
    assert_string_equal(err, "line 1: nesting deeper than 32 levels");
    /* sequences of sequences count too */
    memset(buf, 0, sizeof(buf));
    size_t n = 0;
    for (int d = 0; d < 40; d++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "- ");
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "x\n");
    assert_null(yaml_parse(buf, n, err, sizeof(err)));
    assert_string_equal(err, "line 1: nesting deeper than 32 levels");
}

static void test_size_bound(void **state)
{
    (void)state;
    size_t n = YAML_MAX_INPUT + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    char err[128];
    assert_null(yaml_parse(big, n, err, sizeof(err)));
    assert_string_equal(err, "line 1: input is larger than 1048576 bytes");
    /* exactly the limit is fine */
    big[0] = 'a';
    big[1] = ':';
    big[2] = ' ';
    memset(big + 3, 'x', YAML_MAX_INPUT - 4);
    big[YAML_MAX_INPUT - 1] = '\n';
    json_t *v = yaml_parse(big, YAML_MAX_INPUT, err, sizeof(err));
    assert_non_null(v);
    assert_int_equal(json_string_length(json_object_get(v, "a")), YAML_MAX_INPUT - 4);
    json_decref(v);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubectl),
        cmocka_unit_test(test_minikube),
        cmocka_unit_test(test_indented_sequences),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_nesting_and_empty),
        cmocka_unit_test(test_block_scalars),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_size_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
