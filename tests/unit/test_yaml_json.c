/* test_yaml_json.c — unit tests for controller/yaml_json.c (libyaml to a jansson tree). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_json.h"

/* Loads yaml (len bytes) and checks it equals the JSON text want. */
static void loads_as_n(const char *yaml, size_t len, const char *want)
{
    char err[512] = "";
    json_t *got = yaml_json_load(yaml, len, NULL, err, sizeof(err));
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

static void loads_as(const char *yaml, const char *want) { loads_as_n(yaml, strlen(yaml), want); }

/* Loads yaml, expecting failure with exactly msg. */
static void refused(const char *yaml, const char *msg)
{
    char err[512] = "";
    json_t *got = yaml_json_load(yaml, strlen(yaml), NULL, err, sizeof(err));
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

/* As kubectl writes it (block style, sequences at the key's indentation). */
static void test_kubectl(void **state)
{
    (void)state;
    loads_as("apiVersion: v1\n"
             "clusters:\n"
             "- cluster:\n"
             "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
             "    server: https://127.0.0.1:43210\n"
             "  name: kind-kind\n"
             "contexts:\n"
             "- context:\n"
             "    cluster: kind-kind\n"
             "    user: kind-kind\n"
             "  name: kind-kind\n"
             "current-context: kind-kind\n"
             "kind: Config\n"
             "preferences: {}\n"
             "users:\n"
             "- name: kind-kind\n"
             "  user:\n"
             "    token: abc.def\n",
             "{\"apiVersion\":\"v1\",\"clusters\":[{\"cluster\":{\"certificate-authority-data\":"
             "\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\",\"server\":\"https://127.0.0.1:43210\"},"
             "\"name\":\"kind-kind\"}],\"contexts\":[{\"context\":{\"cluster\":\"kind-kind\","
             "\"user\":\"kind-kind\"},\"name\":\"kind-kind\"}],\"current-context\":\"kind-kind\","
             "\"kind\":\"Config\",\"preferences\":{},\"users\":[{\"name\":\"kind-kind\",\"user\":"
             "{\"token\":\"abc.def\"}}]}");
}

/* Indented sequences, comments, document markers, extensions with ':' and ',' in values,
 * CRLF line ends and a byte order mark. */
static void test_block_style(void **state)
{
    (void)state;
    loads_as("%YAML 1.1\n"
             "---\n"
             "# written by a tool\n"
             "clusters:\n"
             "  - name: gke   # the cluster\n"
             "    cluster:\n"
             "      server: \"https://34.1.2.3\"\n"
             "      extensions:\n"
             "      - extension:\n"
             "          last-update: Mon, 01 Jan 2024 10:00:00 UTC\n"
             "        name: cluster_info\n"
             "\n"
             "  - name: other\n"
             "    cluster: {server: 'https://x'}\n"
             "users:\n"
             "...\n",
             "{\"clusters\":[{\"name\":\"gke\",\"cluster\":{\"server\":\"https://34.1.2.3\","
             "\"extensions\":[{\"extension\":{\"last-update\":\"Mon, 01 Jan 2024 10:00:00 UTC\"},"
             "\"name\":\"cluster_info\"}]}},{\"name\":\"other\",\"cluster\":{\"server\":"
             "\"https://x\"}}],\"users\":null}");
    loads_as("\xEF\xBB\xBF" "a: 1\r\nb:\r\n- x\r\n", "{\"a\":1,\"b\":[\"x\"]}");
    loads_as("", "null");
    loads_as("# only a comment\n\n", "null");
    loads_as("---\n", "null");
    loads_as("just a scalar\n", "\"just a scalar\"");
}

/* JSON is YAML: a JSON kubeconfig loads, and flow style in general. */
static void test_flow_and_json(void **state)
{
    (void)state;
    loads_as("{\n"
             "  \"kind\": \"Config\",\n"
             "  \"clusters\": [\n"
             "    {\"name\": \"c\", \"cluster\": {\"server\": \"https://h:6443\",\n"
             "      \"insecure-skip-tls-verify\": true}}\n"
             "  ],\n"
             "  \"n\": [1, -2, 0, 1.5, null, false, \"x\\u00e9\\U0001F600\\/\"],\n"
             "  \"empty\": {}, \"list\": []\n"
             "}\n",
             "{\"kind\":\"Config\",\"clusters\":[{\"name\":\"c\",\"cluster\":"
             "{\"server\":\"https://h:6443\",\"insecure-skip-tls-verify\":true}}],"
             "\"n\":[1,-2,0,\"1.5\",null,false,\"x\\u00e9\\ud83d\\ude00/\"],\"empty\":{},"
             "\"list\":[]}");
    loads_as("[1, [2, [3]], {a: b, 'c d': \"e\"},]", "[1,[2,[3]],{\"a\":\"b\",\"c d\":\"e\"}]");
    loads_as("users: [{name: u, user: {token: t}}]\n",
             "{\"users\":[{\"name\":\"u\",\"user\":{\"token\":\"t\"}}]}");
}

static void test_scalars(void **state)
{
    (void)state;
    loads_as("a: true\nb: False\nc: TRUE\nd: null\ne: ~\nf:\ng: 42\nh: -7\ni: 0\n"
             "j: 007\nk: 1.5\nl: 1e3\nm: 99999999999999999999\nn: -9223372036854775808\n"
             "o: \"true\"\np: '42'\nq: yes\nr: +1\ns: -0\nt: !!str 5\nu: ! true\nv: ''\n",
             "{\"a\":true,\"b\":false,\"c\":true,\"d\":null,\"e\":null,\"f\":null,\"g\":42,"
             "\"h\":-7,\"i\":0,\"j\":\"007\",\"k\":\"1.5\",\"l\":\"1e3\","
             "\"m\":\"99999999999999999999\",\"n\":-9223372036854775808,\"o\":\"true\","
             "\"p\":\"42\",\"q\":\"yes\",\"r\":\"+1\",\"s\":\"-0\",\"t\":\"5\",\"u\":\"true\","
             "\"v\":\"\"}");
    /* keys are their text */
    loads_as("1: a\ntrue: b\n~: c\n", "{\"1\":\"a\",\"true\":\"b\",\"~\":\"c\"}");
}

/* Quoted values, multi-line quoted values, block literals and folded blocks. */
static void test_multiline_and_quoting(void **state)
{
    (void)state;
    loads_as("a: 'it''s # not a comment'\n"
             "b: \"tab\\there \\\"q\\\" \\\\ \\x41 \\u00e9 \\U0001F600 \\/ \\N\"\n"
             "c: plain with spaces   # comment\n"
             "d: a#b\n"
             "e: \"multi\n  line\n\n  folded\"\n"
             "f: 'x\n   y'\n"
             "g: \"joined\\\n   here\"\n"
             "\"quoted key\": 1\n"
             "h: http://host:80/path\n"
             "i: plain\n  continued\n",
             "{\"a\":\"it's # not a comment\","
             "\"b\":\"tab\\there \\\"q\\\" \\\\ A \\u00e9 \\ud83d\\ude00 / \\u0085\","
             "\"c\":\"plain with spaces\",\"d\":\"a#b\",\"e\":\"multi line\\nfolded\","
             "\"f\":\"x y\",\"g\":\"joinedhere\",\"quoted key\":1,"
             "\"h\":\"http://host:80/path\",\"i\":\"plain continued\"}");
    loads_as("a: |\n  line 1\n    more\n\n  line 3\nb: |-\n  stripped\n"
             "c: >\n  folded\n  text\n\n  para\nd: |+\n  kept\n\ne: x\n",
             "{\"a\":\"line 1\\n  more\\n\\nline 3\\n\",\"b\":\"stripped\","
             "\"c\":\"folded text\\npara\\n\",\"d\":\"kept\\n\\n\",\"e\":\"x\"}");
    loads_as("- |\n  one\n- >-\n  two\n  three\n", "[\"one\\n\",\"two three\"]");
    /* a NUL written as an escape stays in the string (the caller decides) */
    json_t *v = yaml_json_load("a: \"x\\0y\"\n", 10, NULL, NULL, 0);
    assert_non_null(v);
    assert_int_equal(json_string_length(json_object_get(v, "a")), 3);
    assert_memory_equal(json_string_value(json_object_get(v, "a")), "x\0y", 3);
    json_decref(v);
}

/* Anchors, aliases and merge keys. */
static void test_anchors(void **state)
{
    (void)state;
    loads_as("base: &b {server: https://h, insecure-skip-tls-verify: true}\n"
             "name: &n lab\n"
             "copy: *b\n"
             "names: [*n, *n]\n"
             "list: &l [1, 2]\n"
             "again: *l\n",
             "{\"base\":{\"server\":\"https://h\",\"insecure-skip-tls-verify\":true},"
             "\"name\":\"lab\",\"copy\":{\"server\":\"https://h\",\"insecure-skip-tls-verify\":"
             "true},\"names\":[\"lab\",\"lab\"],\"list\":[1,2],\"again\":[1,2]}");
    /* merge: the mapping's own keys win, whatever their place; earlier merged maps win */
    loads_as("a: &a {x: 1, y: 1}\n"
             "b: &b {y: 2, z: 2}\n"
             "c:\n  y: 0\n  <<: *a\n"
             "d:\n  <<: [*b, *a]\n  w: 3\n"
             "e: {<<: {k: v}}\n"
             "f: {\"<<\": *a}\n",
             "{\"a\":{\"x\":1,\"y\":1},\"b\":{\"y\":2,\"z\":2},\"c\":{\"y\":0,\"x\":1},"
             "\"d\":{\"w\":3,\"y\":2,\"z\":2,\"x\":1},\"e\":{\"k\":\"v\"},"
             "\"f\":{\"<<\":{\"x\":1,\"y\":1}}}");
    /* an anchor may be defined again; an alias names the last one before it */
    loads_as("- &a 1\n- *a\n- &a 2\n- *a\n", "[1,1,2,2]");
    refused("a: *nope\n", "line 1: alias *nope names no anchor defined before it");
    refused("a: &x [1, *x]\n", "line 1: alias *x names no anchor defined before it");
    refused("a: &k x\n*k : y\n", "line 2: aliases are not supported as mapping keys");
    refused("a: 1\nb:\n  <<: 5\n", "line 3: the merge key (<<) takes a mapping or a list of "
                                    "mappings");
    refused("a: &a [1]\nb:\n  <<: [*a]\n", "line 3: the merge key (<<) takes a mapping or a "
                                           "list of mappings; item 0 is not a mapping");
}

/* "Billion laughs": each level names the previous one ten times. Nine levels are a billion
 * nodes when expanded; the bound stops the document after about a million. */
static void test_alias_bomb(void **state)
{
    (void)state;
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s*a%d", k ? ", " : "", i - 1);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]\n");
    }
    char err[512];
    assert_null(yaml_json_load(buf, n, NULL, err, sizeof(err)));
    assert_string_equal(err, "line 6: the document expands to more than 1048576 nodes (aliases "
                             "are counted as copies of what they name)");

    /* the same through merge keys */
    n = (size_t)snprintf(buf, sizeof(buf), "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5}\n");
    for (int i = 1; i < 12; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                              "m%d: &m%d {<<: [*m%d], k: [*m%d, *m%d, *m%d, *m%d, *m%d]}\n", i, i,
                              i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    assert_null(yaml_json_load(buf, n, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "the document expands to more than 1048576 nodes"));

    /* four levels (10^4 nodes) are fine */
    n = (size_t)snprintf(buf, sizeof(buf), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 4; i++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s*a%d", k ? ", " : "", i - 1);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]\n");
    }
    json_t *v = yaml_json_load(buf, n, NULL, err, sizeof(err));
    assert_non_null(v);
    assert_int_equal(json_array_size(json_array_get(json_object_get(v, "a3"), 9)), 10);
    json_decref(v);
}

