/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tls-credentials: certificate chain + private key for the HTTPS servers (pveproxy,
 * spiceproxy), handed to GnuTLS through libmicrohttpd's certificate callback.
 *
 * Owns: the parsed chain (gnutls_pcert_st), GnuTLS's own import of the key, and for RSA keys
 * an OpenSSL copy behind a GnuTLS "external" key. A full TLS handshake costs one signature
 * with the server key; with RSA-2048 that is about 2.0 ms in nettle's side-channel-silent
 * code and 0.5 ms in OpenSSL on this class of machine, and it was a third of pveproxy's CPU
 * under load. So the external key signs with OpenSSL:
 *   - PKCS#1 v1.5 (TLS 1.2): GnuTLS passes GNUTLS_SIGN_RSA_RAW and the DigestInfo it built;
 *     signed as is with type-1 padding.
 *   - RSA-PSS with an rsaEncryption key (TLS 1.3, and TLS 1.2 when the client prefers it):
 *     GnuTLS passes the hash; salt length = hash length, MGF1 with the same hash (RFC 8446).
 * Decryption (TLS 1.2 RSA key exchange) stays with GnuTLS's own key, which implements the
 * countermeasures against padding oracles. Keys that are not RSA are GnuTLS's own import.
 *
 * Must not: read files (callers pass PEM text), or keep anything per session.
 */
#include "pve/tls-credentials.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/macro.h"
#include "pve/string-util.h"

#define MAX_CHAIN 16

struct TlsCredentials {
    gnutls_pcert_st certs[MAX_CHAIN];
    unsigned n_certs;
    gnutls_privkey_t native; /* GnuTLS's import: decrypts; signs when not RSA */
    gnutls_privkey_t ext;    /* RSA only: signs through OpenSSL */
    EVP_PKEY *pkey;          /* RSA only */
};

static const EVP_MD *pss_digest(gnutls_sign_algorithm_t algo) {
    switch (algo) {
    case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256:
        return EVP_sha256();
    case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384:
        return EVP_sha384();
    case GNUTLS_SIGN_RSA_PSS_RSAE_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

static bool is_pkcs1(gnutls_sign_algorithm_t algo) {
    switch (algo) {
    case GNUTLS_SIGN_RSA_SHA1:
    case GNUTLS_SIGN_RSA_SHA224:
    case GNUTLS_SIGN_RSA_SHA256:
    case GNUTLS_SIGN_RSA_SHA384:
    case GNUTLS_SIGN_RSA_SHA512:
    case GNUTLS_SIGN_RSA_RAW:
        return true;
    default:
        return false;
    }
}

/* gnutls_privkey_sign_hash_func. For PKCS#1 v1.5 GnuTLS always passes RSA_RAW with the
 * DigestInfo already encoded (the named RSA_SHAx algorithms only answer ext_info). */
static int ext_sign_hash(
    gnutls_privkey_t key,
    gnutls_sign_algorithm_t algo,
    void *userdata,
    unsigned flags,
    const gnutls_datum_t *hash,
    gnutls_datum_t *sig
) {
    TlsCredentials *c = userdata;
    const EVP_MD *pss = pss_digest(algo);
    (void) key, (void) flags;
    if (!pss && algo != GNUTLS_SIGN_RSA_RAW)
        return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
    if (pss && hash->size != (unsigned) EVP_MD_get_size(pss))
        return GNUTLS_E_INVALID_REQUEST;

    int r = GNUTLS_E_PK_SIGN_FAILED;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(c->pkey, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) <= 0)
        goto out;
    if (pss) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(ctx, pss) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, pss) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
            goto out;
    } else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
        goto out; /* no digest set: the DigestInfo is signed as given */
    size_t len = 0;
    if (EVP_PKEY_sign(ctx, NULL, &len, hash->data, hash->size) <= 0)
        goto out;
    sig->data = gnutls_malloc(len);
    if (!sig->data) {
        r = GNUTLS_E_MEMORY_ERROR;
        goto out;
    }
    if (EVP_PKEY_sign(ctx, sig->data, &len, hash->data, hash->size) <= 0) {
        gnutls_free(sig->data);
        sig->data = NULL;
        goto out;
    }
    sig->size = (unsigned) len;
    r = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    return r;
}

static int ext_decrypt(
    gnutls_privkey_t key, void *userdata, const gnutls_datum_t *ciphertext, gnutls_datum_t *plain
) {
    TlsCredentials *c = userdata;
    (void) key;
    return gnutls_privkey_decrypt_data(c->native, 0, ciphertext, plain);
}

