/* grow.c — see grow.h. */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / elem)
            return NULL;
        cap2 *= 2;
    }
    void *grown = realloc(arr, cap2 * elem);
    if (grown)
        *cap = cap2;
    return grown;
}
