/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * clusterlog: ring buffer of packed cluster-log entries, duplicate suppression, merging and
 * the JSON dump (layouts in clusterlog.h). Owns only memory: no locking (the caller holds
 * the status mutex), no I/O, no broadcasting (the cluster layer sends what add/get_state
 * hand it).
 *
 * Ring allocation: entries are laid out upwards from offset 8, each taking its packed size
 * rounded up to 8; an entry that would reach the end of the buffer starts over at 8 and
 * overwrites the oldest ones. Walking back from the newest entry along `prev`, positions fall
 * until the walk jumps up past a wrap; from there on only entries at or above the end of the
 * newest entry are intact, and the walk ends at the first position that breaks either rule.
 */
#include "clusterlog.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/hashmap.h"
#include "pve/strbuf.h"

#define RING_HEADER 8u
#define ALIGN8(x)   (((x) + 7u) & ~(size_t) 7u)
/* Largest STATE buffer we accept from a peer (ours are CLUSTERLOG_BUFFER_SIZE). */
#define STATE_MAX (4u * 1024u * 1024u)

/* Entry field offsets. */
enum {
    OFF_PREV = 0,
    OFF_NEXT = 4,
    OFF_UID = 8,
    OFF_TIME = 12,
    OFF_NODE_DIGEST = 16,
    OFF_IDENT_DIGEST = 24,
    OFF_PID = 32,
    OFF_PRIORITY = 36,
    OFF_NODE_LEN = 37,
    OFF_IDENT_LEN = 38,
    OFF_TAG_LEN = 39,
    OFF_MSG_LEN = 40,
};

typedef struct DedupEntry {
    uint32_t time;
    uint32_t uid;
} DedupEntry;

struct ClusterLog {
    uint8_t *buf;   /* CLUSTERLOG_BUFFER_SIZE bytes */
    Hashmap *dedup; /* node digest -> DedupEntry */
    uint32_t uid_counter;
};

/* A ring buffer to read: ours or a peer's STATE. */
typedef struct RingView {
    const uint8_t *buf;
    uint32_t size;
} RingView;

static uint32_t get32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static void put32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, sizeof v);
}
static void put64(uint8_t *p, uint64_t v) {
    memcpy(p, &v, sizeof v);
}

uint64_t clusterlog_digest(const char *s) {
    /* FNV-1a 64 (offset basis and prime of the published algorithm), NUL included. */
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = (const unsigned char *) s;
    do {
        h ^= *p;
        h *= 0x100000001b3ULL;
    } while (*p++);
    return h;
}

/* ---- sanitising ------------------------------------------------------------------------- */

/* Strict UTF-8 decoding of one character; returns its byte length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *p, uint32_t *ret) {
    uint32_t cp, min;
    size_t n;
    if (p[0] < 0x80) {
        *ret = p[0];
        return 1;
    } else if ((p[0] & 0xe0) == 0xc0) {
        cp = p[0] & 0x1f, n = 2, min = 0x80;
    } else if ((p[0] & 0xf0) == 0xe0) {
        cp = p[0] & 0x0f, n = 3, min = 0x800;
    } else if ((p[0] & 0xf8) == 0xf0) {
        cp = p[0] & 0x07, n = 4, min = 0x10000;
    } else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret = cp;
    return n;
}

size_t clusterlog_sanitize(const char *s, char *buf, size_t size) {
    assert(buf && size > 0);
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    size_t o = 0;

    while (*p) {
        char tmp[16];
        size_t n;
        uint32_t cp;
        size_t adv = utf8_decode(p, &cp);

        if (adv == 0) {
            tmp[0] = '?', n = 1, adv = 1; /* not UTF-8: one byte becomes '?' */
        } else if (cp < 0x20 || cp == 0x7f) {
            n = (size_t) snprintf(tmp, sizeof tmp, "#%03u", (unsigned) cp);
        } else if (cp == '"' || cp == '\\') {
            tmp[0] = '\\', tmp[1] = (char) cp, n = 2;
        } else if (cp < 0x80) {
            tmp[0] = (char) cp, n = 1;
        } else if (cp < 0x10000) {
            n = (size_t) snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned) cp);
        } else {
            /* Outside the BMP: a UTF-16 surrogate pair, the only form JSON knows. */
            uint32_t v = cp - 0x10000;
            n = (size_t) snprintf(
                tmp, sizeof tmp, "\\u%04x\\u%04x", (unsigned) (0xd800 + (v >> 10)),
                (unsigned) (0xdc00 + (v & 0x3ff))
            );
        }
        if (o + n + 1 > size)
            break;
        memcpy(buf + o, tmp, n);
        o += n;
        p += adv;
    }
    buf[o] = '\0';
    return o;
}

