/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-multipart: streaming multipart/form-data parser; text fields to JSON, the file part to
 * a temporary file (see http-multipart.h).
 *
 * The body is scanned for the delimiter "\r\n--<boundary>". The buffer starts with a virtual
 * "\r\n" so the first delimiter (which has no CRLF in front) is found the same way. Part data
 * is handed on as soon as it cannot be the start of a delimiter any more.
 */
#include "pve/http-multipart.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pve/digest.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/strbuf.h"

#define MAX_PADDING 256 /* transport padding after a delimiter */

typedef enum State {
    STATE_PREAMBLE,
    STATE_DELIMITER, /* right after a delimiter: "--" (close) or padding + CRLF */
    STATE_HEADERS,
    STATE_BODY,
    STATE_DONE,
} State;

struct HttpMultipartForm {
    char *delim; /* "\r\n--" boundary */
    size_t delim_len;
    State state;
    int error;
    StrBuf buf; /* unparsed input */
    size_t n_parts;

    /* current part */
    bool in_file;
    char *field_name;
    StrBuf field; /* value of the current text field */
    size_t fields_len;
    json_t *fields;

    /* the file */
    char *upload_dir;
    uint64_t max_file_size;
    char *file_path;
    char *file_name;
    char *file_field;
    uint64_t file_size;
    bool have_file;
    int fd;
};

/* ---- headers --------------------------------------------------------------------------------- */

static const char *skip_ws(const char *s, const char *end) {
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static size_t rem(const char *s, const char *end) {
    return s < end ? (size_t) (end - s) : 0;
}

static const char *rtrim(const char *s, const char *end) {
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

/* A parameter value at *p (quoted with backslash escapes, or a token up to ';'). */
static int param_value(const char **p, const char *end, char **ret) {
    _cleanup_(strbuf_donep) StrBuf v = STRBUF_INIT;
    const char *s = *p;
    strbuf_append(&v, "");
    if (s < end && *s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end)
                s++;
            strbuf_append_char(&v, *s);
        }
        if (s >= end)
            return -EINVAL; /* unterminated */
        s++;
    } else {
        const char *e = memchr(s, ';', rem(s, end));
        e = e ? e : end;
        strbuf_append_len(&v, s, (size_t) (rtrim(s, e) - s));
        s = e;
    }
    *p = s;
    return strbuf_finish(&v, ret, NULL);
}

/* `form-data; name="x"; filename="y"` */
static int parse_disposition(
    const char *s, const char *end, char **ret_name, char **ret_filename, bool *ret_has_filename
) {
    s = skip_ws(s, end);
    const char *semi = memchr(s, ';', rem(s, end));
    const char *te = rtrim(s, semi ? semi : end);
    if ((size_t) (te - s) != STRLEN("form-data") || strncasecmp(s, "form-data", te - s) != 0)
        return -EINVAL;
    s = semi ? semi : end;

    _cleanup_free_ char *name = NULL, *filename = NULL;
    bool has_filename = false;
    while (s < end) {
        s = skip_ws(s + (*s == ';'), end);
        const char *k = s;
        while (s < end && *s != '=' && *s != ';')
            s++;
        const char *ke = rtrim(k, s);
        if (s >= end || *s == ';')
            continue; /* a parameter without value */
        s = skip_ws(s + 1, end);
        _cleanup_free_ char *v = NULL;
        int r = param_value(&s, end, &v);
        if (r < 0)
            return r;
        s = skip_ws(s, end);
        if (s < end && *s != ';')
            return -EINVAL;
        size_t kl = (size_t) (ke - k);
        if (kl == 4 && strncasecmp(k, "name", 4) == 0) {
            free(name);
            name = TAKE_PTR(v);
        } else if (kl == 8 && strncasecmp(k, "filename", 8) == 0) {
            free(filename);
            filename = TAKE_PTR(v);
            has_filename = true;
        }
    }
    if (!name || !*name)
        return -EINVAL;
    *ret_name = TAKE_PTR(name);
    *ret_filename = TAKE_PTR(filename);
    *ret_has_filename = has_filename;
    return 0;
}

/* Find Content-Disposition in a header block (lines separated by CRLF, no final CRLF). */
static int parse_headers(
    const char *h, size_t len, char **ret_name, char **ret_filename, bool *ret_has_filename
) {
    const char *end = h + len;
    if (memchr(h, '\0', len))
        return -EINVAL;
    while (h < end) {
        const char *le = h;
        while (le < end && !(le[0] == '\r' && le + 1 < end && le[1] == '\n'))
            le++;
        const char *colon = memchr(h, ':', rem(h, le));
        static const char cd[] = "Content-Disposition";
        if (colon && (size_t) (rtrim(h, colon) - h) == (sizeof(cd) - 1) &&
            strncasecmp(h, cd, (sizeof(cd) - 1)) == 0)
            return parse_disposition(colon + 1, le, ret_name, ret_filename, ret_has_filename);
        h = le + 2;
    }
    return -EINVAL;
}

/* ---- parts ----------------------------------------------------------------------------------- */

