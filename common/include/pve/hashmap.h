/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Open-addressing hash map from pointer-sized keys to pointers. Keys are either strings
 * (compared by content; the map does not copy them, so the key must live as long as its
 * entry, typically because it points into the value) or 64-bit integers stored in the key
 * pointer itself. No iteration order is promised. Not thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

typedef struct Hashmap Hashmap;
typedef struct HashmapOps {
    uint64_t (*hash)(const void *key);
    bool (*equal)(const void *a, const void *b);
} HashmapOps;

extern const HashmapOps hashmap_string_ops;
extern const HashmapOps hashmap_u64_ops;

#define U64_TO_KEY(u) ((const void *) (uintptr_t) (u))
#define KEY_TO_U64(k) ((uint64_t) (uintptr_t) (k))

Hashmap *hashmap_new(const HashmapOps *ops);
Hashmap *hashmap_free(Hashmap *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

/* Insert or replace; returns 0, or -ENOMEM (map unchanged). */
int hashmap_put(Hashmap *h, const void *key, void *value);
/* Make room for n more entries, so the next n puts of new keys cannot fail. */
int hashmap_reserve(Hashmap *h, size_t n);
void *hashmap_get(const Hashmap *h, const void *key);
/* Remove and return the value (NULL if absent). */
void *hashmap_remove(Hashmap *h, const void *key);
size_t hashmap_size(const Hashmap *h);
/* Remove every entry and release the buckets. */
void hashmap_clear(Hashmap *h);

/* Iterate: `size_t i = 0; const void *k; void *v; while (hashmap_iterate(h, &i, &k, &v)) ...`.
 * The map must not be modified during iteration. */
bool hashmap_iterate(const Hashmap *h, size_t *state, const void **ret_key, void **ret_value);

uint64_t hash_bytes(const void *data, size_t len) _pure_; /* FNV-1a 64 */