/* ---- entries ---------------------------------------------------------------------------- */

size_t clusterlog_entry_pack(
    void *buf,
    uint32_t uid,
    uint32_t time,
    uint8_t priority,
    uint32_t pid,
    const char *node,
    const char *ident,
    const char *tag,
    const char *msg
) {
    uint8_t *b = buf;
    /* The lengths (NUL included) are stored in one byte each. */
    char vnode[UINT8_MAX], vident[UINT8_MAX], vtag[UINT8_MAX];
    size_t nl = clusterlog_sanitize(node, vnode, sizeof vnode) + 1;
    size_t il = clusterlog_sanitize(ident, vident, sizeof vident) + 1;
    size_t tl = clusterlog_sanitize(tag, vtag, sizeof vtag) + 1;
    size_t room = CLUSTERLOG_MAX_ENTRY_SIZE - CLUSTERLOG_ENTRY_HEADER - nl - il - tl;

    memset(b, 0, CLUSTERLOG_ENTRY_DATA);
    uint8_t *d = b + CLUSTERLOG_ENTRY_DATA;
    memcpy(d, vnode, nl);
    memcpy(d + nl, vident, il);
    memcpy(d + nl + il, vtag, tl);
    size_t ml = clusterlog_sanitize(msg, (char *) d + nl + il + tl, room) + 1;

    put32(b + OFF_UID, uid);
    put32(b + OFF_TIME, time);
    put64(b + OFF_NODE_DIGEST, clusterlog_digest(vnode));
    put64(b + OFF_IDENT_DIGEST, clusterlog_digest(vident));
    put32(b + OFF_PID, pid);
    b[OFF_PRIORITY] = priority;
    b[OFF_NODE_LEN] = (uint8_t) nl;
    b[OFF_IDENT_LEN] = (uint8_t) il;
    b[OFF_TAG_LEN] = (uint8_t) tl;
    put32(b + OFF_MSG_LEN, (uint32_t) ml);

    size_t size = CLUSTERLOG_ENTRY_HEADER + nl + il + tl + ml;
    /* The 4 bytes of tail padding after the message belong to the entry too. */
    memset(d + nl + il + tl + ml, 0, size - CLUSTERLOG_ENTRY_DATA - nl - il - tl - ml);
    return size;
}

/* Decode the entry at p with avail bytes available; exact: avail must be its size. */
static int decode_at(const uint8_t *p, size_t avail, bool exact, ClusterLogEntry *ret) {
    if (avail < CLUSTERLOG_ENTRY_HEADER)
        return -EINVAL;
    size_t nl = p[OFF_NODE_LEN], il = p[OFF_IDENT_LEN], tl = p[OFF_TAG_LEN];
    uint32_t ml = get32(p + OFF_MSG_LEN);
    if (nl == 0 || il == 0 || tl == 0 || ml == 0 || ml > CLUSTERLOG_MAX_ENTRY_SIZE)
        return -EINVAL;
    size_t size = CLUSTERLOG_ENTRY_HEADER + nl + il + tl + ml;
    if (size > CLUSTERLOG_MAX_ENTRY_SIZE || size > avail || (exact && size != avail))
        return -EINVAL;
    const char *d = (const char *) p + CLUSTERLOG_ENTRY_DATA;
    if (d[nl - 1] || d[nl + il - 1] || d[nl + il + tl - 1] || d[nl + il + tl + ml - 1])
        return -EINVAL;

    *ret = (ClusterLogEntry){
        .uid = get32(p + OFF_UID),
        .time = get32(p + OFF_TIME),
        .node_digest = get64(p + OFF_NODE_DIGEST),
        .ident_digest = get64(p + OFF_IDENT_DIGEST),
        .pid = get32(p + OFF_PID),
        .priority = p[OFF_PRIORITY],
        .node = d,
        .ident = d + nl,
        .tag = d + nl + il,
        .msg = d + nl + il + tl,
        .size = size,
    };
    return 0;
}

