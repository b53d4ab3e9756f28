/* fuzz_quantity.c — libFuzzer target for the Kubernetes quantity parser: no input may crash
 * it or trip UBSan, and an accepted value must compare equal to itself. */
#include "quantity.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[256];
    char err[160];
    quantity_t q;

    if (size >= sizeof(text))
        size = sizeof(text) - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    if (quantity_parse(text, &q, err, sizeof(err)) == 0) {
        if (quantity_cmp(q, q) != 0)
            abort();
        (void)quantity_value(q);
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    return 0;
}
