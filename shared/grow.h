/* grow.h — the one growable-array helper: tables that grow with the work instead of a fixed
 * cap that drops it. */
#ifndef GUNGNIR_GROW_H
#define GUNGNIR_GROW_H

#include <stddef.h>

/* Returns arr (may be NULL) grown to room for need elements of elem bytes — doubling from 16,
 * *cap updated —, arr itself when it has room already, or NULL when memory runs out or the size
 * would overflow (then arr and *cap are unchanged and arr is still the caller's). */
void *grow_array(void *arr, size_t *cap, size_t need, size_t elem);

#endif
