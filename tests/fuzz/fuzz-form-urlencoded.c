/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the form-urlencoded parser (query strings and form bodies) and the JSON body
 * parser: no crash, no leak, and a successful parse always leaves a JSON object whose members
 * are strings or arrays of strings.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/http-server.h"
#include "pve/json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > HTTP_MAX_BODY_SIZE)
        return 0;

    _cleanup_json_ json_t *o = json_object();
    assert(o);
    int r = http_parse_form_urlencoded((const char *) data, size, o);
    if (r >= 0) {
        assert(json_is_object(o));
        assert((size_t) r >= json_object_size(o));
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            if (json_is_array(v)) {
                assert(json_array_size(v) >= 2);
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) assert(json_is_string(e));
            } else
                assert(json_is_string(v));
        }
    } else
        assert(r == -EINVAL || r == -E2BIG || r == -ENOMEM);

    _cleanup_json_ json_t *j = NULL;
    if (http_parse_json_body((const char *) data, size, &j) >= 0)
        assert(json_is_object(j));
    return 0;
}
