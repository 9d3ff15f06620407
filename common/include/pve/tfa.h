/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tfa: second factors of API logins: TOTP (RFC 6238, entries stored as otpauth:// URIs) and
 * recovery keys, and the per-user entries of /etc/pve/priv/tfa.cfg.
 *
 * tfa.cfg is JSON in the layout of upstream's proxmox-tfa crate as far as we know it (the spec
 * does not define it; not verified against a real node):
 *   {"users": {"<userid>": {
 *      "totp": [{"id": "totp-<uuid>", "description": "...", "created": <unix time>,
 *                "enable": false (only when disabled), "entry": "otpauth://totp/...?secret=..."}],
 *      "recovery": {"secret": "<hex>", "entries": ["<hex HMAC-SHA256 of a key>" | null, ...],
 *                   "created": <unix time>}}}}
 * Other members (webauthn, u2f, yubico, lock state) are kept as they are when we rewrite the
 * file. The functions work on the parsed jansson tree; callers read and write the file under the
 * cluster lock. Pure functions unless noted; secrets are wiped where we hold copies.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TFA_RECOVERY_KEYS 10
#define TFA_TOTP_WINDOW   1 /* steps accepted before and after the current one */

/* A parsed otpauth://totp URI. */
typedef struct TfaTotp {
    uint8_t secret[128];
    size_t secret_len;
    const char *algorithm; /* "SHA1", "SHA256" or "SHA512" (static) */
    unsigned digits;       /* 6..8 */
    unsigned period;       /* seconds, > 0 */
} TfaTotp;

/* Decode RFC 4648 base32 (upper or lower case, '=' padding optional). 0 or -EINVAL/-E2BIG. */
int tfa_base32_decode(const char *s, uint8_t *out, size_t cap, size_t *ret_len);

/* Parse "otpauth://totp/<label>?secret=..&algorithm=..&digits=..&period=..". 0 or -EINVAL with a
 * message naming what is wrong (static string) in *reterr. */
int tfa_totp_parse(const char *uri, TfaTotp *ret, const char **reterr);

/* The code for time step `counter` (= unix time / period), as a zero-padded decimal string. */
int tfa_totp_code(const TfaTotp *t, uint64_t counter, char ret[static 10]);

/* 0 when code matches the URI's TOTP at now within +-TFA_TOTP_WINDOW steps, -EACCES when not,
 * -EINVAL for a bad URI. */
int tfa_totp_verify(const char *uri, const char *code, int64_t now);

/* New recovery keys: TFA_RECOVERY_KEYS strings "xxxx-xxxx-xxxx-xxxx" (lower-case hex) in
 * ret_keys (malloc()ed array of malloc()ed strings, free with tfa_keys_free) and the object to
 * store ({"secret","entries","created"}). 0, -EIO (no randomness), -ENOMEM. */
int tfa_recovery_new(int64_t now, char ***ret_keys, json_t **ret_recovery);
void tfa_keys_free(char **keys);

/* Use a recovery key: when it matches an unused entry, that entry becomes null (the caller then
 * writes the file) and 0 is returned; -EACCES otherwise. */
int tfa_recovery_use(json_t *recovery, const char *key);

/* ---- tfa.cfg ------------------------------------------------------------------------------ */

/* Parse tfa.cfg text (empty text = no entries). -EINVAL with a message for bad JSON or layout. */
int tfa_cfg_parse(const char *text, size_t len, json_t **ret, char **reterr);
/* Serialize (pretty, keys sorted, trailing newline). */
int tfa_cfg_print(const json_t *cfg, char **ret);

/* The user's object in cfg, created when create is set (NULL when absent or OOM). */
json_t *tfa_cfg_user(json_t *cfg, const char *userid, bool create);

/* The user's entries as the API lists them: [{type,id,description,created,enable}] (recovery as
 * one entry with id "recovery"). */
json_t *tfa_user_entries(const json_t *user);

/* The user's totp/u2f/webauthn/yubico entry with this id (recovery keys are no such entry): its
 * type (static), the list holding it and its index there; NULL when there is none. */
json_t *tfa_user_find(
    json_t *user, const char *id, const char **ret_type, json_t **ret_list, size_t *ret_index
);

/* True when the user has an enabled second factor we can check (totp or recovery keys left),
 * and what a login challenge offers: {"totp":true?, "recovery":[indexes of unused keys]?}. */
bool tfa_user_challenge(const json_t *user, json_t **ret_challenge);

/* Check a login's second-factor response "totp:<code>" or "recovery:<key>" for the user (the
 * recovery entry is consumed: the caller writes cfg back when *ret_changed). 0 or -EACCES. */
int tfa_user_verify(json_t *user, const char *response, int64_t now, bool *ret_changed);
