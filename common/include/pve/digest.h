/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * digest: SHA-1 and SHA-256 of byte buffers through OpenSSL's EVP interface. The hex forms are
 * lowercase, as the `digest` properties of the PVE API (SHA-1 of the raw config file) and the
 * pmxcfs index checksums (SHA-256) are. Pure functions: no I/O, no logging, no global state.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

#define DIGEST_SHA1_SIZE      20
#define DIGEST_SHA1_HEX_LEN   40
#define DIGEST_SHA256_SIZE    32
#define DIGEST_SHA256_HEX_LEN 64

/* Raw digests of data[0..len) into ret; 0 on success, -EIO if libcrypto fails. */
int digest_sha1(const void *data, size_t len, uint8_t ret[static DIGEST_SHA1_SIZE]);
int digest_sha256(const void *data, size_t len, uint8_t ret[static DIGEST_SHA256_SIZE]);

/* Lowercase hex digests, NUL-terminated in ret; 0 on success, -EIO if libcrypto fails. */
int digest_sha1_hex(const void *data, size_t len, char ret[static DIGEST_SHA1_HEX_LEN + 1]);
int digest_sha256_hex(const void *data, size_t len, char ret[static DIGEST_SHA256_HEX_LEN + 1]);

/* Write n bytes of md as 2n lowercase hex digits plus a NUL into ret (2n + 1 bytes). */
void digest_to_hex(const uint8_t *md, size_t n, char *ret);

/*
 * Incremental SHA-256 for digests over several fields (pmxcfs index entries). digest_new()
 * returns NULL on OOM; digest_update()/digest_finish() return 0 or -EIO. digest_finish() may be
 * called once; digest_free() accepts NULL and returns NULL.
 */
typedef struct Digest Digest;
Digest *digest_new_sha256(void);
int digest_update(Digest *d, const void *data, size_t len);
int digest_finish(Digest *d, uint8_t ret[static DIGEST_SHA256_SIZE]);
Digest *digest_free(Digest *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Digest *, digest_free);
