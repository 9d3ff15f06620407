/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Linear-probing hash map with backward-shift deletion (no tombstones), so lookups stay short
 * after many removals. Capacity is a power of two and the load factor stays below 3/4.
 */
#include "pve/hashmap.h"

#include <string.h>

typedef struct Bucket {
    const void *key;
    void *value;
    uint64_t hash;
    bool used;
} Bucket;

struct Hashmap {
    const HashmapOps *ops;
    Bucket *b;
    size_t cap; /* 0 or power of two */
    size_t n;
};

uint64_t hash_bytes(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t string_hash(const void *k) {
    return hash_bytes(k, strlen(k));
}
static bool string_equal(const void *a, const void *b) {
    return strcmp(a, b) == 0;
}
static uint64_t u64_hash(const void *k) {
    uint64_t x = KEY_TO_U64(k);
    /* splitmix64 finaliser: spreads sequential inode numbers */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}
static bool u64_equal(const void *a, const void *b) {
    return a == b;
}

const HashmapOps hashmap_string_ops = {string_hash, string_equal};
const HashmapOps hashmap_u64_ops = {u64_hash, u64_equal};

Hashmap *hashmap_new(const HashmapOps *ops) {
    Hashmap *h = calloc(1, sizeof *h);
    if (h)
        h->ops = ops;
    return h;
}

Hashmap *hashmap_free(Hashmap *h) {
    if (h) {
        free(h->b);
        free(h);
    }
    return NULL;
}

void hashmap_clear(Hashmap *h) {
    if (!h)
        return;
    free(h->b);
    h->b = NULL;
    h->cap = h->n = 0;
}

size_t hashmap_size(const Hashmap *h) {
    return h ? h->n : 0;
}

static size_t find_slot(const Hashmap *h, const void *key, uint64_t hash, bool *found) {
    size_t mask = h->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const Bucket *b = &h->b[i];
        if (!b->used) {
            *found = false;
            return i;
        }
        if (b->hash == hash && h->ops->equal(b->key, key)) {
            *found = true;
            return i;
        }
    }
}

static int resize(Hashmap *h, size_t cap) {
    Bucket *nb = calloc(cap, sizeof *nb);
    if (!nb)
        return -ENOMEM;
    Bucket *old = h->b;
    size_t oldcap = h->cap;
    h->b = nb;
    h->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].used)
            continue;
        bool found;
        size_t s = find_slot(h, old[i].key, old[i].hash, &found);
        h->b[s] = old[i];
    }
    free(old);
    return 0;
}

int hashmap_reserve(Hashmap *h, size_t n) {
    size_t cap = h->cap ? h->cap : 8;
    while ((h->n + n) * 4 > cap * 3)
        cap *= 2;
    return cap == h->cap ? 0 : resize(h, cap);
}

int hashmap_put(Hashmap *h, const void *key, void *value) {
    int r = hashmap_reserve(h, 1);
    if (r < 0)
        return r;
    uint64_t hash = h->ops->hash(key);
    bool found;
    size_t s = find_slot(h, key, hash, &found);
    h->b[s] = (Bucket){.key = key, .value = value, .hash = hash, .used = true};
    if (!found)
        h->n++;
    return 0;
}

void *hashmap_get(const Hashmap *h, const void *key) {
    if (!h || h->n == 0)
        return NULL;
    bool found;
    size_t s = find_slot(h, key, h->ops->hash(key), &found);
    return found ? h->b[s].value : NULL;
}

void *hashmap_remove(Hashmap *h, const void *key) {
    if (!h || h->n == 0)
        return NULL;
    bool found;
    size_t s = find_slot(h, key, h->ops->hash(key), &found);
    if (!found)
        return NULL;
    void *value = h->b[s].value;
    size_t mask = h->cap - 1, hole = s;
    /* Backward-shift: move later members of the probe run into the hole. */
    for (size_t i = (s + 1) & mask; h->b[i].used; i = (i + 1) & mask) {
        size_t home = h->b[i].hash & mask;
        /* Can entry i move to hole? Only if its home is not in (hole, i]. */
        bool in_range = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!in_range) {
            h->b[hole] = h->b[i];
            hole = i;
        }
    }
    h->b[hole] = (Bucket){0};
    h->n--;
    return value;
}

bool hashmap_iterate(const Hashmap *h, size_t *state, const void **ret_key, void **ret_value) {
    if (!h)
        return false;
    for (size_t i = *state; i < h->cap; i++) {
        if (h->b[i].used) {
            if (ret_key)
                *ret_key = h->b[i].key;
            if (ret_value)
                *ret_value = h->b[i].value;
            *state = i + 1;
            return true;
        }
    }
    *state = h->cap;
    return false;
}
