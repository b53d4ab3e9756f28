/* quantity.h — Kubernetes resource quantities ("500m", "1.5Gi", "1e3", "12Mi"), parsed exactly.
 *
 * A quantity is held as a signed count of thousandths of its unit (milli-units), the precision
 * Kubernetes itself compares CPU at. Grammar (k8s.io/apimachinery resource.Quantity):
 *   quantity ::= sign? digits ("." digits?)? suffix?  |  sign? "." digits suffix?
 *   suffix   ::= binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (n u m "" k M G T P E)
 *              | decimalExponent ("e" or "E" followed by sign? digits)
 * A fraction finer than one thousandth is rounded up (as Kubernetes' MilliValue does). A value
 * whose milli-units do not fit in int64 (about 9.2e15 units, 8 PiB) is refused as too large. */
#ifndef GUNGNIR_QUANTITY_H
#define GUNGNIR_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

typedef struct quantity {
    int64_t milli; /* the value times 1000 */
} quantity_t;

/* Parses the NUL-terminated string s. Returns 0 and fills *q; or -1, *q untouched, with a
 * user-facing reason in err (for example "quantities must match the regular expression
 * '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" or "value is too large"). err may be NULL. */
int quantity_parse(const char *s, quantity_t *q, char *err, size_t errlen);

/* The value in whole units, rounded up (ceil): 500m -> 1, 1.5Gi -> 1610612736. */
int64_t quantity_value(quantity_t q);

/* -1, 0 or 1 as a is less than, equal to or greater than b. */
int quantity_cmp(quantity_t a, quantity_t b);

#endif
