/* cert_store.c — serving certificate with hot reload (see cert_store.h). */
#include "cert_store.h"

#include "clock.h"
#include "file_read.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHAIN_MAX 8         /* certificates in tls.crt */
#define RETIRED_MAX 16      /* old pairs kept alive for handshakes that may still use them */
#define PEM_FILE_MAX (1 << 20)

struct key_pair {
    gnutls_pcert_st chain[CHAIN_MAX];
    unsigned int chain_len;
    gnutls_privkey_t key;
    time_t not_after;
};

struct file_sig {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct cert_store {
    char crt_path[1024];
    char key_path[1024];
    pthread_mutex_t lock;
    struct key_pair *current;
    struct key_pair *retired[RETIRED_MAX];
    size_t nretired;
    struct file_sig crt_sig, key_sig;
    pthread_t watcher;
    bool watching;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stop;
    int interval_s;
    metrics_series *m_expiry, *m_reload_ok, *m_reload_failed;
};

static struct cert_store *active;

static void pair_free(struct key_pair *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->chain_len; i++)
        gnutls_pcert_deinit(&p->chain[i]);
    if (p->key)
        gnutls_privkey_deinit(p->key);
    free(p);
}

/* Reads a whole PEM file (file_read: regular files of at most PEM_FILE_MAX bytes). Returns 0
 * with out->data a new buffer (free() it), or -1 with "PATH: reason" in err. */
static int read_file(const char *path, gnutls_datum_t *out, char *err, size_t errlen)
{
    size_t n;
    char *buf = file_read(path, PEM_FILE_MAX, &n, err, errlen);
    if (!buf)
        return -1;
    if (n == 0) {
        free(buf);
        snprintf(err, errlen, "%s: empty file", path);
        return -1;
    }
    out->data = (unsigned char *)buf;
    out->size = (unsigned int)n;
    return 0;
}

/* Compares the key IDs of the certificate's public key and the private key. */
static int key_matches(gnutls_pcert_st *leaf, gnutls_privkey_t key)
{
    unsigned char a[64], b[64];
    size_t alen = sizeof(a), blen = sizeof(b);
    gnutls_pubkey_t pub;
    int ok = 0;

    if (gnutls_pubkey_init(&pub) < 0)
        return 0;
    if (gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
        gnutls_pubkey_get_key_id(pub, 0, a, &alen) >= 0 &&
        gnutls_pubkey_get_key_id(leaf->pubkey, 0, b, &blen) >= 0)
        ok = alen == blen && memcmp(a, b, alen) == 0;
    gnutls_pubkey_deinit(pub);
    return ok;
}

static time_t leaf_not_after(gnutls_pcert_st *leaf)
{
    gnutls_x509_crt_t crt;
    time_t t = 0;
    if (gnutls_x509_crt_init(&crt) < 0)
        return 0;
    if (gnutls_x509_crt_import(crt, &leaf->cert, GNUTLS_X509_FMT_DER) >= 0)
        t = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_x509_crt_deinit(crt);
    return t;
}

/* Loads and checks a pair. Returns a new pair, or NULL with err. */
static struct key_pair *pair_load(const char *crt_path, const char *key_path, char *err, size_t errlen)
{
    gnutls_datum_t crt = {0}, key = {0};
    struct key_pair *p = calloc(1, sizeof(*p));
    int rc;

    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (read_file(crt_path, &crt, err, errlen) != 0 || read_file(key_path, &key, err, errlen) != 0)
        goto fail;
    p->chain_len = CHAIN_MAX;
    rc = gnutls_pcert_list_import_x509_raw(p->chain, &p->chain_len, &crt, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0) {
        p->chain_len = 0;
        snprintf(err, errlen, "%s: not a PEM certificate chain: %s", crt_path, gnutls_strerror(rc));
        goto fail;
    }
    if ((rc = gnutls_privkey_init(&p->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, errlen, "%s: not a PEM private key: %s", key_path, gnutls_strerror(rc));
        goto fail;
    }
    if (!key_matches(&p->chain[0], p->key)) {
        snprintf(err, errlen, "%s does not match the certificate in %s", key_path, crt_path);
        goto fail;
    }
    p->not_after = leaf_not_after(&p->chain[0]);
    free(crt.data);
    free(key.data);
    return p;
fail:
    free(crt.data);
    free(key.data);
    pair_free(p);
    return NULL;
}

static void sig_of(const char *path, struct file_sig *s)
{
    struct stat st;
    memset(s, 0, sizeof(*s));
    if (stat(path, &st) == 0) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
        s->size = st.st_size;
        s->mtime = st.st_mtim;
    }
}

