/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the multipart/form-data parser (discard mode, no files): the first line of
 * the input is the Content-Type, the rest the body, fed whole and then again byte-split at a
 * position taken from the data; both runs must agree on the result.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/http-multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run(const char *ct, const char *body, size_t len, size_t split, json_t **fields, uint64_t *fsize) {
    _cleanup_(http_multipart_form_freep) HttpMultipartForm *f = NULL;
    int r = http_multipart_form_new(ct, NULL, 1 << 20, &f);
    if (r < 0)
        return r;
    split = len ? split % len : 0;
    r = http_multipart_form_feed(f, body, split);
    if (r >= 0)
        r = http_multipart_form_feed(f, body + split, len - split);
    if (r >= 0)
        r = http_multipart_form_finish(f);
    if (r >= 0) {
        *fields = json_incref(http_multipart_form_fields(f));
        *fsize = http_multipart_form_file_size(f);
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    _cleanup_free_ char *ct = strndup((const char *) data, (size_t) (nl - (const char *) data));
    if (!ct)
        return 0;
    const char *body = nl + 1;
    size_t len = size - (size_t) (body - (const char *) data);
    json_t *f1 = NULL, *f2 = NULL;
    uint64_t s1 = 0, s2 = 0;
    int r1 = run(ct, body, len, len, &f1, &s1);
    int r2 = run(ct, body, len, size * 7919u, &f2, &s2);
    if (r1 != r2 || (r1 >= 0 && (!json_equal(f1, f2) || s1 != s2)))
        abort();
    json_decref(f1);
    json_decref(f2);
    return 0;
}
