/* test_kube_client.c — controller/kube_client.c against a real TLS server and a real HTTP
 * CONNECT proxy on loopback (python3, as the CI installs it; openssl makes the certificates).
 * The server's certificate names only "kubernetes" and "kubernetes.default.svc", not
 * 127.0.0.1, so a connection to 127.0.0.1 verifies only through tls_server_name. The server
 * answers every GET with what it saw: the SNI name, the Host header, the path, the
 * Authorization header, and the target of the proxy's last CONNECT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "file_read.h"
#include "kube_client.h"

static const char server_py[] =
    "import http.server, json, os, socket, ssl, sys, threading\n"
    "d = sys.argv[1]\n"
    "state = {'sni': None, 'connect': None}\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.load_cert_chain(d + '/srv.crt', d + '/srv.key')\n"
    "def on_sni(sock, name, c):\n"
    "    state['sni'] = name\n"
    "ctx.sni_callback = on_sni\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def do_GET(self):\n"
    "        if self.path.startswith('/watch-garbage'):\n"
    "            ev = lambda n: json.dumps({'type': 'ADDED', 'object': {'metadata': {'name': n}}}) + '\\n'\n"
    "            self.send_response(200)\n"
    "            self.send_header('Content-Type', 'application/json')\n"
    "            self.send_header('Connection', 'close')\n"
    "            self.end_headers()\n"
    "            self.wfile.write((ev('a') + '{\"type\": \"MODIFIED\", \"object\": {\"metadata\"\\n' + ev('b')).encode())\n"
    "            self.close_connection = True\n"
    "            return\n"
    "        b = json.dumps({'sni': state['sni'], 'host': self.headers.get('Host'),\n"
    "                        'path': self.path, 'auth': self.headers.get('Authorization'),\n"
    "                        'connect': state['connect']}).encode()\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Type', 'application/json')\n"
    "        self.send_header('Content-Length', str(len(b)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(b)\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n"
    "def pipe(a, b):\n"
    "    try:\n"
    "        while True:\n"
    "            x = a.recv(65536)\n"
    "            if not x:\n"
    "                break\n"
    "            b.sendall(x)\n"
    "    except OSError:\n"
    "        pass\n"
    "    for s in (a, b):\n"
    "        try:\n"
    "            s.shutdown(socket.SHUT_RDWR)\n"
    "        except OSError:\n"
    "            pass\n"
    "def tunnel(c):\n"
    "    f = c.makefile('rb')\n"
    "    line = f.readline().decode('latin-1').split()\n"
    "    while f.readline() not in (b'\\r\\n', b'\\n', b''):\n"
    "        pass\n"
    "    if len(line) < 2 or line[0] != 'CONNECT':\n"
    "        c.sendall(b'HTTP/1.1 405 Method Not Allowed\\r\\nContent-Length: 0\\r\\n\\r\\n')\n"
    "        c.close()\n"
    "        return\n"
    "    state['connect'] = line[1]\n"
    "    host, port = line[1].rsplit(':', 1)\n"
    "    try:\n"
    "        u = socket.create_connection((host.strip('[]'), int(port)), timeout=5)\n"
    "    except (OSError, ValueError):\n"
    "        c.sendall(b'HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\n\\r\\n')\n"
    "        c.close()\n"
    "        return\n"
    "    u.settimeout(None)\n"
    "    c.sendall(b'HTTP/1.1 200 Connection established\\r\\n\\r\\n')\n"
    "    threading.Thread(target=pipe, args=(u, c), daemon=True).start()\n"
    "    pipe(c, u)\n"
    "proxy = socket.socket()\n"
    "proxy.bind(('127.0.0.1', 0))\n"
    "proxy.listen(16)\n"
    "def proxy_loop():\n"
    "    while True:\n"
    "        c, _ = proxy.accept()\n"
    "        threading.Thread(target=tunnel, args=(c,), daemon=True).start()\n"
    "threading.Thread(target=proxy_loop, daemon=True).start()\n"
    "with open(d + '/ports.tmp', 'w') as f:\n"
    "    f.write('%d %d\\n' % (srv.server_address[1], proxy.getsockname()[1]))\n"
    "os.rename(d + '/ports.tmp', d + '/ports')\n"
    "srv.serve_forever()\n";

static char dir[256];
static pid_t server_pid = -1;
static int https_port, proxy_port;
static char *ca_pem;
static size_t ca_len;

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    /* the process environment must not route our connections */
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("http_proxy");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    snprintf(dir, sizeof(dir), "/tmp/test_kube_client.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout ca.key -out ca.crt -subj /CN=test-ca -days 2 "
             "-addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout srv.key -out srv.csr -subj /CN=kubernetes 2>/dev/null && "
             "printf 'subjectAltName=DNS:kubernetes,DNS:kubernetes.default.svc\\n"
             "extendedKeyUsage=serverAuth\\n' > ext.cnf && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile ext.cnf -out srv.crt 2>/dev/null",
             dir);
    if (sh(cmd) != 0) {
        fprintf(stderr, "test_kube_client: openssl could not make the certificates\n");
        return -1;
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    ca_pem = file_read(path, 1 << 20, &ca_len, NULL, 0);
    if (!ca_pem)
        return -1;

    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        execlp("python3", "python3", "-c", server_py, dir, (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof(path), "%s/ports", dir);
    for (int i = 0; i < 200; i++) { /* 10 s */
        char *ports = file_read(path, 100, NULL, NULL, 0);
        if (ports) {
            int ok = sscanf(ports, "%d %d", &https_port, &proxy_port) == 2;
            free(ports);
            if (ok)
                return 0;
        }
        int st;
        if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
            fprintf(stderr, "test_kube_client: the python3 server exited\n");
            server_pid = -1;
            return -1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "test_kube_client: the python3 server did not start\n");
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    free(ca_pem);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return sh(cmd);
}

/* A client for https://HOST:port (prefix appended) with the test CA. */
static struct kube_client *client(const char *host, const char *prefix, const char *name,
                                  const char *proxy)
{
    char server[256], err[512] = "";
    snprintf(server, sizeof(server), "https://%s:%d%s", host, https_port, prefix);
    struct kube_client_options o = {
        .server = server,
        .ca_pem = ca_pem,
        .ca_pem_len = ca_len,
        .tls_server_name = name,
        .proxy_url = proxy,
        .token = "tok",
        .connect_timeout_ms = 3000,
        .request_timeout_ms = 5000,
    };
    struct kube_client *c = kube_client_new(&o, err, sizeof(err));
    if (!c)
        print_error("kube_client_new: %s\n", err);
    assert_non_null(c);
    return c;
}

/* GETs path expecting 200; returns the server's answer (new reference). */
static json_t *get_ok(struct kube_client *c, const char *path)
{
    json_t *out = NULL;
    long code = kube_get(c, path, &out);
    if (code != 200)
        print_error("GET %s: %ld: %s\n", path, code, kube_client_errstr(c));
    assert_int_equal(code, 200);
    assert_non_null(out);
    return out;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

static void test_tls_server_name(void **state)
{
    (void)state;
    char host[64], want[512];

    /* 127.0.0.1 is not in the certificate: verified against the name, it is accepted */
    struct kube_client *c = client("127.0.0.1", "", "kubernetes", NULL);
    json_t *out = get_ok(c, "/api?x=1");
    assert_string_equal(str(out, "sni"), "kubernetes");
    snprintf(host, sizeof(host), "127.0.0.1:%d", https_port);
    assert_string_equal(str(out, "host"), host); /* the real authority, as kubectl sends it */
    assert_string_equal(str(out, "path"), "/api?x=1");
    assert_string_equal(str(out, "auth"), "Bearer tok");
    json_decref(out);
    out = get_ok(c, "/again"); /* the connection is reused */
    assert_string_equal(str(out, "path"), "/again");
    json_decref(out);
    kube_client_free(c);

    /* with a path prefix and another name of the certificate */
    c = client("127.0.0.1", "/prefix/", "kubernetes.default.svc", NULL);
    out = get_ok(c, "/api");
    assert_string_equal(str(out, "sni"), "kubernetes.default.svc");
    assert_string_equal(str(out, "path"), "/prefix/api");
    json_decref(out);
    kube_client_free(c);

    /* without the name, 127.0.0.1 does not match the certificate */
    c = client("127.0.0.1", "", NULL, NULL);
    assert_int_equal(kube_get(c, "/api", &out), -1);
    assert_null(out);
    assert_string_equal(kube_client_errstr(c), "GET /api: SSL: no alternative certificate "
                                               "subject name matches target host name "
                                               "'127.0.0.1'");
    kube_client_free(c);

    /* a name the certificate does not hold fails, and the message says which name */
    c = client("127.0.0.1", "", "wrong-name", NULL);
    assert_int_equal(kube_get(c, "/api", &out), -1);
    snprintf(want, sizeof(want),
             "GET /api: SSL: no alternative certificate subject name matches target host name "
             "'wrong-name' (the certificate is checked against tls-server-name \"wrong-name\")");
    assert_string_equal(kube_client_errstr(c), want);
    kube_client_free(c);

    /* a name that cannot be a host */
    char server[128], err[512];
    snprintf(server, sizeof(server), "https://127.0.0.1:%d", https_port);
    struct kube_client_options o = {.server = server, .tls_server_name = "a b"};
    assert_null(kube_client_new(&o, err, sizeof(err)));
    assert_string_equal(err, "tls-server-name \"a b\" is not a valid host name");
}

static void test_proxy(void **state)
{
    (void)state;
    char proxy[64], target[64];
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", proxy_port);
    snprintf(target, sizeof(target), "127.0.0.1:%d", https_port);

    /* the tunnel goes to the server's real host and port; TLS inside it checks the name */
    struct kube_client *c = client("127.0.0.1", "", "kubernetes", proxy);
    json_t *out = get_ok(c, "/via-proxy");
    assert_string_equal(str(out, "connect"), target);
    assert_string_equal(str(out, "sni"), "kubernetes");
    assert_string_equal(str(out, "path"), "/via-proxy");
    json_decref(out);
    kube_client_free(c);

    /* the kubeconfig's proxy wins over no_proxy in the environment */
    setenv("no_proxy", "*", 1);
    c = client("127.0.0.1", "", "kubernetes.default.svc", proxy);
    out = get_ok(c, "/no-proxy-env");
    assert_string_equal(str(out, "connect"), target);
    assert_string_equal(str(out, "sni"), "kubernetes.default.svc");
    json_decref(out);
    kube_client_free(c);
    unsetenv("no_proxy");

    /* a proxy that is not there: a transport error */
    c = client("127.0.0.1", "", "kubernetes", "http://127.0.0.1:1");
    assert_int_equal(kube_get(c, "/x", &out), -1);
    assert_non_null(strstr(kube_client_errstr(c), "GET /x: "));
    kube_client_free(c);

    /* schemes libcurl or kubectl would not handle as a proxy are refused up front */
    char server[128], err[512];
    snprintf(server, sizeof(server), "https://127.0.0.1:%d", https_port);
    struct kube_client_options o = {.server = server, .proxy_url = "ftp://proxy:21"};
    assert_null(kube_client_new(&o, err, sizeof(err)));
    assert_string_equal(err, "proxy URL \"ftp://proxy:21\": only http://, https:// and socks5:// "
                             "proxies are supported");
    o.proxy_url = "socks5://127.0.0.1:1"; /* accepted (as socks5h); nothing listens there */
    c = kube_client_new(&o, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(kube_get(c, "/x", &out), -1);
    kube_client_free(c);
}

static void test_token_file(void **state)
{
    (void)state;
    char path[512], server[128], err[512], want[700];
    snprintf(server, sizeof(server), "https://127.0.0.1:%d", https_port);
    snprintf(path, sizeof(path), "%s/token", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("  file-token\n", f);
    fclose(f);
    struct kube_client_options o = {.server = server, .ca_pem = ca_pem, .ca_pem_len = ca_len,
                                    .tls_server_name = "kubernetes", .token_file = path};
    struct kube_client *c = kube_client_new(&o, err, sizeof(err));
    assert_non_null(c);
    json_t *out = get_ok(c, "/t");
    assert_string_equal(str(out, "auth"), "Bearer file-token");
    json_decref(out);
    kube_client_free(c);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("bad\r\nX-Injected: 1\n", f);
    fclose(f);
    assert_null(kube_client_new(&o, err, sizeof(err)));
    snprintf(want, sizeof(want), "the token file %s holds a control character (at byte 3)", path);
    assert_string_equal(err, want);

    snprintf(path, sizeof(path), "%s/missing-token", dir);
    assert_null(kube_client_new(&o, err, sizeof(err)));
    snprintf(want, sizeof(want), "cannot read the token file %s: No such file or directory", path);
    assert_string_equal(err, want);
}

/* What a watch callback saw: "ADDED:a", "ERROR:500", ... one per line. */
struct seen {
    char text[512];
};

static int record_event(void *ctx, const char *type, json_t *obj)
{
    struct seen *s = ctx;
    char item[128];
    if (strcmp(type, "ERROR") == 0)
        snprintf(item, sizeof(item), "ERROR:%lld\n", (long long)json_integer_value(json_object_get(obj, "code")));
    else
        snprintf(item, sizeof(item), "%s:%s\n", type,
                 json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")));
    strncat(s->text, item, sizeof(s->text) - strlen(s->text) - 1);
    return strcmp(type, "ERROR") == 0; /* as the informer does: an ERROR ends the watch */
}

static void test_a_watch_line_that_does_not_parse_is_an_error_not_skipped(void **state)
{
    (void)state;
    struct kube_client *c = client("127.0.0.1", "", "kubernetes", NULL);
    struct seen s = {""};
    long code = kube_watch(c, "/watch-garbage?watch=1", 10, record_event, &s);
    /* The event after the broken line must not be taken as if nothing was lost: the caller
     * hears of the loss (an ERROR, so the informer lists again) and the watch ends. */
    assert_string_equal(s.text, "ADDED:a\nERROR:500\n");
    assert_int_equal(code, -1);
    kube_client_free(c);
}

static void test_query_escape(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(kube_query_escape("app.kubernetes.io/managed-by=gungnir,a!=b", buf,
                                       sizeof(buf)),
                     0);
    assert_string_equal(buf, "app.kubernetes.io%2Fmanaged-by%3Dgungnir%2Ca%21%3Db");
    assert_int_equal(kube_query_escape("a b~_-.\xc3\xa9", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "a%20b~_-.%C3%A9");
    assert_int_equal(kube_query_escape("", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    /* bounded: "a/b" needs 6 bytes with its NUL */
    assert_int_equal(kube_query_escape("a/b", buf, 6), 0);
    assert_string_equal(buf, "a%2Fb");
    assert_int_equal(kube_query_escape("a/b", buf, 5), -1);
    assert_int_equal(kube_query_escape("a", buf, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_server_name),
        cmocka_unit_test(test_proxy),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_a_watch_line_that_does_not_parse_is_an_error_not_skipped),
        cmocka_unit_test(test_query_escape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
