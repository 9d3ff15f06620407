/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth-ticket: the credentials of the PVE API (api.md §2): RSA-signed PVEAuthCookie tickets,
 * CSRFPreventionToken HMACs, API token headers, cookie extraction and shadow.cfg password hashes.
 * Pure functions over key material handed in by the caller as PEM text or raw bytes: nothing here
 * reads /etc/pve, looks at file mtimes or logs. Callers compute key ages from the mtimes of
 * authkey.pub / authkey.pub.old and pass them in. Returned strings are malloc()ed and owned by the
 * caller; secrets (private keys, passwords) should be wiped with explicit_bzero() before free().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

typedef enum TicketHash {
    TICKET_HASH_SHA1,   /* what PVE 8 (Crypt::OpenSSL::RSA 0.33) signs with; issue this */
    TICKET_HASH_SHA256, /* accepted on verification, for newer upstream builds */
    _TICKET_HASH_MAX,
    _TICKET_HASH_INVALID = -EINVAL,
} TicketHash;

#define TICKET_LIFETIME      7200  /* seconds a ticket stays valid */
#define TICKET_CLOCK_SKEW    300   /* grace for tickets from the future / key rotation */
#define AUTHKEY_LIFETIME     86400 /* authkey.pub is rotated once older than this */
#define CSRF_TOKEN_LEN       52    /* "TTTTTTTT:" + 43 base64 chars */
#define API_TOKEN_HEADER_MAX 4096

/* Generate an RSA-2048 key pair: PKCS#8 "BEGIN PRIVATE KEY" PEM and SubjectPublicKeyInfo
 * "BEGIN PUBLIC KEY" PEM. Both malloc()ed; 0, -ENOMEM or -EIO. */
int auth_key_generate(char **ret_private_pem, char **ret_public_pem);

/* Sign a ticket "PVE:<userid with ':' as %3A>:<%08X time>::<base64 sig>". time must fit in
 * 32 bits; userid is any non-empty data without whitespace (a userid, or "!tfa!..." data). 0,
 * -EINVAL (bad key/userid/time), -ENOMEM, -EIO. */
int ticket_create(
    const char *private_pem, const char *userid, int64_t time, TicketHash hash, char **ret_ticket
);

/* The same with associated data: the signature covers "PVE:<data>:<time>:<aad>" while the ticket
 * only carries "PVE:<data>:<time>", so it verifies only for the same aad (upstream's "!tfa!"
 * half tickets are bound to the userid this way). aad NULL = ticket_create(). */
int ticket_create_aad(
    const char *private_pem,
    const char *userid,
    const char *aad,
    int64_t time,
    TicketHash hash,
    char **ret_ticket
);

/*
 * Key material and its ages, as the caller knows it. key_age = now - mtime(authkey.pub) (negative
 * or huge values are clamped); old_public_pem may be NULL. quorate enables the "key overdue for
 * rotation" refinement, which upstream applies only on a quorate cluster.
 */
typedef struct TicketKeys {
    const char *public_pem;
    const char *old_public_pem;
    int64_t key_age;
    bool quorate;
} TicketKeys;

/* The exclusive age window (min < now - T < max) a ticket must fall in when it verifies against
 * the current key (old_key=false) or the previous one (old_key=true). */
void ticket_age_window(const TicketKeys *keys, bool old_key, int64_t *ret_min, int64_t *ret_max);

/*
 * Verify a ticket: syntax, RSA signature (SHA-1 or SHA-256) with the current key and then the old
 * one, and the age window of the key that matched. On success returns 0 and the unescaped data
 * (malloc()ed, optional; NOT checked to be a valid userid, the caller does that) and age = now - T
 * (optional). -EBADMSG for malformed tickets, -EACCES for a bad signature, -ETIME for a ticket
 * outside its window, -EINVAL for unusable keys, -ENOMEM.
 */
int ticket_verify(
    const char *ticket, const TicketKeys *keys, int64_t now, char **ret_userid, int64_t *ret_age
);
/* Verify a ticket made by ticket_create_aad() with the same aad. */
int ticket_verify_aad(
    const char *ticket,
    const TicketKeys *keys,
    const char *aad,
    int64_t now,
    char **ret_userid,
    int64_t *ret_age
);