int clusterlog_entry_decode(const void *buf, size_t len, ClusterLogEntry *ret) {
    return decode_at(buf, len, true, ret);
}

/* ---- ring ------------------------------------------------------------------------------- */

static bool ring_next(const RingView *v, ClusterLogIter *it, ClusterLogEntry *ret) {
    uint32_t pos;

    if (it->done)
        return false;
    if (!it->started) {
        it->started = true;
        pos = get32(v->buf + 4);
    } else {
        pos = get32(v->buf + it->pos + OFF_PREV);
        if (pos != 0) {
            if (!it->wrapped && pos >= it->pos)
                it->wrapped = true; /* jumped up: only what the newest entry left intact */
            else if (it->wrapped && pos >= it->pos)
                pos = 0; /* a second wrap: everything further is overwritten */
            if (it->wrapped && pos < it->low_end)
                pos = 0;
        }
    }
    if (pos < RING_HEADER || pos % 8 != 0 || pos >= v->size ||
        decode_at(v->buf + pos, v->size - pos, false, ret) < 0) {
        it->done = true;
        return false;
    }
    if (it->low_end == 0)
        it->low_end = pos + (uint32_t) ALIGN8(ret->size);
    it->pos = pos;
    return true;
}

static RingView own_view(const ClusterLog *l) {
    return (RingView){l->buf, CLUSTERLOG_BUFFER_SIZE};
}

bool clusterlog_iterate(const ClusterLog *l, ClusterLogIter *it, ClusterLogEntry *ret) {
    RingView v = own_view(l);
    return ring_next(&v, it, ret);
}

size_t clusterlog_count(const ClusterLog *l) {
    ClusterLogIter it = {};
    ClusterLogEntry e;
    size_t n = 0;
    while (clusterlog_iterate(l, &it, &e))
        n++;
    return n;
}

static void ring_init(uint8_t *buf) {
    memset(buf, 0, CLUSTERLOG_BUFFER_SIZE);
    put32(buf, CLUSTERLOG_BUFFER_SIZE);
}

/* Append a validated entry of size bytes to a ring of CLUSTERLOG_BUFFER_SIZE. */
static void ring_append(uint8_t *buf, const uint8_t *entry, size_t size) {
    uint32_t real = (uint32_t) ALIGN8(size);
    uint32_t cpos = get32(buf + 4);
    uint32_t pos = cpos ? get32(buf + cpos + OFF_NEXT) : RING_HEADER;
    if (pos < RING_HEADER || (uint64_t) pos + real >= CLUSTERLOG_BUFFER_SIZE)
        pos = RING_HEADER;
    memcpy(buf + pos, entry, size);
    memset(buf + pos + size, 0, real - size);
    put32(buf + pos + OFF_PREV, cpos);
    put32(buf + pos + OFF_NEXT, pos + real);
    put32(buf + 4, pos);
}

/* Record (time, uid) for the node; false when the entry is not newer than the last one. */
static int dedup_update(Hashmap *dedup, const ClusterLogEntry *e) {
    DedupEntry *d = hashmap_get(dedup, U64_TO_KEY(e->node_digest));
    if (d) {
        if (!(e->time > d->time || (e->time == d->time && e->uid > d->uid)))
            return 0;
    } else {
        d = malloc(sizeof *d);
        if (!d)
            return -ENOMEM;
        if (hashmap_put(dedup, U64_TO_KEY(e->node_digest), d) < 0) {
            free(d);
            return -ENOMEM;
        }
    }
    d->time = e->time;
    d->uid = e->uid;
    return 1;
}

static Hashmap *dedup_free(Hashmap *h) {
    size_t i = 0;
    void *v;
    while (hashmap_iterate(h, &i, NULL, &v))
        free(v);
    return hashmap_free(h);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, dedup_free);

ClusterLog *clusterlog_new(void) {
    ClusterLog *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->buf = aligned_alloc(8, CLUSTERLOG_BUFFER_SIZE);
    l->dedup = hashmap_new(&hashmap_u64_ops);
    if (!l->buf || !l->dedup)
        return clusterlog_free(l);
    ring_init(l->buf);
    return l;
}

