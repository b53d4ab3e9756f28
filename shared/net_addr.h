/* net_addr.h — turns a configured bind address into a socket address. */
#ifndef GUNGNIR_NET_ADDR_H
#define GUNGNIR_NET_ADDR_H

#include "config.h"

#include <stddef.h>
#include <sys/socket.h>

/* Resolves b: an IPv4 or IPv6 literal, "localhost" (127.0.0.1), or "" / "0.0.0.0" for every
 * IPv4 address. No DNS lookups. Returns 0 with addr/len filled, or -1 with the reason in err. */
int net_addr_resolve(const struct bind_address *b, struct sockaddr_storage *addr, socklen_t *len,
                     char *err, size_t errlen);

#endif
