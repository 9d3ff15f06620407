/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tls-credentials: the certificate chain and private key an HTTPS server presents, loaded
 * once from PEM, for GnuTLS's certificate-retrieve callback. RSA keys sign with OpenSSL's
 * libcrypto (about 4x faster than GnuTLS/nettle here, which made the RSA signature of every
 * full handshake the largest CPU cost of pveproxy); every other operation and key type
 * stays with GnuTLS.
 */
#pragma once

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

typedef struct TlsCredentials TlsCredentials;

/* Parse cert_pem (the leaf first, then its chain) and key_pem. -EINVAL with *reterr
 * (malloc'd) naming the problem: no certificate, unreadable key, key not matching the
 * certificate. */
int tls_credentials_new(
    const char *cert_pem, const char *key_pem, TlsCredentials **ret, char **reterr
);
TlsCredentials *tls_credentials_free(TlsCredentials *c);

/* What gnutls_certificate_retrieve_function2 returns; c keeps ownership. */
void tls_credentials_get(
    TlsCredentials *c, gnutls_pcert_st **ret_certs, unsigned *ret_n, gnutls_privkey_t *ret_key
);

/* Which signer backs the key: "openssl" (RSA) or "gnutls". For tests and logs. */
const char *tls_credentials_signer(const TlsCredentials *c);