ClusterLog *clusterlog_free(ClusterLog *l) {
    if (!l)
        return NULL;
    if (l->dedup)
        dedup_free(l->dedup);
    free(l->buf);
    free(l);
    return NULL;
}

int clusterlog_insert(ClusterLog *l, const void *entry, size_t len) {
    ClusterLogEntry e;
    int r = clusterlog_entry_decode(entry, len, &e);
    if (r < 0)
        return r;
    r = dedup_update(l->dedup, &e);
    if (r <= 0)
        return r;
    ring_append(l->buf, entry, len);
    return 1;
}

int clusterlog_add(
    ClusterLog *l,
    const char *node,
    const char *ident,
    const char *tag,
    uint32_t pid,
    uint8_t priority,
    uint32_t time,
    const char *msg,
    void *ret_entry,
    size_t *ret_len
) {
    uint64_t buf[CLUSTERLOG_MAX_ENTRY_SIZE / 8];
    size_t len =
        clusterlog_entry_pack(buf, ++l->uid_counter, time, priority, pid, node, ident, tag, msg);
    int r = clusterlog_insert(l, buf, len);
    if (r < 0)
        return r;
    if (ret_entry)
        memcpy(ret_entry, buf, len);
    if (ret_len)
        *ret_len = len;
    return r;
}

/* ---- merge ------------------------------------------------------------------------------ */

typedef struct MergeItem {
    const uint8_t *raw;
    ClusterLogEntry e;
} MergeItem;

static int merge_item_cmp(const void *a, const void *b) {
    const ClusterLogEntry *x = &((const MergeItem *) a)->e, *y = &((const MergeItem *) b)->e;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->node_digest != y->node_digest)
        return x->node_digest < y->node_digest ? -1 : 1;
    if (x->uid != y->uid)
        return x->uid < y->uid ? -1 : 1;
    return 0;
}

int clusterlog_state_check(const void *state, size_t len) {
    const uint8_t *b = state;
    if (!state || len < RING_HEADER || len > STATE_MAX || get32(b) != len)
        return -EINVAL;
    uint32_t cpos = get32(b + 4);
    if (cpos != 0 && (cpos < RING_HEADER || cpos >= len))
        return -EINVAL;
    /* The entries themselves are checked while walking; a bad one ends the walk. */
    return 0;
}

/* Merge the entries of n rings into a new ring (and its dedup table, when wanted). */
static int merge_rings(const RingView *views, size_t n, uint8_t **ret_buf, Hashmap **ret_dedup) {
    _cleanup_free_ MergeItem *items = NULL;
    size_t n_items = 0, cap = 0;

    for (size_t i = 0; i < n; i++) {
        ClusterLogIter it = {};
        ClusterLogEntry e;
        while (ring_next(&views[i], &it, &e)) {
            if (n_items == cap) {
                size_t ncap = cap ? cap * 2 : 512;
                MergeItem *t = reallocarray(items, ncap, sizeof *items);
                if (!t)
                    return -ENOMEM;
                items = t, cap = ncap;
            }
            items[n_items++] = (MergeItem){views[i].buf + it.pos, e};
        }
    }
    if (n_items > 0)
        qsort(items, n_items, sizeof *items, merge_item_cmp);

    /* Keep the newest entries that fit without wrapping, dropping exact duplicates. */
    size_t first = n_items, used = RING_HEADER;
    for (size_t i = n_items; i-- > 0;) {
        if (i + 1 < n_items && merge_item_cmp(&items[i], &items[i + 1]) == 0)
            continue;
        size_t real = ALIGN8(items[i].e.size);
        if (used + real >= CLUSTERLOG_BUFFER_SIZE)
            break;
        used += real;
        first = i;
    }

    _cleanup_free_ uint8_t *buf = aligned_alloc(8, CLUSTERLOG_BUFFER_SIZE);
    _cleanup_(dedup_freep) Hashmap *dedup = ret_dedup ? hashmap_new(&hashmap_u64_ops) : NULL;
    if (!buf || (ret_dedup && !dedup))
        return -ENOMEM;
    ring_init(buf);
    for (size_t i = first; i < n_items; i++) {
        if (i + 1 < n_items && merge_item_cmp(&items[i], &items[i + 1]) == 0)
            continue;
        ring_append(buf, items[i].raw, items[i].e.size);
        if (dedup && dedup_update(dedup, &items[i].e) < 0)
            return -ENOMEM;
    }
    *ret_buf = TAKE_PTR(buf);
    if (ret_dedup)
        *ret_dedup = TAKE_PTR(dedup);
    return 0;
}