static int open_upload_file(HttpMultipartForm *f) {
    uint8_t rnd[16];
    char hex[33];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t) n;
    }
    digest_to_hex(rnd, sizeof rnd, hex);
    if (asprintf(&f->file_path, "%s/pveupload-%s", f->upload_dir, hex) < 0) {
        f->file_path = NULL;
        return -ENOMEM;
    }
    f->fd = open(f->file_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f->fd < 0) {
        int r = -errno;
        free(f->file_path);
        f->file_path = NULL;
        return r;
    }
    return 0;
}

static int part_begin(HttpMultipartForm *f, const char *headers, size_t len) {
    _cleanup_free_ char *name = NULL, *filename = NULL;
    bool has_filename = false;
    if (++f->n_parts > HTTP_MULTIPART_MAX_PARTS)
        return -E2BIG;
    int r = parse_headers(headers, len, &name, &filename, &has_filename);
    if (r < 0)
        return r;
    if (!has_filename) {
        f->in_file = false;
        free(f->field_name);
        f->field_name = TAKE_PTR(name);
        strbuf_truncate(&f->field, 0);
        return 0;
    }
    if (f->have_file)
        return -EINVAL; /* one file per upload */
    f->have_file = f->in_file = true;
    f->file_name = TAKE_PTR(filename);
    f->file_field = TAKE_PTR(name);
    return f->upload_dir ? open_upload_file(f) : 0;
}

static int part_data(HttpMultipartForm *f, const char *data, size_t len) {
    if (len == 0)
        return 0;
    if (f->in_file) {
        if (f->max_file_size && len > f->max_file_size - f->file_size)
            return -EFBIG;
        f->file_size += len;
        return f->fd >= 0 ? write_all(f->fd, data, len) : 0;
    }
    if (f->field.len + len > HTTP_MULTIPART_MAX_FIELD ||
        f->fields_len + len > HTTP_MULTIPART_MAX_FIELDS_LEN)
        return -E2BIG;
    f->fields_len += len;
    strbuf_append_len(&f->field, data, len);
    return f->field.error;
}

static int part_end(HttpMultipartForm *f) {
    if (f->in_file) {
        f->in_file = false;
        f->fd = safe_close(f->fd);
        return 0;
    }
    const char *v = f->field.data ? f->field.data : "";
    if (memchr(v, '\0', f->field.len))
        return -EINVAL;
    json_t *s = json_stringn(v, f->field.len);
    if (!s)
        return -EINVAL; /* invalid UTF-8 */
    return json_object_set_new(f->fields, f->field_name, s) < 0 ? -EINVAL : 0;
}

/* ---- the state machine ----------------------------------------------------------------------- */

static void consume(HttpMultipartForm *f, size_t n) {
    assert(n <= f->buf.len);
    memmove(f->buf.data, f->buf.data + n, f->buf.len - n);
    strbuf_truncate(&f->buf, f->buf.len - n);
}

/* Position of the next delimiter in the buffer, or NULL. */
static const char *find_delim(const HttpMultipartForm *f) {
    return memmem(f->buf.data, f->buf.len, f->delim, f->delim_len);
}

/* Bytes at the end of the buffer that may still be the start of a delimiter. */
static size_t keep_len(const HttpMultipartForm *f) {
    return MIN(f->buf.len, f->delim_len - 1);
}

static int step_delimiter(HttpMultipartForm *f) {
    const char *b = f->buf.data;
    size_t len = f->buf.len;
    if (len >= 2 && b[0] == '-' && b[1] == '-') {
        f->state = STATE_DONE;
        return 1;
    }
    size_t i = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\t'))
        i++;
    if (i > MAX_PADDING)
        return -EINVAL;
    if (len < 2 || len - i < 2)
        return 0; /* need more */
    if (b[i] != '\r' || b[i + 1] != '\n')
        return -EINVAL;
    consume(f, i + 2);
    f->state = STATE_HEADERS;
    return 1;
}

static int step_headers(HttpMultipartForm *f) {
    const char *b = f->buf.data;
    if (f->buf.len >= 2 && b[0] == '\r' && b[1] == '\n')
        return -EINVAL; /* a part without headers has no name */
    const char *e = memmem(b, f->buf.len, "\r\n\r\n", 4);
    if (!e)
        return f->buf.len > HTTP_MULTIPART_MAX_HEADER ? -E2BIG : 0;
    size_t hlen = (size_t) (e - b);
    if (hlen > HTTP_MULTIPART_MAX_HEADER)
        return -E2BIG;
    int r = part_begin(f, b, hlen);
    if (r < 0)
        return r;
    consume(f, hlen + 4);
    f->state = STATE_BODY;
    return 1;
}

static int step_body(HttpMultipartForm *f) {
    const char *d = find_delim(f);
    size_t n = d ? (size_t) (d - f->buf.data) : f->buf.len - keep_len(f);
    int r = part_data(f, f->buf.data, n);
    if (r < 0)
        return r;
    if (!d) {
        consume(f, n);
        return 0;
    }
    consume(f, n + f->delim_len);
    r = part_end(f);
    if (r < 0)
        return r;
    f->state = STATE_DELIMITER;
    return 1;
}

