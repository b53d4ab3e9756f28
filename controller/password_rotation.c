/* password_rotation.c — see password_rotation.h. */
#include "password_rotation.h"
#include "clock.h"
#include "cluster_writes.h"
#include "desired.h"
#include "log.h"
#include "memo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* "namespace/name" -> {"known": the password every server was last seen to accept alone,
 * "since": when every server first accepted the Secret's new one too (monotonic ms; 0: not
 * yet)}. */
static struct memo book = MEMO_INIT;

/* The remembered password into buf ("" when none) and when the new one was first accepted
 * everywhere (0: not yet). */
static int64_t book_get(const struct cluster_ctx *c, char *buf, size_t size)
{
    char key[300];
    snprintf(key, sizeof(key), "%s/%s", c->ns, c->name);
    json_t *e = memo_get(&book, key);
    const char *p = json_string_value(json_object_get(e, "known"));
    int64_t since = (int64_t)json_integer_value(json_object_get(e, "since"));
    snprintf(buf, size, "%s", p ? p : "");
    json_decref(e);
    return since;
}

static void book_set(const struct cluster_ctx *c, const char *password, int64_t since)
{
    char key[300];
    snprintf(key, sizeof(key), "%s/%s", c->ns, c->name);
    if (memo_set(&book, key, json_pack("{s:s, s:I}", "known", password, "since", (json_int_t)since)) != 0)
        log_write(LOG_WARN, "out of memory: a rotation will need the pods restarted", "valkeycluster", c->name, NULL);
}

void password_rotation_forget(const char *ns, const char *name)
{
    char key[300];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    memo_forget(&book, key);
}

/* Adds the Secret's password on p's server, logged in with old. Returns 0 or -1. */
static int add_new_password(struct cluster_ctx *c, const struct pod_view *p, const char *old)
{
    char err[256];
    struct valkey_node *n = valkey_node_connect(p->ip, DESIRED_PORT, old, c->env->valkey_timeout_ms, err, sizeof(err));
    if (n)
        valkey_node_set_fence(n, c->env->fence);
    int rc = n && valkey_node_acl_add_password(n, c->password) == 0 &&
                     valkey_node_config_set(n, "masterauth", c->password) == 0
                 ? 0
                 : -1;
    if (rc != 0)
        log_write(LOG_WARN, "cannot add the new password", "pod", p->name, "error", n ? valkey_node_errstr(n) : err,
                  NULL);
    valkey_node_free(n);
    return rc;
}

/* Phase 1: every pod that refuses the Secret's password gets it added (primary first). */
static void add_where_refused(struct cluster_ctx *c, const char *old)
{
    size_t refused = 0, added = 0;
    struct pod_view *primary = cluster_labelled_primary(c);
    if (primary && primary->auth_refused) {
        refused++;
        added += add_new_password(c, primary, old) == 0;
    }
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        if (p == primary || !p->auth_refused)
            continue;
        refused++;
        added += add_new_password(c, p, old) == 0;
    }
    if (added > 0) {
        cluster_event(c, "Normal", "PasswordRotation",
                      "the auth Secret's password changed: %zu of %zu servers accept it now, alongside the old one",
                      added, refused);
        cluster_probe_pods(c); /* with the new password, which they accept now */
    }
}

/* Phase 2: once every pod accepts the Secret's password, the old one is dropped. Returns true
 * when every pod of the cluster was checked and accepts only the Secret's password. */
static bool drop_old_passwords(struct cluster_ctx *c, size_t *dropped)
{
    bool all = c->npods > 0 && (int64_t)c->npods >= c->spec.replicas;
    for (size_t i = 0; i < c->npods; i++) {
        struct pod_view *p = &c->pods[i];
        char err[256];
        if (!p->probed) {
            all = false;
            continue;
        }
        struct valkey_node *n = cluster_connect_pod(c, p);
        int only = n ? valkey_node_password_is_only(n, c->password) : -1;
        if (only == 0 && (valkey_node_config_set(n, "requirepass", c->password) != 0 ||
                          valkey_node_config_set(n, "masterauth", c->password) != 0))
            only = -1;
        else if (only == 0)
            (*dropped)++;
        if (only < 0) {
            snprintf(err, sizeof(err), "%s", n ? valkey_node_errstr(n) : "cannot connect");
            log_write(LOG_WARN, "cannot check or drop the old password", "pod", p->name, "error", err, NULL);
            all = false;
        }
        valkey_node_free(n);
    }
    return all;
}

void password_rotation_step(struct cluster_ctx *c)
{
    char old[CLUSTER_PASSWORD_LEN];
    bool refused = false;
    if (!c->spec.auth_enabled || !c->password[0])
        return;
    for (size_t i = 0; i < c->npods; i++)
        refused = refused || c->pods[i].auth_refused;
    int64_t since = book_get(c, old, sizeof(old));
    if (refused && old[0] && strcmp(old, c->password) != 0)
        add_where_refused(c, old);
    for (size_t i = 0; i < c->npods && refused; i++) {
        if (c->pods[i].auth_refused) {
            snprintf(c->blocked, sizeof(c->blocked),
                     "pod %s refuses the password of the auth Secret, and the operator does not know the one it "
                     "uses (it restarted since the Secret changed): delete the pods one at a time to restart "
                     "them with the new password",
                     c->pods[i].name);
            return;
        }
    }
    if (strcmp(old, c->password) == 0)
        return; /* settled: every server accepts only the Secret's password */
    if (old[0] && since == 0) {
        /* Every server accepts both now: clients have PASSWORD_OVERLAP_MS to move over. */
        book_set(c, old, clock_now_ms());
        return;
    }
    if (old[0] && clock_now_ms() - since < PASSWORD_OVERLAP_MS)
        return;
    size_t dropped = 0;
    if (drop_old_passwords(c, &dropped)) {
        book_set(c, c->password, 0);
        if (dropped > 0)
            cluster_event(c, "Normal", "PasswordRotated",
                          "every server accepts only the auth Secret's new password (%zu dropped the old one)", dropped);
    }
}