/* Syntax errors carry the line libyaml reports; with a name, "NAME:LINE:". */
static void test_syntax_errors(void **state)
{
    (void)state;
    refused("a: 1\nb: [1, 2\nc: 3\n",
            "line 3: did not find expected ',' or ']' (while parsing a flow sequence on line 2)");
    refused("a: 1\nb: c: d\n", "line 2: mapping values are not allowed in this context");
    refused("a:\n\tb: 1\n",
            "line 2: found character that cannot start any token (while scanning for the next "
            "token)");
    refused("a: \"open\nb: 1\n",
            "line 3: found unexpected end of stream (while scanning a quoted scalar on line 1)");
    refused("x:\n  - a\n - b\n",
            "line 3: did not find expected key (while parsing a block mapping on line 1)");
    refused("a: 1\nb: \xff\n", "line 2: invalid leading UTF-8 octet (byte 0xff)");
    refused("a: 1\n\nb: \x01\n", "line 3: control characters are not allowed (byte 0x01)");

    char err[256];
    assert_null(yaml_json_load("a: 1\n\nb: [\n", 11, "/tmp/kc", err, sizeof(err)));
    assert_string_equal(err, "/tmp/kc:4: did not find expected node content (while parsing a "
                             "flow node)");
    /* a NUL byte in the input (the length, not a terminator, bounds it) */
    assert_null(yaml_json_load("a: 1\nb: \0\n", 10, NULL, err, sizeof(err)));
    assert_string_equal(err, "line 2: control characters are not allowed (byte 0x00)");
    /* a short error buffer is filled, not overrun; a NULL one is allowed */
    char tiny[8];
    assert_null(yaml_json_load("a: *x", 5, NULL, tiny, sizeof(tiny)));
    assert_string_equal(tiny, "line 1:");
    assert_null(yaml_json_load("a: *x", 5, NULL, NULL, 0));
}

