/* memo.h — what the controller remembers between reconciles, in memory: a thread-safe map
 * from a key ("namespace/name/...") to a JSON value, one per kind of memory (the passwords a
 * cluster's servers accept, the config applied to each pod, the warnings already given). Lost
 * when the process ends: each user says what happens then. Grows with the keys set; the
 * reconcile of a deleted cluster forgets its keys (memo_forget_prefix). */
#ifndef GUNGNIR_MEMO_H
#define GUNGNIR_MEMO_H

#include <jansson.h>
#include <pthread.h>

struct memo {
    pthread_mutex_t lock;
    json_t *map; /* made on first use */
};

#define MEMO_INIT {PTHREAD_MUTEX_INITIALIZER, NULL}

/* The value of key: a new reference, or NULL. */
json_t *memo_get(struct memo *m, const char *key);

/* Sets key to value (stolen). Returns 0, or -1 when out of memory (nothing is remembered). */
int memo_set(struct memo *m, const char *key, json_t *value);

/* Forgets key. */
void memo_forget(struct memo *m, const char *key);

/* Forgets every key that starts with prefix. */
void memo_forget_prefix(struct memo *m, const char *prefix);

#endif
