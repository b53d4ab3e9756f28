/* fuzz_admission.c — libFuzzer target for the AdmissionReview decoder and the whole rule
 * engine (Defaulter, Validator, JSON Patch, encoder): any byte string goes through both
 * webhook handlers; the answer must be produced and freed, whatever the input. */
#include "admit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct admit_answer a;

    admit_mutate((const char *)data, size, &a);
    if (!a.body || (a.http_status != 200 && a.http_status != 400 && a.http_status != 500))
        abort();
    free(a.body);

    admit_validate((const char *)data, size, &a);
    if (!a.body || (a.http_status != 200 && a.http_status != 400 && a.http_status != 500))
        abort();
    free(a.body);
    return 0;
}
