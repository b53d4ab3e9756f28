/* net_addr.c — bind address resolution (see net_addr.h). */
#include "net_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

int net_addr_resolve(const struct bind_address *b, struct sockaddr_storage *addr, socklen_t *len,
                     char *err, size_t errlen)
{
    const char *host = b->host;
    memset(addr, 0, sizeof(*addr));

    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)b->port);
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof(*in);
        return 0;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)b->port);
        *len = sizeof(*in4);
        return 0;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)b->port);
        *len = sizeof(*in6);
        return 0;
    }
    snprintf(err, errlen, "bind address \"%s\" is not an IP address (use an IPv4 or IPv6 literal, localhost, or leave it empty)", b->host);
    return -1;
}