static int ext_info(gnutls_privkey_t key, unsigned flags, void *userdata) {
    TlsCredentials *c = userdata;
    (void) key;
    switch (flags & ((1U << 20) - 1)) {
    case GNUTLS_PRIVKEY_INFO_PK_ALGO:
        return GNUTLS_PK_RSA;
    case GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS:
        return EVP_PKEY_get_bits(c->pkey);
    case GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO: {
        gnutls_sign_algorithm_t algo = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
        return pss_digest(algo) || is_pkcs1(algo);
    }
    case GNUTLS_PRIVKEY_INFO_SIGN_ALGO:
        return 0; /* no preference */
    default:
        return GNUTLS_E_INVALID_REQUEST;
    }
}

static int pubkey_der(gnutls_pubkey_t pub, gnutls_datum_t *ret) {
    return gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, ret);
}

/* The key must be the certificate's: a mismatch would only show as failed handshakes. */
static int key_matches_cert(TlsCredentials *c) {
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t a = {0}, b = {0};
    int r = gnutls_pubkey_init(&pub);
    if (r >= 0)
        r = gnutls_pubkey_import_privkey(pub, c->native, 0, 0);
    if (r >= 0)
        r = pubkey_der(pub, &a);
    if (r >= 0)
        r = pubkey_der(c->certs[0].pubkey, &b);
    bool same = r >= 0 && a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
    gnutls_free(a.data);
    gnutls_free(b.data);
    gnutls_pubkey_deinit(pub);
    return same;
}

int tls_credentials_new(
    const char *cert_pem, const char *key_pem, TlsCredentials **ret, char **reterr
) {
    if (reterr)
        *reterr = NULL;
    TlsCredentials *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    int r;
    gnutls_datum_t cd = {(unsigned char *) cert_pem, (unsigned) strlen(cert_pem)};
    c->n_certs = MAX_CHAIN;
    r = gnutls_pcert_list_import_x509_raw(c->certs, &c->n_certs, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0 || c->n_certs == 0) {
        c->n_certs = 0;
        r = set_error_message(
            reterr, -EINVAL, "certificate: %s", r < 0 ? gnutls_strerror(r) : "none found"
        );
        goto err;
    }
    gnutls_datum_t kd = {(unsigned char *) key_pem, (unsigned) strlen(key_pem)};
    if ((r = gnutls_privkey_init(&c->native)) < 0 ||
        (r = gnutls_privkey_import_x509_raw(c->native, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        r = set_error_message(reterr, -EINVAL, "private key: %s", gnutls_strerror(r));
        goto err;
    }
    if (!key_matches_cert(c)) {
        r = set_error_message(
            reterr, -EINVAL, "the private key does not belong to the certificate"
        );
        goto err;
    }
    if (gnutls_privkey_get_pk_algorithm(c->native, NULL) != GNUTLS_PK_RSA)
        goto done;

    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    c->pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!c->pkey || EVP_PKEY_get_base_id(c->pkey) != EVP_PKEY_RSA) {
        r = set_error_message(reterr, -EINVAL, "private key: OpenSSL cannot read the RSA key");
        goto err;
    }
    if ((r = gnutls_privkey_init(&c->ext)) < 0 ||
        (r = gnutls_privkey_import_ext4(
             c->ext, c, NULL, ext_sign_hash, ext_decrypt, NULL, ext_info, 0
         )) < 0) {
        r = set_error_message(reterr, -EINVAL, "private key: %s", gnutls_strerror(r));
        goto err;
    }
done:
    *ret = c;
    return 0;
err:
    tls_credentials_free(c);
    return r == -ENOMEM ? r : -EINVAL;
}

TlsCredentials *tls_credentials_free(TlsCredentials *c) {
    if (!c)
        return NULL;
    for (unsigned i = 0; i < c->n_certs; i++)
        gnutls_pcert_deinit(&c->certs[i]);
    if (c->ext)
        gnutls_privkey_deinit(c->ext);
    if (c->native)
        gnutls_privkey_deinit(c->native);
    EVP_PKEY_free(c->pkey);
    free(c);
    return NULL;
}

void tls_credentials_get(
    TlsCredentials *c, gnutls_pcert_st **ret_certs, unsigned *ret_n, gnutls_privkey_t *ret_key
) {
    *ret_certs = c->certs;
    *ret_n = c->n_certs;
    *ret_key = c->ext ?: c->native;
}

const char *tls_credentials_signer(const TlsCredentials *c) {
    return c->ext ? "openssl" : "gnutls";
}
