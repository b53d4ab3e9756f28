/* fuzz_valkey_info.c — libFuzzer target for the INFO reply parser (controller/valkey_info.c):
 * the reply comes from a server over the network, so no input may crash it, read past its
 * end or trip UBSan, and an accepted reply yields a well-formed struct. */
#include "valkey_info.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct valkey_info info;
    /* an exact-size heap copy with no NUL after it: ASan sees any over-read */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    memset(&info, 0xa5, sizeof(info));
    int rc = valkey_info_parse(text, size, &info);
    if (rc == 0) {
        if (!memchr(info.master_host, '\0', sizeof(info.master_host)) ||
            !memchr(info.replid, '\0', sizeof(info.replid)) ||
            !memchr(info.run_id, '\0', sizeof(info.run_id)))
            abort(); /* every string is terminated inside its buffer */
        if (info.master_port < 0 || info.master_port > 65535 || info.connected_replicas < 0 ||
            info.repl_offset < -1)
            abort();
        if (info.is_primary != true && info.is_primary != false)
            abort();
        /* the same bytes parse the same way */
        struct valkey_info again;
        if (valkey_info_parse(text, size, &again) != 0 || again.repl_offset != info.repl_offset ||
            strcmp(again.master_host, info.master_host) != 0)
            abort();
    } else if (rc != -1) {
        abort();
    }
    free(text);
    return 0;
}
