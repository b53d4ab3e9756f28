/* valkey_info.h — parsing the INFO reply of a Valkey (or Redis) server: the replication and
 * server sections the controller acts on. Pure; the input is untrusted (fuzzed). */
#ifndef GUNGNIR_VALKEY_INFO_H
#define GUNGNIR_VALKEY_INFO_H

#include <stdbool.h>
#include <stddef.h>

#define VALKEY_INFO_HOST_MAX 256
#define VALKEY_INFO_ID_MAX 41 /* 40 hex characters and the NUL */

struct valkey_info {
    bool is_primary;                        /* role:master */
    char master_host[VALKEY_INFO_HOST_MAX]; /* replicas: master_host */
    int master_port;
    bool master_link_up;                    /* replicas: master_link_status:up */
    long long repl_offset;                  /* master_repl_offset (primary) or the replica's
                                               slave_repl_offset when present, else -1 */
    char replid[VALKEY_INFO_ID_MAX];        /* master_replid */
    char run_id[VALKEY_INFO_ID_MAX];        /* run_id (server section), "" if absent */
    int connected_replicas;                 /* connected_slaves */
};

/* Parses len bytes of INFO text ("key:value" lines, "# Section" headers, CRLF or LF).
 * Returns 0 and fills out, or -1 when the text has no role line or a field is malformed
 * (over-long host or id, a number out of range). Unknown keys are ignored. */
int valkey_info_parse(const char *text, size_t len, struct valkey_info *out);

#endif