/*
 * Console (VNC/terminal) tickets "PVEVNC:<%08X time>::<base64 sig>" (api.md §11): the signed
 * text is "PVEVNC:<time>:<userid>:<path>:<port>" (":<port>" left out for port 0), so the
 * data is not in clear. Valid for -20 < age < 40 s against the current or the old key.
 * create: 0, -EINVAL, -ENOMEM, -EIO. verify: 0, -EBADMSG, -EACCES (signature/data mismatch),
 * -ETIME, -EINVAL (unusable keys), -ENOMEM.
 */
#define VNC_TICKET_MIN_AGE (-20)
#define VNC_TICKET_MAX_AGE 40
int vnc_ticket_create(
    const char *private_pem,
    const char *userid,
    const char *path,
    unsigned port,
    int64_t time,
    char **ret_ticket
);
int vnc_ticket_verify(
    const char *ticket,
    const TicketKeys *keys,
    const char *userid,
    const char *path,
    unsigned port,
    int64_t now
);
/* CSRF token "%08X:" + base64-nopad(HMAC-SHA256(key = S, "%08X:<userid>")) with
 * S = base64-nopad(HMAC-SHA256(key = www key bytes, message = "")). ret is CSRF_TOKEN_LEN+1
 * bytes. 0, -EINVAL (time out of range), -EIO. */
int csrf_token_create(
    const void *www_key,
    size_t www_key_len,
    const char *userid,
    int64_t time,
    char ret[static CSRF_TOKEN_LEN + 1]
);

/* 0 if token is valid for userid at now (-300 < age < 7200), -EACCES if the HMAC does not
 * match, -ETIME outside the window, -EBADMSG if malformed, -EIO. */
int csrf_token_verify(
    const void *www_key, size_t www_key_len, const char *userid, const char *token, int64_t now
);

/* Userid "user@realm" (user [^\s:/]+, realm [A-Za-z][A-Za-z0-9.-_]+, at most 64 chars). */
bool userid_is_valid(const char *userid) _pure_;
/* Token name [A-Za-z][A-Za-z0-9.-_]+. */
bool token_name_is_valid(const char *name) _pure_;
/* Full token id "user@realm!name". */
bool tokenid_is_valid(const char *tokenid) _pure_;

/* Parse an Authorization header value "PVEAPIToken=<tokenid>=<secret>" (or a space instead of
 * the first '='); the id/secret split is at the LAST '='. Both outputs malloc()ed. 0, -ENOENT if
 * the header is not an API token, -EBADMSG if it is but malformed, -ENOMEM. */
int api_token_parse_header(const char *header, char **ret_tokenid, char **ret_secret);

/* Find cookie `name` in a Cookie (or Authorization) header: the name must start the header or
 * follow whitespace, be followed by '=' or ' ', the value runs to ';' or the end, and is
 * percent-decoded ('+' stays '+'). 0 and a malloc()ed value, -ENOENT, -ENOMEM. */
int auth_cookie_extract(const char *header, const char *name, char **ret_value);

/* Look up userid in shadow.cfg text ("<userid>:<hash>:" lines). 0 and the malloc()ed hash,
 * -ENOENT if the user has no line (upstream: "no password set"). */
int shadow_cfg_lookup(const char *text, size_t len, const char *userid, char **ret_hash);

/* crypt(password, hash) == hash (crypt_rn) in constant time: 0, -EACCES on mismatch, -EINVAL for an
 * unusable hash, -ENOMEM. */
int shadow_password_verify(const char *password, const char *hash);

/* New SHA-256-crypt hash "$5$<8 random salt chars>$<43 chars>", malloc()ed. 0, -ENOMEM, -EIO. */
int shadow_password_hash(const char *password, char **ret_hash);

/* Base64 helpers used by the above and handy for tests. Encoded output is malloc()ed;
 * padding selects '=' padding. Decode accepts optional padding; -EBADMSG on bad input. */
int auth_base64_encode(const void *data, size_t len, bool padding, char **ret);
int auth_base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len);