static int step(HttpMultipartForm *f) {
    switch (f->state) {
    case STATE_PREAMBLE: {
        const char *d = find_delim(f);
        if (!d) {
            consume(f, f->buf.len - keep_len(f));
            return 0;
        }
        consume(f, (size_t) (d - f->buf.data) + f->delim_len);
        f->state = STATE_DELIMITER;
        return 1;
    }
    case STATE_DELIMITER:
        return step_delimiter(f);
    case STATE_HEADERS:
        return step_headers(f);
    case STATE_BODY:
        return step_body(f);
    case STATE_DONE:
        strbuf_truncate(&f->buf, 0); /* the epilogue is ignored */
        return 0;
    }
    return -EINVAL;
}

int http_multipart_form_feed(HttpMultipartForm *f, const void *data, size_t len) {
    assert(f);
    assert(data || len == 0);
    if (f->error < 0)
        return f->error;
    if (f->state == STATE_DONE)
        return 0;
    strbuf_append_len(&f->buf, data, len);
    int r = f->buf.error;
    while (r >= 0) {
        r = step(f);
        if (r == 0)
            break;
    }
    if (r < 0)
        f->error = r;
    return r < 0 ? r : 0;
}

int http_multipart_form_finish(HttpMultipartForm *f) {
    assert(f);
    if (f->error < 0)
        return f->error;
    if (f->state != STATE_DONE)
        f->error = -EINVAL;
    return f->error;
}

/* ---- setup ----------------------------------------------------------------------------------- */

int http_multipart_boundary(const char *content_type, char **ret) {
    assert(content_type && ret);
    static const char mt[] = "multipart/form-data";
    const char *s = content_type, *end = s + strlen(s);
    s = skip_ws(s, end);
    if (strncasecmp(s, mt, (sizeof(mt) - 1)) != 0)
        return -EINVAL;
    s = skip_ws(s + (sizeof(mt) - 1), end);
    while (s < end && *s == ';') {
        s = skip_ws(s + 1, end);
        const char *k = s;
        while (s < end && *s != '=' && *s != ';')
            s++;
        const char *ke = rtrim(k, s);
        if (s >= end || *s == ';')
            continue;
        s = skip_ws(s + 1, end);
        _cleanup_free_ char *v = NULL;
        int r = param_value(&s, end, &v);
        if (r < 0)
            return r;
        s = skip_ws(s, end);
        if (ke - k == 8 && strncasecmp(k, "boundary", 8) == 0) {
            size_t n = strlen(v);
            if (n == 0 || n > HTTP_MULTIPART_MAX_BOUNDARY)
                return -EINVAL;
            for (size_t i = 0; i < n; i++)
                if ((unsigned char) v[i] < 0x20 || v[i] == 0x7f)
                    return -EINVAL;
            *ret = TAKE_PTR(v);
            return 0;
        }
    }
    return -EINVAL;
}

int http_multipart_form_new(
    const char *content_type,
    const char *upload_dir,
    uint64_t max_file_size,
    HttpMultipartForm **ret
) {
    assert(ret);
    _cleanup_free_ char *boundary = NULL;
    int r = http_multipart_boundary(content_type, &boundary);
    if (r < 0)
        return r;
    _cleanup_(http_multipart_form_freep) HttpMultipartForm *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->fd = -EBADF;
    f->max_file_size = max_file_size;
    f->fields = json_object();
    if (!f->fields || asprintf(&f->delim, "\r\n--%s", boundary) < 0) {
        f->delim = NULL;
        return -ENOMEM;
    }
    f->delim_len = strlen(f->delim);
    if (upload_dir && !(f->upload_dir = strdup(upload_dir)))
        return -ENOMEM;
    strbuf_append(&f->buf, "\r\n");
    if (f->buf.error < 0)
        return f->buf.error;
    *ret = TAKE_PTR(f);
    return 0;
}

HttpMultipartForm *http_multipart_form_free(HttpMultipartForm *f) {
    if (!f)
        return NULL;
    safe_close(f->fd);
    if (f->file_path)
        (void) unlink(f->file_path);
    free(f->file_path);
    free(f->file_name);
    free(f->file_field);
    free(f->upload_dir);
    free(f->field_name);
    free(f->delim);
    strbuf_done(&f->field);
    strbuf_done(&f->buf);
    json_decref(f->fields);
    free(f);
    return NULL;
}

json_t *http_multipart_form_fields(const HttpMultipartForm *f) {
    return f->fields;
}
const char *http_multipart_form_file_path(const HttpMultipartForm *f) {
    return f->file_path;
}
const char *http_multipart_form_file_name(const HttpMultipartForm *f) {
    return f->have_file ? (f->file_name ? f->file_name : "") : NULL;
}
const char *http_multipart_form_file_field(const HttpMultipartForm *f) {
    return f->file_field;
}
uint64_t http_multipart_form_file_size(const HttpMultipartForm *f) {
    return f->file_size;
}
