/* memo.c — see memo.h. */
#include "memo.h"

#include <string.h>

json_t *memo_get(struct memo *m, const char *key)
{
    pthread_mutex_lock(&m->lock);
    json_t *v = json_incref(json_object_get(m->map, key));
    pthread_mutex_unlock(&m->lock);
    return v;
}

int memo_set(struct memo *m, const char *key, json_t *value)
{
    int rc = -1;
    pthread_mutex_lock(&m->lock);
    if (!m->map)
        m->map = json_object();
    if (m->map && value)
        rc = json_object_set_new(m->map, key, value);
    else
        json_decref(value);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void memo_forget(struct memo *m, const char *key)
{
    pthread_mutex_lock(&m->lock);
    json_object_del(m->map, key);
    pthread_mutex_unlock(&m->lock);
}

void memo_forget_prefix(struct memo *m, const char *prefix)
{
    const char *key;
    json_t *v;
    void *tmp;
    size_t n = strlen(prefix);
    pthread_mutex_lock(&m->lock);
    json_object_foreach_safe(m->map, tmp, key, v)
    {
        if (strncmp(key, prefix, n) == 0)
            json_object_del(m->map, key);
    }
    pthread_mutex_unlock(&m->lock);
}
