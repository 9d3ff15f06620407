/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Operation log file format (host byte order; the file never leaves the node):
 *   group  = magic u32, payload length u32, crc32(payload) u32, record count u32, payload
 *   record = kind u8, type u8, name length u16, writer u32, mtime u32, data size u32,
 *            inode u64, parent u64, version u64, name bytes, data bytes (PUT only)
 * A group is written with one write(); readers accept a group only when it is complete and
 * its checksum matches.
 */
#include "oplog.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define OPLOG_MAGIC      0x474f4c50u /* "PLOG" */
#define GROUP_HEADER     16u
#define RECORD_HEADER    40u
#define REPLAY_MAX_BYTES (1024ull * 1024 * 1024)

struct Oplog {
    int fd;
    uint64_t size;
    char *buf; /* reused group buffer */
    size_t cap;
};

static void put_u16(char **p, uint16_t v) {
    memcpy(*p, &v, sizeof v);
    *p += sizeof v;
}
static void put_u32(char **p, uint32_t v) {
    memcpy(*p, &v, sizeof v);
    *p += sizeof v;
}
static void put_u64(char **p, uint64_t v) {
    memcpy(*p, &v, sizeof v);
    *p += sizeof v;
}
static uint16_t get_u16(const char **p) {
    uint16_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}
static uint32_t get_u32(const char **p) {
    uint32_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}
static uint64_t get_u64(const char **p) {
    uint64_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}

int oplog_open(const char *path, Oplog **ret) {
    _cleanup_(oplog_closep) Oplog *l = calloc(1, sizeof *l);
    struct stat st;
    if (!l)
        return -ENOMEM;
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (l->fd < 0)
        return -errno;
    if (fstat(l->fd, &st) < 0)
        return -errno;
    l->size = (uint64_t) st.st_size;
    *ret = TAKE_PTR(l);
    return 0;
}

Oplog *oplog_close(Oplog *l) {
    if (!l)
        return NULL;
    safe_close(l->fd);
    free(l->buf);
    free(l);
    return NULL;
}

uint64_t oplog_size(const Oplog *l) {
    return l->size;
}

static size_t record_size(const OplogRecord *r) {
    size_t n = RECORD_HEADER;
    if (r->kind == OPLOG_PUT || r->kind == OPLOG_META)
        n += strlen(r->row.name);
    if (r->kind == OPLOG_PUT)
        n += r->row.size;
    return n;
}

int oplog_append(Oplog *l, const OplogRecord *recs, size_t n) {
    size_t payload = 0;
    for (size_t i = 0; i < n; i++) {
        if ((recs[i].kind == OPLOG_PUT || recs[i].kind == OPLOG_META) &&
            strlen(recs[i].row.name) > UINT16_MAX)
            return -ENAMETOOLONG;
        payload += record_size(&recs[i]);
    }
    if (payload > OPLOG_GROUP_MAX || n > UINT32_MAX)
        return -EFBIG;
    size_t total = GROUP_HEADER + payload;
    if (total > l->cap) {
        char *b = realloc(l->buf, total);
        if (!b)
            return -ENOMEM;
        l->buf = b;
        l->cap = total;
    }

    char *p = l->buf + GROUP_HEADER;
    for (size_t i = 0; i < n; i++) {
        const DatabaseRow *row = &recs[i].row;
        bool named = recs[i].kind == OPLOG_PUT || recs[i].kind == OPLOG_META;
        size_t namelen = named ? strlen(row->name) : 0;
        size_t datalen = recs[i].kind == OPLOG_PUT ? row->size : 0;
        *p++ = (char) recs[i].kind;
        *p++ = (char) row->type;
        put_u16(&p, (uint16_t) namelen);
        put_u32(&p, row->writer);
        put_u32(&p, row->mtime);
        put_u32(&p, (uint32_t) datalen);
        put_u64(&p, row->inode);
        put_u64(&p, row->parent);
        put_u64(&p, row->version);
        if (namelen)
            memcpy(p, row->name, namelen);
        p += namelen;
        if (datalen)
            memcpy(p, row->data, datalen);
        p += datalen;
    }
    char *h = l->buf;
    put_u32(&h, OPLOG_MAGIC);
    put_u32(&h, (uint32_t) payload);
    put_u32(&h, (uint32_t) crc32(0L, (const Bytef *) l->buf + GROUP_HEADER, (uInt) payload));
    put_u32(&h, (uint32_t) n);

    size_t done = 0;
    while (done < total) {
        ssize_t w = write(l->fd, l->buf + done, total - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int r = w < 0 ? -errno : -EIO;
            /* Leave no partial group behind (the replay would drop it anyway). */
            (void) ftruncate(l->fd, (off_t) l->size);
            return r;
        }
        done += (size_t) w;
    }
    l->size += total;
    return 0;
}

