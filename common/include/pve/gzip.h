/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gzip: response compression for the API servers (api.md §3.4: gzip preferred, deflate as
 * fallback, bodies above 1 KiB, never images, fonts or archives).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define GZIP_MIN_SIZE 1024

typedef enum GzipEncoding {
    GZIP_NONE,
    GZIP_GZIP,
    GZIP_DEFLATE,
} GzipEncoding;

/* What to use for a client's Accept-Encoding header (NULL = none). q=0 excludes a coding. */
GzipEncoding gzip_negotiate(const char *accept_encoding);
/* Whether a content type is worth compressing (text, JSON, JavaScript, SVG...). */
bool gzip_content_type_compressible(const char *content_type);
/* Compress into a malloc'd buffer: gzip framing or zlib (HTTP "deflate"). 0, -ENOMEM, -EIO. */
int gzip_compress(GzipEncoding enc, const void *in, size_t len, void **ret, size_t *ret_len);
/* Content-Encoding token. */
const char *gzip_encoding_name(GzipEncoding enc);
