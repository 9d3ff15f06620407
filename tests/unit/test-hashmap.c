/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the hash map: string and u64 keys, removal (backward shift), iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pve/hashmap.h"

static void test_strings(void **state) {
    (void) state;
    _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&hashmap_string_ops);
    static char keys[1000][16];
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(hashmap_put(h, keys[i], keys[i]), 0);
    }
    assert_int_equal(hashmap_size(h), 1000);
    char probe[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(probe, sizeof probe, "k%d", i); /* a different pointer, same content */
        assert_ptr_equal(hashmap_get(h, probe), keys[i]);
    }
    assert_null(hashmap_get(h, "nope"));
    /* replace keeps the size */
    assert_int_equal(hashmap_put(h, "k5", keys[6]), 0);
    assert_int_equal(hashmap_size(h), 1000);
    assert_ptr_equal(hashmap_get(h, "k5"), keys[6]);
    hashmap_clear(h);
    assert_int_equal(hashmap_size(h), 0);
    assert_null(hashmap_get(h, "k5"));
    assert_int_equal(hashmap_put(h, keys[1], keys[1]), 0);
    assert_ptr_equal(hashmap_get(h, "k1"), keys[1]);
}

/* Random puts/removes checked against a plain array model. */
static void test_u64_model(void **state) {
    (void) state;
    enum { N = 4096 };
    static void *model[N];
    memset(model, 0, sizeof model);
    _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&hashmap_u64_ops);
    uint64_t x = 88172645463325252ULL;
    for (int step = 0; step < 200000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t k = x % N;
        if (x & (1ULL << 40)) {
            void *v = (void *) (uintptr_t) (step + 1);
            assert_int_equal(hashmap_put(h, U64_TO_KEY(k), v), 0);
            model[k] = v;
        } else {
            assert_ptr_equal(hashmap_remove(h, U64_TO_KEY(k)), model[k]);
            model[k] = NULL;
        }
    }
    size_t live = 0;
    for (uint64_t k = 0; k < N; k++) {
        assert_ptr_equal(hashmap_get(h, U64_TO_KEY(k)), model[k]);
        live += model[k] != NULL;
    }
    assert_int_equal(hashmap_size(h), live);
    size_t it = 0, seen = 0;
    const void *key;
    void *val;
    while (hashmap_iterate(h, &it, &key, &val)) {
        assert_ptr_equal(model[KEY_TO_U64(key)], val);
        seen++;
    }
    assert_int_equal(seen, live);
}

static void test_empty(void **state) {
    (void) state;
    _cleanup_(hashmap_freep) Hashmap *h = hashmap_new(&hashmap_u64_ops);
    assert_null(hashmap_get(h, U64_TO_KEY(0)));
    assert_null(hashmap_remove(h, U64_TO_KEY(0)));
    size_t it = 0;
    assert_false(hashmap_iterate(h, &it, NULL, NULL));
    assert_int_equal(hashmap_put(h, U64_TO_KEY(0), h), 0); /* key 0 is a valid key */
    assert_ptr_equal(hashmap_get(h, U64_TO_KEY(0)), h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_u64_model),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
