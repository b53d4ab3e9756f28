/* fuzz_kubeconfig.c — libFuzzer target for the YAML reader (libyaml to jansson) and the
 * kubeconfig loader: any byte string goes through yaml_json_load and kubeconfig_parse (with an
 * empty temporary directory as the base for relative paths, so nothing the input names by a
 * relative path exists). A success must give a usable config; a failure must leave a
 * message. */
#include "kubeconfig.h"
#include "yaml_json.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *base_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        memcpy(dir, "/tmp/fuzz_kubeconfig.XXXXXX", sizeof("/tmp/fuzz_kubeconfig.XXXXXX"));
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    err[0] = '\0';
    json_t *v = yaml_json_load((const char *)data, size, NULL, err, sizeof(err));
    if (!v && !err[0])
        abort();
    json_decref(v);

    struct kube_config c;
    err[0] = '\0';
    if (kubeconfig_parse((const char *)data, size, base_dir(), NULL, &c, err, sizeof(err)) == 0) {
        if (!c.server || !c.namespace || !c.context || strncmp(c.server, "http", 4) != 0)
            abort();
        if (!c.client_cert_pem != !c.client_key_pem)
            abort();
        kube_config_free(&c);
    } else if (!err[0] || c.server || c.namespace) {
        abort();
    }
    return 0;
}