int clusterlog_get_state(const ClusterLog *l, void **ret, size_t *ret_len) {
    RingView v = own_view(l);
    uint8_t *buf = NULL;
    int r = merge_rings(&v, 1, &buf, NULL);
    if (r < 0)
        return r;
    *ret = buf;
    *ret_len = CLUSTERLOG_BUFFER_SIZE;
    return 0;
}

int clusterlog_merge(ClusterLog *l, const void *const *states, const size_t *lens, size_t n) {
    _cleanup_free_ RingView *views = calloc(n + 1, sizeof *views);
    if (!views)
        return -ENOMEM;
    views[0] = own_view(l);
    for (size_t i = 0; i < n; i++) {
        if (clusterlog_state_check(states[i], lens[i]) < 0)
            return -EINVAL;
        views[i + 1] = (RingView){states[i], (uint32_t) lens[i]};
    }
    uint8_t *buf = NULL;
    Hashmap *dedup = NULL;
    int r = merge_rings(views, n + 1, &buf, &dedup);
    if (r < 0)
        return r;
    free(l->buf);
    dedup_free(l->dedup);
    l->buf = buf;
    l->dedup = dedup;
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Stored strings are already escaped (by clusterlog_sanitize, or by a peer's equivalent), so
 * they are copied as they are; anything a peer sent that would still break the JSON (a stray
 * backslash or quote, raw control or non-ASCII bytes) is escaped here. Idempotent on our own
 * output.
 */
static void append_json_safe(StrBuf *b, const char *s) {
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (c == '\\') {
            char n = p[1];
            if (n && strchr("\"\\/bfnrt", n)) {
                strbuf_append_len(b, p, 2);
                p++;
            } else if (n == 'u' && is_hex(p[2]) && is_hex(p[3]) && is_hex(p[4]) && is_hex(p[5])) {
                strbuf_append_len(b, p, 6);
                p += 5;
            } else
                strbuf_append(b, "\\\\");
        } else if (c == '"')
            strbuf_append(b, "\\\"");
        else if (c < 0x20)
            strbuf_printf(b, "\\u%04x", c);
        else if (c >= 0x80)
            strbuf_append_char(b, '?');
        else
            strbuf_append_char(b, (char) c);
    }
}

int clusterlog_dump_json(
    const ClusterLog *l, unsigned max, const char *user, char **ret, size_t *ret_len
) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    char vuser[UINT8_MAX];
    bool filter = user && user[0];
    uint64_t user_digest = 0;

    if (max == 0)
        max = CLUSTERLOG_DEFAULT_ENTRIES;
    if (filter) {
        /* Entries store the sanitised ident; compare like with like. */
        clusterlog_sanitize(user, vuser, sizeof vuser);
        user_digest = clusterlog_digest(vuser);
    }

    strbuf_append(&b, "{\n\"data\": [\n");
    ClusterLogIter it = {};
    ClusterLogEntry e;
    unsigned count = 0;
    while (count < max && clusterlog_iterate(l, &it, &e)) {
        if (filter && (e.ident_digest != user_digest || strcmp(e.ident, vuser) != 0))
            continue;
        if (count++ > 0)
            strbuf_append(&b, ",\n");
        strbuf_printf(
            &b, "{\"uid\": %u, \"time\": %u, \"pri\": %u, \"tag\": \"", e.uid, e.time,
            (unsigned) e.priority
        );
        append_json_safe(&b, e.tag);
        strbuf_printf(&b, "\", \"pid\": %u, \"node\": \"", e.pid);
        append_json_safe(&b, e.node);
        strbuf_append(&b, "\", \"user\": \"");
        append_json_safe(&b, e.ident);
        strbuf_append(&b, "\", \"msg\": \"");
        append_json_safe(&b, e.msg);
        strbuf_append(&b, "\"}");
    }
    if (count > 0)
        strbuf_append_char(&b, '\n');
    strbuf_append(&b, "]\n}\n");
    return strbuf_finish(&b, ret, ret_len);
}
