/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-multipart: a streaming multipart/form-data parser (RFC 7578) for the storage upload
 * endpoint. Text fields are collected into a JSON object of strings; the one file part (a part
 * with a `filename` attribute) is written to a new temporary file `pveupload-<32 hex>` in an
 * upload directory while the body arrives, so an ISO never sits in memory.
 *
 * The form owns the temporary file: http_multipart_form_free() unlinks it unless the caller
 * moved it away first. Data is fed in arbitrary pieces; the parser keeps at most one part
 * header block (HTTP_MULTIPART_MAX_HEADER) or one boundary's worth of bytes buffered.
 *
 * No event loop and no logging; the only I/O is the temporary file.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "pve/macro.h"

#define HTTP_MULTIPART_MAX_BOUNDARY   70
#define HTTP_MULTIPART_MAX_HEADER     (8 * 1024) /* one part's header block */
#define HTTP_MULTIPART_MAX_PARTS      64
#define HTTP_MULTIPART_MAX_FIELD      (64 * 1024)  /* one text field */
#define HTTP_MULTIPART_MAX_FIELDS_LEN (512 * 1024) /* all text fields together */
#define HTTP_MULTIPART_DEFAULT_DIR    "/var/tmp"

typedef struct HttpMultipartForm HttpMultipartForm;

/*
 * The boundary of a Content-Type such as `multipart/form-data; boundary="x"` (malloc'd).
 * -EINVAL when the media type is not multipart/form-data or the boundary is missing, empty,
 * longer than 70 bytes or contains control characters.
 */
int http_multipart_boundary(const char *content_type, char **ret);

/*
 * A form for a request with that Content-Type. upload_dir NULL discards file data (it is only
 * counted; for tests and fuzzing). max_file_size 0 = no limit. -EINVAL (bad content type),
 * -ENOMEM.
 */
int http_multipart_form_new(
    const char *content_type,
    const char *upload_dir,
    uint64_t max_file_size,
    HttpMultipartForm **ret
);
/* Unlinks the temporary file if it still exists. Accepts NULL, returns NULL. */
HttpMultipartForm *http_multipart_form_free(HttpMultipartForm *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpMultipartForm *, http_multipart_form_free);

/*
 * Feed the next piece of the body. 0, or: -EINVAL malformed (bad delimiter line, header
 * without a form-data Content-Disposition or name, a second file, a NUL or invalid UTF-8 in a
 * text field), -E2BIG a cap above was exceeded, -EFBIG the file is larger than max_file_size,
 * other negative errno when creating or writing the file failed. After an error the form
 * stays failed (every later call returns the same error).
 */
int http_multipart_form_feed(HttpMultipartForm *f, const void *data, size_t len);
/* End of body: 0 when the closing delimiter was seen, else -EINVAL (or the earlier error). */
int http_multipart_form_finish(HttpMultipartForm *f);

/* Text fields (borrowed object, name -> string; a repeated name keeps the last value). */
json_t *http_multipart_form_fields(const HttpMultipartForm *f);
/* The file part: temporary path (NULL without a file or when discarding), the client's
 * filename attribute and field name (NULL without a file), bytes received. */
const char *http_multipart_form_file_path(const HttpMultipartForm *f);
const char *http_multipart_form_file_name(const HttpMultipartForm *f);
const char *http_multipart_form_file_field(const HttpMultipartForm *f);
uint64_t http_multipart_form_file_size(const HttpMultipartForm *f);
