/* kube_client.h — a small Kubernetes API client on libcurl (OpenSSL underneath).
 *
 * One client is one libcurl easy handle: the connection to the API server is kept open and
 * reused between requests. A client is not thread-safe; give each thread its own (they are
 * cheap). Errors are hiredis-style: a call returns -1 and kube_client_errstr() says why, in
 * words a user can act on ("GET /api/v1/pods: connection refused", or the API server's own
 * Status message for 4xx/5xx answers, which come back as their HTTP status, not as -1). */
#ifndef GUNGNIR_KUBE_CLIENT_H
#define GUNGNIR_KUBE_CLIENT_H

#include "fence.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define KUBE_BODY_MAX (64u * 1024u * 1024u) /* a larger answer is refused, not buffered */
#define KUBE_ERR_MAX 512

/* How to reach and authenticate to the API server. Strings are copied by kube_client_new. */
struct kube_client_options {
    const char *server;          /* "https://host:port" (no trailing slash) */
    const char *ca_pem;          /* CA bundle (PEM) or NULL for the system store */
    size_t ca_pem_len;
    const char *cert_pem;        /* client certificate (PEM) or NULL */
    size_t cert_pem_len;
    const char *key_pem;         /* its key (PEM) or NULL */
    size_t key_pem_len;
    const char *token;           /* bearer token, or NULL */
    const char *token_file;      /* re-read every KUBE_TOKEN_REREAD_S (projected tokens rotate) */
    const char *tls_server_name; /* SNI and the name the server certificate is verified against
                                  * when it differs from the server's host, or NULL. The
                                  * connection still goes to the server's host and port, and the
                                  * Host header names them (kubectl's tls-server-name). */
    const char *proxy_url;       /* http://, https:// or socks5:// proxy (user:password@ allowed;
                                  * socks5 resolves names at the proxy, as kubectl's does), or
                                  * NULL: then libcurl's https_proxy/no_proxy environment applies.
                                  * kube_client_new refuses any other scheme. */
    bool insecure;               /* skip server certificate verification (tests only) */
    long connect_timeout_ms;     /* 0: 5000 */
    long request_timeout_ms;     /* 0: 30000; a whole request (not a watch) */
    const char *user_agent;      /* NULL: "gungnir" */
};

#define KUBE_TOKEN_REREAD_S 60

struct kube_client;

/* Returns a new client, or NULL with a reason in err (an unparsable server URL, a bad
 * tls_server_name or proxy_url, an unreadable token file). Does not connect yet. A failed TLS
 * verification reads "METHOD path: <libcurl's detail> (the certificate is checked against
 * tls-server-name "NAME")" when tls_server_name is in use. */
struct kube_client *kube_client_new(const struct kube_client_options *opt, char *err, size_t errlen);

void kube_client_free(struct kube_client *c);

/* Makes every transfer of c give up (-1, "aborted") soon after *flag becomes true (checked
 * about once a second, and before each transfer). flag is borrowed; NULL removes it. */
void kube_client_set_abort_flag(struct kube_client *c, const atomic_int *flag);

/* Makes every request of c fail at once (-1, "aborted: not the leader") while f (borrowed; NULL:
 * none) is closed, checked before each request and during it (fence.h). */
void kube_client_set_fence(struct kube_client *c, const struct fence *f);

/* The last error (borrowed; "" when the last call succeeded). */
const char *kube_client_errstr(const struct kube_client *c);

/* Performs one request. path is the URL path and query ("/api/v1/namespaces/ns/pods?limit=500").
 * body (body_len bytes) may be NULL; content_type defaults to application/json.
 * Returns the HTTP status code and, when out is not NULL, sets *out to the decoded JSON answer
 * (new reference; NULL when the answer is empty or not JSON). For a status >= 400 the errstr
 * holds "METHOD path: <Status message> (<reason>, <code>)". Returns -1 on a transport failure
 * (connect, TLS, timeout, oversized or broken answer) with *out NULL. */
long kube_request(struct kube_client *c, const char *method, const char *path,
                  const char *content_type, const char *body, size_t body_len, json_t **out);

/* Shorthands: GET; and a JSON body serialized from a tree (borrowed). */
long kube_get(struct kube_client *c, const char *path, json_t **out);
long kube_send_json(struct kube_client *c, const char *method, const char *path,
                    const char *content_type, const json_t *body, json_t **out);

/* Called for each watch event: type is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; object is
 * borrowed (incref it to keep it). Return 0 to go on, non-zero to stop the watch. */
typedef int (*kube_watch_fn)(void *ctx, const char *type, json_t *object);

/* Streams a watch: GET path (which should carry "watch=1", resourceVersion and
 * timeoutSeconds) and calls fn for each event line as it arrives. Returns the HTTP status when
 * the server ends the stream (200 for a normal end), or -1 on a transport failure or when fn
 * asked to stop (errstr then says "stopped"). A watch that stays silent for more than
 * idle_timeout_s seconds is cut as dead (-1). An event that cannot be read (a line that is not
 * an event, or one over the line cap) is never skipped in silence: fn gets an "ERROR" event
 * with a Status of code 500 saying so, since events may have been lost. */
long kube_watch(struct kube_client *c, const char *path, long idle_timeout_s, kube_watch_fn fn,
                void *ctx);

/* Writes into buf the message of a Kubernetes Status object (borrowed): "message (reason, code)",
 * or a generic text when status is not one. Returns buf. */
const char *kube_status_message(const json_t *status, long http_code, char *buf, size_t size);

/* Percent-encodes s for a URL query value into buf (curl_easy_escape: everything but
 * A-Z a-z 0-9 - . _ ~). Returns 0, or -1 when it does not fit in size bytes with its NUL. */
int kube_query_escape(const char *s, char *buf, size_t size);

#endif