/* What the reader refuses on top of the parser. */
static void test_refusals(void **state)
{
    (void)state;
    refused("a: 1\n---\nb: 2\n", "line 2: a second document (\"---\"): one document is supported");
    refused("a: 1\nb: 2\na: 3\n", "line 3: duplicate key \"a\"");
    refused("{\"a\": 1, \"a\": 2}", "line 1: duplicate key \"a\"");
    refused("? [a]\n: b\n", "line 1: only scalar mapping keys are supported");
    refused("{[1]: 2}", "line 1: only scalar mapping keys are supported");
    /* libyaml takes \u escapes as code points: JSON's surrogate pairs are refused */
    refused("{\"a\": \"\\ud83d\\ude00\"}",
            "line 1: found invalid Unicode character escape code (while parsing a quoted "
            "scalar)");
    refused("a: !!int 3\n", "line 1: tag !!int is not supported here (only !!str, !!map and !!seq "
                            "are)");
    refused("a: !!str [1]\n", "line 1: tag !!str is not supported here (only !!str, !!map and "
                              "!!seq are)");
    refused("a: !custom x\n", "line 1: tag !custom is not supported here (only !!str, !!map and "
                              "!!seq are)");
    refused("\"k\\0\": 1\n", "line 1: a mapping key holds a NUL character");
    loads_as("a: !!map {b: !!seq [c]}\n", "{\"a\":{\"b\":[\"c\"]}}");
}

