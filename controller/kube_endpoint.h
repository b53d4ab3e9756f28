/* kube_endpoint.h — the checks on where the API server is, shared by the kubeconfig
 * (kubeconfig.h) and the in-cluster config (incluster_config.h): the server URL, the
 * tls-server-name, the proxy-url and the namespace name. Every message starts with `what`
 * (the entry it came from, e.g. "cluster \"kind\"") and is written, bounded, to msg. */
#ifndef GUNGNIR_KUBE_ENDPOINT_H
#define GUNGNIR_KUBE_ENDPOINT_H

#include "kubeconfig.h"

#include <stdbool.h>
#include <stddef.h>

/* Checks the server URL (url may be NULL: "server is missing"): https://, or http:// only for
 * localhost, 127.0.0.1 and [::1]; a host; an optional port 1-65535; no white space, '?', '#',
 * '@' or non-ASCII. On success out->server is set (owned by *out) to url without trailing
 * slashes. Returns 0, or -1 with msg set (out->server untouched). */
int kube_endpoint_server(const char *url, const char *what, struct kube_config *out,
                         char *msg, size_t msglen);

/* Checks tls-server-name (NULL: unset): a DNS name or an IPv4 address, as the name to check
 * in the server certificate. Returns 0 or -1 with msg set. */
int kube_endpoint_server_name(const char *name, const char *what, char *msg, size_t msglen);

/* Checks proxy-url (NULL: unset): http://, https:// or socks5:// (the schemes kubectl
 * supports) with a host. Returns 0 or -1 with msg set. */
int kube_endpoint_proxy_url(const char *url, const char *what, char *msg, size_t msglen);

/* Whether the n bytes at s are a port number 1-65535 (1 to 5 digits); if so *port is set. */
bool kube_endpoint_port(const char *s, size_t n, unsigned long *port);

/* Whether s is an RFC 1123 label, as namespace names are. */
bool kube_endpoint_is_dns_label(const char *s);

#endif
