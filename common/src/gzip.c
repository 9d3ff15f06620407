/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gzip: HTTP response compression with zlib (see gzip.h).
 */
#include "pve/gzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "pve/macro.h"
#include "pve/string-util.h"

/* q value of a coding in an Accept-Encoding list; -1 when absent */
static double coding_q(const char *header, const char *coding) {
    size_t n = strlen(coding);
    const char *p = header;
    while (*p) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",; \t");
        bool match = len == n && strncasecmp(p, coding, n) == 0;
        bool star = len == 1 && *p == '*';
        p += len;
        double q = 1.0;
        const char *end = p + strcspn(p, ",");
        const char *qs = strstr(p, "q=");
        if (qs && qs < end)
            q = strtod(qs + 2, NULL);
        p = end;
        if (match || (star && !streq(coding, "identity")))
            return q;
    }
    return -1;
}

GzipEncoding gzip_negotiate(const char *accept_encoding) {
    if (!accept_encoding)
        return GZIP_NONE;
    if (coding_q(accept_encoding, "gzip") > 0)
        return GZIP_GZIP;
    if (coding_q(accept_encoding, "deflate") > 0)
        return GZIP_DEFLATE;
    return GZIP_NONE;
}

bool gzip_content_type_compressible(const char *ct) {
    if (!ct)
        return false;
    static const char *const ok[] = {
        "text/",
        "application/json",
        "application/javascript",
        "application/x-javascript",
        "image/svg+xml",
        "application/xml",
        "application/x-virt-viewer",
    };
    for (size_t i = 0; i < ELEMENTSOF(ok); i++)
        if (strncasecmp(ct, ok[i], strlen(ok[i])) == 0)
            return true;
    return false;
}

const char *gzip_encoding_name(GzipEncoding enc) {
    return enc == GZIP_GZIP ? "gzip" : enc == GZIP_DEFLATE ? "deflate" : "identity";
}

int gzip_compress(GzipEncoding enc, const void *in, size_t len, void **ret, size_t *ret_len) {
    if (enc == GZIP_NONE)
        return -EINVAL;
    z_stream z = {};
    if (deflateInit2(&z, 6, Z_DEFLATED, enc == GZIP_GZIP ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t cap = deflateBound(&z, len);
    uint8_t *out = malloc(cap ?: 1);
    if (!out) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *) in;
    z.avail_in = (uInt) len;
    z.next_out = out;
    z.avail_out = (uInt) cap;
    int zr = deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(out);
        return -EIO;
    }
    *ret = out;
    *ret_len = n;
    return 0;
}