static void test_depth_bound(void **state)
{
    (void)state;
    char buf[8192];
    char err[256];
    /* flow: 64 '[' load, 65 do not */
    for (int depth = 64; depth <= 65; depth++) {
        memset(buf, '[', (size_t)depth);
        memset(buf + depth, ']', (size_t)depth);
        json_t *v = yaml_json_load(buf, (size_t)depth * 2, NULL, err, sizeof(err));
        if (depth == 64) {
            assert_non_null(v);
            json_decref(v);
        } else {
            assert_null(v);
            assert_string_equal(err, "line 1: nesting deeper than 64 levels");
        }
    }
    /* a huge nesting is refused at the bound, without reading further */
    memset(buf, '[', sizeof(buf));
    assert_null(yaml_json_load(buf, sizeof(buf), NULL, err, sizeof(err)));
    assert_string_equal(err, "line 1: nesting deeper than 64 levels");
    /* block mappings count too */
    size_t n = 0;
    for (int d = 0; d < 70; d++) {
        for (int s = 0; s < d; s++)
            buf[n++] = ' ';
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k:\n");
    }
    assert_null(yaml_json_load(buf, n, NULL, err, sizeof(err)));
    assert_string_equal(err, "line 65: nesting deeper than 64 levels");
}

static void test_size_bound(void **state)
{
    (void)state;
    size_t n = YAML_JSON_MAX_INPUT + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    char err[128];
    assert_null(yaml_json_load(big, n, "/k", err, sizeof(err)));
    assert_string_equal(err, "/k:1: input is larger than 1048576 bytes");
    /* exactly the limit is fine */
    big[0] = 'a';
    big[1] = ':';
    big[2] = ' ';
    memset(big + 3, 'x', YAML_JSON_MAX_INPUT - 4);
    big[YAML_JSON_MAX_INPUT - 1] = '\n';
    json_t *v = yaml_json_load(big, YAML_JSON_MAX_INPUT, NULL, err, sizeof(err));
    assert_non_null(v);
    assert_int_equal(json_string_length(json_object_get(v, "a")), YAML_JSON_MAX_INPUT - 4);
    json_decref(v);
    /* a document without aliases that fills the limit stays under the node bound:
     * "[1,1,...,1,11]", half a million nodes */
    size_t k = (YAML_JSON_MAX_INPUT - 4) / 2;
    big[0] = '[';
    for (size_t i = 0; i < k; i++)
        memcpy(big + 1 + 2 * i, "1,", 2);
    memcpy(big + 1 + 2 * k, "11]", 3);
    v = yaml_json_load(big, YAML_JSON_MAX_INPUT, NULL, err, sizeof(err));
    if (!v)
        print_error("%s\n", err);
    assert_non_null(v);
    assert_int_equal(json_array_size(v), k + 1);
    json_decref(v);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubectl),
        cmocka_unit_test(test_block_style),
        cmocka_unit_test(test_flow_and_json),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_multiline_and_quoting),
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_size_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
