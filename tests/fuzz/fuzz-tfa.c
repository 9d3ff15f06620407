/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the second-factor parsers: tfa.cfg (whatever parses must print, and the
 * printed text must parse and print to the same bytes; listing, challenge and verification run
 * on every user) and otpauth:// URIs (the input itself, as one URI, checked at a fixed time).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/json-util.h"
#include "pve/tfa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_uri(const uint8_t *data, size_t size) {
    char *uri = strndup((const char *) data, size);
    if (!uri)
        return;
    TfaTotp t;
    const char *err = NULL;
    if (tfa_totp_parse(uri, &t, &err) == 0) {
        char code[10];
        if (tfa_totp_code(&t, 1234567, code) < 0 || strlen(code) != t.digits)
            abort();
        if (tfa_totp_verify(uri, code, (int64_t) 1234567 * t.period) != 0)
            abort();
    } else if (!err)
        abort();
    free(uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16)
        return 0;
    fuzz_uri(data, size);

    _cleanup_json_ json_t *cfg = NULL;
    _cleanup_free_ char *err = NULL;
    if (tfa_cfg_parse((const char *) data, size, &cfg, &err) < 0)
        return 0;
    const char *userid;
    json_t *user;
    json_object_foreach(json_object_get(cfg, "users"), userid, user) {
        _cleanup_json_ json_t *entries = tfa_user_entries(user), *challenge = NULL;
        bool changed = false;
        (void) tfa_user_challenge(user, &challenge);
        (void) tfa_user_verify(user, "totp:123456", 1700000000, &changed);
        (void) tfa_user_verify(user, "recovery:0123-4567-89ab-cdef", 1700000000, &changed);
    }
    _cleanup_free_ char *p1 = NULL, *p2 = NULL;
    if (tfa_cfg_print(cfg, &p1) < 0)
        abort();
    _cleanup_json_ json_t *cfg2 = NULL;
    if (tfa_cfg_parse(p1, strlen(p1), &cfg2, NULL) < 0)
        abort();
    if (tfa_cfg_print(cfg2, &p2) < 0 || strcmp(p1, p2) != 0)
        abort();
    return 0;
}