int oplog_reset(Oplog *l) {
    if (l->size == 0)
        return 0;
    if (ftruncate(l->fd, 0) < 0)
        return -errno;
    l->size = 0;
    return 0;
}

/* Parse one group's records; -EBADMSG if they do not fill the payload exactly. */
static int replay_group(
    const char *p,
    size_t len,
    uint32_t count,
    int (*fn)(void *userdata, const OplogRecord *rec),
    void *userdata,
    bool dry_run
) {
    const char *end = p + len;
    char name[UINT16_MAX + 1];
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t) (end - p) < RECORD_HEADER)
            return -EBADMSG;
        OplogRecord rec = {.kind = (OplogKind) (unsigned char) *p++};
        rec.row.type = (uint8_t) *p++;
        uint16_t namelen = get_u16(&p);
        rec.row.writer = get_u32(&p);
        rec.row.mtime = get_u32(&p);
        uint32_t datalen = get_u32(&p);
        rec.row.inode = get_u64(&p);
        rec.row.parent = get_u64(&p);
        rec.row.version = get_u64(&p);
        if (rec.kind < OPLOG_PUT || rec.kind > OPLOG_VERSION ||
            (rec.kind != OPLOG_PUT && datalen) ||
            (rec.kind != OPLOG_PUT && rec.kind != OPLOG_META && namelen) ||
            (size_t) (end - p) < (size_t) namelen + datalen)
            return -EBADMSG;
        memcpy(name, p, namelen);
        name[namelen] = '\0';
        p += namelen;
        rec.row.name = name;
        rec.row.data = datalen ? p : NULL;
        rec.row.size = datalen;
        p += datalen;
        if (!dry_run) {
            int r = fn(userdata, &rec);
            if (r < 0)
                return r;
        }
    }
    return p == end ? 0 : -EBADMSG;
}

int oplog_replay(
    const char *path,
    int (*fn)(void *userdata, const OplogRecord *rec),
    void *userdata,
    uint64_t *ret_dropped
) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    *ret_dropped = 0;
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((uint64_t) st.st_size > REPLAY_MAX_BYTES)
        return -EFBIG;
    size_t size = (size_t) st.st_size;
    if (size == 0)
        return 0;
    _cleanup_free_ char *buf = malloc(size);
    if (!buf)
        return -ENOMEM;
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t) n;
    }

    size_t off = 0;
    while (got - off >= GROUP_HEADER) {
        const char *h = buf + off;
        uint32_t magic = get_u32(&h), len = get_u32(&h), crc = get_u32(&h), count = get_u32(&h);
        if (magic != OPLOG_MAGIC || len > OPLOG_GROUP_MAX || got - off - GROUP_HEADER < len)
            break;
        const char *payload = buf + off + GROUP_HEADER;
        if ((uint32_t) crc32(0L, (const Bytef *) payload, len) != crc)
            break;
        /* Validate the whole group before applying any of it. */
        if (replay_group(payload, len, count, fn, userdata, true) < 0)
            break;
        int r = replay_group(payload, len, count, fn, userdata, false);
        if (r < 0)
            return r;
        off += GROUP_HEADER + len;
    }
    *ret_dropped = got - off;
    return 0;
}
