/* conf_keys.h — the one table of valkey.conf keys the operator renders itself, and for each
 * whether a user may set it in spec.config. The webhook's validation (vkc_validate.c) refuses
 * the owned keys with a field error; the controller's renderer (controller/desired.c) writes
 * its own line for a tunable key only when spec.config does not set it. A key that is in
 * neither list is the user's alone. */
#ifndef GUNGNIR_CONF_KEYS_H
#define GUNGNIR_CONF_KEYS_H

#include <stdbool.h>

enum conf_key_policy {
    CONF_KEY_OWNED,   /* the operator sets it; spec.config may not (Forbidden) */
    CONF_KEY_TUNABLE, /* the operator sets a default; spec.config may override it */
};

struct conf_key {
    const char *key;
    bool prefix;                 /* matches every key that starts with key ("tls-") */
    enum conf_key_policy policy;
    const char *instead;         /* OWNED: the spec field to use instead, or NULL */
    const char *why;             /* what the operator relies on it for (docs, tests) */
};

/* The rule for key (borrowed, static), or NULL when the key is the user's alone. */
const struct conf_key *conf_key_lookup(const char *key);

/* True when Valkey reads key only at start (it refuses CONFIG SET of it at run time, or it is a
 * directive rather than a config parameter): a change of it in spec.config is applied by a
 * rolling restart of the pods. Every other key of spec.config is applied live with CONFIG SET. */
bool conf_key_needs_restart(const char *key);

/* The whole table, for docs and tests: *n receives its length. */
const struct conf_key *conf_keys_all(unsigned *n);

#endif