static bool sig_equal(const struct file_sig *a, const struct file_sig *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

struct cert_store *cert_store_open(const char *dir, char *err, size_t errlen)
{
    struct cert_store *cs = calloc(1, sizeof(*cs));
    if (!cs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(cs->crt_path, sizeof(cs->crt_path), "%s/tls.crt", dir);
    snprintf(cs->key_path, sizeof(cs->key_path), "%s/tls.key", dir);
    pthread_mutex_init(&cs->lock, NULL);
    pthread_mutex_init(&cs->stop_lock, NULL);
    pthread_cond_init(&cs->stop_cond, NULL);
    sig_of(cs->crt_path, &cs->crt_sig);
    sig_of(cs->key_path, &cs->key_sig);
    cs->current = pair_load(cs->crt_path, cs->key_path, err, errlen);
    if (!cs->current) {
        cert_store_close(cs);
        return NULL;
    }
    cs->m_expiry = metrics_gauge("gungnir_webhook_cert_expiry_timestamp_seconds",
                                 "notAfter of the webhook serving certificate in use, as a Unix time", NULL);
    cs->m_reload_ok = metrics_counter("gungnir_webhook_cert_reloads_total",
                                      "Serving certificate reloads by result", "result=\"success\"");
    cs->m_reload_failed = metrics_counter("gungnir_webhook_cert_reloads_total",
                                          "Serving certificate reloads by result", "result=\"failure\"");
    metrics_set(cs->m_expiry, (double)cs->current->not_after);
    return cs;
}

int cert_store_refresh(struct cert_store *cs, char *err, size_t errlen)
{
    struct file_sig crt, key;
    sig_of(cs->crt_path, &crt);
    sig_of(cs->key_path, &key);
    if (sig_equal(&crt, &cs->crt_sig) && sig_equal(&key, &cs->key_sig))
        return 0;
    cs->crt_sig = crt; /* a refused pair is not retried until the files change again */
    cs->key_sig = key;
    struct key_pair *p = pair_load(cs->crt_path, cs->key_path, err, errlen);
    if (!p) {
        metrics_inc(cs->m_reload_failed);
        return -1;
    }
    pthread_mutex_lock(&cs->lock);
    if (cs->nretired == RETIRED_MAX) { /* the oldest has not served a handshake for ages */
        pair_free(cs->retired[0]);
        memmove(cs->retired, cs->retired + 1, (RETIRED_MAX - 1) * sizeof(cs->retired[0]));
        cs->nretired--;
    }
    cs->retired[cs->nretired++] = cs->current;
    cs->current = p;
    pthread_mutex_unlock(&cs->lock);
    metrics_set(cs->m_expiry, (double)p->not_after);
    metrics_inc(cs->m_reload_ok);
    return 1;
}

static void *watch_loop(void *arg)
{
    struct cert_store *cs = arg;
    char err[512];

    pthread_mutex_lock(&cs->stop_lock);
    while (!cs->stop) {
        struct timespec until;
        until = clock_wall_now(); /* stop_cond has the default clock */
        until.tv_sec += cs->interval_s;
        pthread_cond_timedwait(&cs->stop_cond, &cs->stop_lock, &until);
        if (cs->stop)
            break;
        pthread_mutex_unlock(&cs->stop_lock);
        int rc = cert_store_refresh(cs, err, sizeof(err));
        if (rc == 1) {
            char when[32];
            snprintf(when, sizeof(when), "%lld", (long long)cert_store_not_after(cs));
            log_write(LOG_INFO, "serving certificate reloaded", "path", cs->crt_path, "notAfter", when, NULL);
        } else if (rc < 0) {
            log_write(LOG_ERROR, "new serving certificate refused; the old one keeps serving", "error", err, NULL);
        }
        pthread_mutex_lock(&cs->stop_lock);
    }
    pthread_mutex_unlock(&cs->stop_lock);
    return NULL;
}

int cert_store_watch(struct cert_store *cs, int interval_s)
{
    cs->interval_s = interval_s > 0 ? interval_s : 1;
    if (pthread_create(&cs->watcher, NULL, watch_loop, cs) != 0)
        return -1;
    cs->watching = true;
    return 0;
}

time_t cert_store_not_after(struct cert_store *cs)
{
    pthread_mutex_lock(&cs->lock);
    time_t t = cs->current ? cs->current->not_after : 0;
    pthread_mutex_unlock(&cs->lock);
    return t;
}

void cert_store_activate(struct cert_store *cs) { active = cs; }

int cert_store_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                        const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                        gnutls_pcert_st **pcert, unsigned int *pcert_length,
                        gnutls_privkey_t *pkey)
{
    (void)session, (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    struct cert_store *cs = active;
    if (!cs)
        return -1;
    pthread_mutex_lock(&cs->lock);
    *pcert = cs->current->chain;
    *pcert_length = cs->current->chain_len;
    *pkey = cs->current->key;
    pthread_mutex_unlock(&cs->lock);
    return 0;
}

void cert_store_close(struct cert_store *cs)
{
    if (!cs)
        return;
    if (cs->watching) {
        pthread_mutex_lock(&cs->stop_lock);
        cs->stop = true;
        pthread_cond_signal(&cs->stop_cond);
        pthread_mutex_unlock(&cs->stop_lock);
        pthread_join(cs->watcher, NULL);
    }
    if (active == cs)
        active = NULL;
    pair_free(cs->current);
    for (size_t i = 0; i < cs->nretired; i++)
        pair_free(cs->retired[i]);
    pthread_mutex_destroy(&cs->lock);
    pthread_mutex_destroy(&cs->stop_lock);
    pthread_cond_destroy(&cs->stop_cond);
    free(cs);
}
