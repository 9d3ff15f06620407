/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * digest: thin wrappers around OpenSSL EVP for SHA-1/SHA-256, one-shot and incremental, plus
 * the lowercase hex encoding. Owns no state beyond the EVP context of an incremental Digest.
 */
#include "pve/digest.h"

#include <assert.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "pve/macro.h"

struct Digest {
    EVP_MD_CTX *ctx;
};

static int digest_oneshot(const EVP_MD *md, const void *data, size_t len, uint8_t *ret) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    /* EVP_Digest() rejects a NULL pointer even for zero bytes on some versions. */
    if (!data)
        data = "";
    if (EVP_Digest(data, len, buf, &n, md, NULL) != 1)
        return -EIO;
    assert((int) n == EVP_MD_get_size(md));
    memcpy(ret, buf, n);
    return 0;
}

void digest_to_hex(const uint8_t *md, size_t n, char *ret) {
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        ret[2 * i] = hex[md[i] >> 4];
        ret[2 * i + 1] = hex[md[i] & 0xf];
    }
    ret[2 * n] = '\0';
}

int digest_sha1(const void *data, size_t len, uint8_t ret[static DIGEST_SHA1_SIZE]) {
    return digest_oneshot(EVP_sha1(), data, len, ret);
}

int digest_sha256(const void *data, size_t len, uint8_t ret[static DIGEST_SHA256_SIZE]) {
    return digest_oneshot(EVP_sha256(), data, len, ret);
}

int digest_sha1_hex(const void *data, size_t len, char ret[static DIGEST_SHA1_HEX_LEN + 1]) {
    uint8_t md[DIGEST_SHA1_SIZE];
    int r = digest_sha1(data, len, md);
    if (r < 0)
        return r;
    digest_to_hex(md, sizeof md, ret);
    return 0;
}

int digest_sha256_hex(const void *data, size_t len, char ret[static DIGEST_SHA256_HEX_LEN + 1]) {
    uint8_t md[DIGEST_SHA256_SIZE];
    int r = digest_sha256(data, len, md);
    if (r < 0)
        return r;
    digest_to_hex(md, sizeof md, ret);
    return 0;
}

Digest *digest_new_sha256(void) {
    Digest *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
        return digest_free(d);
    return d;
}

int digest_update(Digest *d, const void *data, size_t len) {
    assert(d);
    if (len == 0)
        return 0;
    return EVP_DigestUpdate(d->ctx, data, len) == 1 ? 0 : -EIO;
}

int digest_finish(Digest *d, uint8_t ret[static DIGEST_SHA256_SIZE]) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    assert(d);
    if (EVP_DigestFinal_ex(d->ctx, buf, &n) != 1 || n != DIGEST_SHA256_SIZE)
        return -EIO;
    memcpy(ret, buf, n);
    return 0;
}

Digest *digest_free(Digest *d) {
    if (!d)
        return NULL;
    EVP_MD_CTX_free(d->ctx);
    free(d);
    return NULL;
}
