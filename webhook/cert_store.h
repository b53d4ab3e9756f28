/* cert_store.h — the webhook's serving certificate: loaded from <dir>/tls.crt and <dir>/tls.key
 * (the files cert-manager writes), swapped in without a restart when they change.
 *
 * A watcher thread stats both files every interval (following symlinks, so kubelet's atomic
 * "..data" swap is seen) and reloads on any change. A pair that does not load, or whose key
 * does not match its certificate, is logged and refused: the old pair keeps serving. Handshakes
 * get the current pair through cert_store_retrieve, the GnuTLS callback libmicrohttpd calls. */
#ifndef GUNGNIR_CERT_STORE_H
#define GUNGNIR_CERT_STORE_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>
#include <time.h>

struct cert_store;

/* Loads the pair in dir. Returns a new store, or NULL with the reason in err. */
struct cert_store *cert_store_open(const char *dir, char *err, size_t errlen);

/* Checks the files once. Returns 1 when a new pair was loaded, 0 when nothing changed, -1 when
 * the files changed but the new pair was refused (reason in err; the old pair stays). */
int cert_store_refresh(struct cert_store *cs, char *err, size_t errlen);

/* Starts the watcher thread (refresh every interval_s seconds, results logged and counted in
 * metrics). Returns 0, or -1. */
int cert_store_watch(struct cert_store *cs, int interval_s);

/* notAfter of the serving certificate now in use (seconds since the epoch). */
time_t cert_store_not_after(struct cert_store *cs);

/* Makes cs the store cert_store_retrieve serves from (one per process). */
void cert_store_activate(struct cert_store *cs);

/* GnuTLS gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. Returns 0
 * with the current pair, or -1 when no store is active. The pair stays valid after a swap. */
int cert_store_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                        const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                        gnutls_pcert_st **pcert, unsigned int *pcert_length,
                        gnutls_privkey_t *pkey);

/* Stops the watcher and frees every pair. Not while a server still uses the store. */
void cert_store_close(struct cert_store *cs);

#endif
