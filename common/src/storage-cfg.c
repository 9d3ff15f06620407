/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-cfg: storage.cfg as upstream's storage plugins see it: type tables, option schemas,
 * read-time defaults, value normalisation and the canonical writer (see storage-cfg.h).
 */
#include "pve/storage-cfg.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/json-util.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

/* ---- properties ------------------------------------------------------------------------------ */

static const PropertyStringField bwlimit_fields[] = {
    {.key = "clone", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
    {.key = "default", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
    {.key = "migration", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
    {.key = "move", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
    {.key = "restore", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
};

/* Generated from the POST /storage parameters of api-schema.json (minus storage and type). */
const ApiSchema storage_cfg_properties[] = {
    API_PARAM_STRING("authsupported", .optional = true),
    API_PARAM_STRING("base", .optional = true, .format = "pve-volume-id"),
    API_PARAM_STRING("blocksize", .optional = true),
    API_PARAM_STRING(
        "bwlimit",
        .optional = true,
        API_FORMAT_FIELDS(bwlimit_fields),
        .typetext = "[clone=<LIMIT>] [,default=<LIMIT>] [,migration=<LIMIT>] [,move=<LIMIT>] "
                    "[,restore=<LIMIT>]"
    ),
    API_PARAM_STRING("comstar_hg", .optional = true),
    API_PARAM_STRING("comstar_tg", .optional = true),
    API_PARAM_STRING("content", .optional = true, .format = "pve-storage-content-list"),
    API_PARAM_STRING("content-dirs", .optional = true, .format = "pve-dir-override-list"),
    API_PARAM_BOOL("create-base-path", .optional = true),
    API_PARAM_BOOL("create-subdirs", .optional = true),
    API_PARAM_STRING("data-pool", .optional = true),
    API_PARAM_STRING("datastore", .optional = true),
    API_PARAM_BOOL("disable", .optional = true),
    API_PARAM_STRING("domain", .optional = true, .max_length = 256),
    API_PARAM_STRING("encryption-key", .optional = true),
    API_PARAM_STRING("export", .optional = true, .format = "pve-storage-path"),
    API_PARAM_STRING(
        "fingerprint", .optional = true, .pattern = "([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}"
    ),
    API_PARAM_STRING(
        "format", .optional = true, .enum_values = API_ENUM("raw", "qcow2", "subvol", "vmdk")
    ),
    API_PARAM_STRING("fs-name", .optional = true, .format = "pve-configid"),
    API_PARAM_BOOL("fuse", .optional = true),
    API_PARAM_STRING("is_mountpoint", .optional = true, API_DEFAULT_STR("no")),
    API_PARAM_STRING("iscsiprovider", .optional = true),
    API_PARAM_STRING("keyring", .optional = true),
    API_PARAM_BOOL("krbd", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_STRING("lio_tpg", .optional = true),
    API_PARAM_STRING("master-pubkey", .optional = true),
    API_PARAM_INTEGER("max-protected-backups", .optional = true, API_MIN(-1)),
    API_PARAM_BOOL("mkdir", .optional = true),
    API_PARAM_STRING("monhost", .optional = true, .format = "pve-storage-portal-dns-list"),
    API_PARAM_STRING("mountpoint", .optional = true, .format = "pve-storage-path"),
    API_PARAM_STRING("namespace", .optional = true),
    API_PARAM_BOOL("nocow", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_STRING("nodes", .optional = true, .format = "pve-node-list"),
    API_PARAM_BOOL("nowritecache", .optional = true),
    API_PARAM_STRING("options", .optional = true, .format = "pve-storage-options"),
    API_PARAM_STRING("password", .optional = true, .max_length = 256),
    API_PARAM_STRING("path", .optional = true, .format = "pve-storage-path"),
    API_PARAM_STRING("pool", .optional = true),
    API_PARAM_INTEGER("port", .optional = true, API_RANGE(1, 65535)),
    API_PARAM_STRING("portal", .optional = true, .format = "pve-storage-portal-dns"),
    API_PARAM_STRING(
        "preallocation",
        .optional = true,
        .enum_values = API_ENUM("off", "metadata", "falloc", "full"),
        API_DEFAULT_STR("metadata")
    ),
    API_PARAM_STRING("prune-backups", .optional = true, .format = "prune-backups"),
    API_PARAM_BOOL("saferemove", .optional = true),
    API_PARAM_INTEGER(
        "saferemove-stepsize",
        .optional = true,
        .enum_values = API_ENUM("1", "2", "4", "8", "16", "32"),
        API_DEFAULT_INT(32)
    ),
    API_PARAM_STRING("saferemove_throughput", .optional = true),
    API_PARAM_STRING("server", .optional = true, .format = "pve-storage-server"),
    API_PARAM_STRING("share", .optional = true),
    API_PARAM_BOOL("shared", .optional = true),
    API_PARAM_BOOL("skip-cert-verification", .optional = true),
    API_PARAM_STRING(
        "smbversion",
        .optional = true,
        .enum_values = API_ENUM("default", "2.0", "2.1", "3", "3.0", "3.11"),
        API_DEFAULT_STR("default")
    ),
    API_PARAM_BOOL("snapshot-as-volume-chain", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_BOOL("sparse", .optional = true),
    API_PARAM_STRING("subdir", .optional = true, .format = "pve-storage-path"),
    API_PARAM_BOOL("tagged_only", .optional = true),
    API_PARAM_STRING("target", .optional = true),
    API_PARAM_STRING("thinpool", .optional = true, .format = "pve-storage-vgname"),
    API_PARAM_STRING("username", .optional = true),
    API_PARAM_STRING("vgname", .optional = true, .format = "pve-storage-vgname"),
    API_PARAM_STRING("zfs-base-path", .optional = true, .format = "pve-storage-path"),
    {.name = NULL},
};

static const ApiSchema *property_find(const char *key) {
    for (const ApiSchema *p = storage_cfg_properties; p->name; p++)
        if (streq(p->name, key))
            return p;
    return NULL;
}

/* ---- types ----------------------------------------------------------------------------------- */

#define R (STORAGE_OPT_REQUIRED | STORAGE_OPT_FIXED)
#define F STORAGE_OPT_FIXED
#define OPT(k, ...) \
    { .key = (k), .flags = 0 __VA_ARGS__ }
#define OPTIONS(...) ((const StorageOption[]){__VA_ARGS__, {.key = NULL}})
#define LIST(...)    ((const char *const[]){__VA_ARGS__, NULL})

/* options most file-based types share (prune/backup limits, dir creation, formats) */
#define FILE_OPTS                                                                             \
    OPT("content-dirs"), OPT("nodes"), OPT("disable"), OPT("prune-backups"),                  \
        OPT("max-protected-backups"), OPT("content"), OPT("format"), OPT("mkdir"),            \
        OPT("create-base-path"), OPT("create-subdirs"), OPT("bwlimit"), OPT("preallocation"), \
        OPT("snapshot-as-volume-chain")

#define FILE_CONTENT \
    LIST("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import")
#define FILE_FORMATS LIST("qcow2", "raw", "subvol", "vmdk")

static const StorageType types[] = {
    {.name = "btrfs",
     .options = OPTIONS(
         OPT("path", | R),
         OPT("nodes"),
         OPT("shared"),
         OPT("disable"),
         OPT("content"),
         OPT("format"),
         OPT("is_mountpoint"),
         OPT("nocow"),
         OPT("mkdir"),
         OPT("preallocation"),
         OPT("bwlimit"),
         OPT("prune-backups"),
         OPT("max-protected-backups"),
         OPT("create-base-path"),
         OPT("create-subdirs")
     ),
     .content = FILE_CONTENT,
     .default_content = "images,rootdir",
     .formats = LIST("raw", "subvol"),
     .default_format = "raw",
     .path_base = true},
    {.name = "cephfs",
     .options = OPTIONS(
         OPT("path", | F),
         OPT("monhost"),
         OPT("username"),
         OPT("subdir"),
         OPT("fs-name"),
         OPT("keyring"),
         OPT("fuse"),
         OPT("nodes"),
         OPT("disable"),
         OPT("content"),
         OPT("prune-backups"),
         OPT("max-protected-backups"),
         OPT("bwlimit"),
         OPT("options"),
         OPT("mkdir"),
         OPT("create-base-path"),
         OPT("create-subdirs")
     ),
     .content = LIST("vztmpl", "iso", "backup", "snippets", "import"),
     .default_content = "backup",
     .shared = true,
     .path_base = true},
    {.name = "cifs",
     .options = OPTIONS(
         OPT("path", | R),
         OPT("server", | R),
         OPT("share", | R),
         OPT("subdir"),
         OPT("username"),
         OPT("password"),
         OPT("domain"),
         OPT("smbversion"),
         OPT("options"),
         FILE_OPTS
     ),
     .content = FILE_CONTENT,
     .default_content = "images",
     .formats = FILE_FORMATS,
     .default_format = "raw",
     .shared = true,
     .path_base = true},
    {.name = "dir",
     .options = OPTIONS(OPT("path", | R), OPT("shared"), OPT("is_mountpoint"), FILE_OPTS),
     .content = FILE_CONTENT,
     .default_content = "images,rootdir",
     .formats = FILE_FORMATS,
     .default_format = "raw",
     .path_base = true},
    {.name = "esxi",
     .options = OPTIONS(
         OPT("server", | R),
         OPT("username", | R),
         OPT("password", | STORAGE_OPT_REQUIRED),
         OPT("skip-cert-verification"),
         OPT("nodes"),
         OPT("disable"),
         OPT("content")
     ),
     .content = LIST("import"),
     .default_content = "import"},
    {.name = "iscsi",
     .options = OPTIONS(
         OPT("portal", | R),
         OPT("target", | R),
         OPT("nodes"),
         OPT("disable"),
         OPT("content"),
         OPT("bwlimit")
     ),
     .content = LIST("images", "none"),
     .default_content = "images",
     .formats = LIST("raw"),
     .default_format = "raw",
     .shared = true},
    {.name = "iscsidirect",
     .options = OPTIONS(
         OPT("portal", | R),
         OPT("target", | R),
         OPT("nodes"),
         OPT("disable"),
         OPT("content"),
         OPT("bwlimit")
     ),
     .content = LIST("images", "none"),
     .default_content = "images",
     .formats = LIST("raw"),
     .default_format = "raw",
     .shared = true},
    {.name = "lvm",
     .options = OPTIONS(
         OPT("vgname", | R),
         OPT("base", | F),
         OPT("nodes"),
         OPT("shared"),
         OPT("disable"),
         OPT("saferemove"),
         OPT("saferemove_throughput"),
         OPT("saferemove-stepsize"),
         OPT("content"),
         OPT("tagged_only"),
         OPT("bwlimit"),
         OPT("snapshot-as-volume-chain")
     ),
     .content = LIST("images", "rootdir"),
     .default_content = "images",
     .formats = LIST("raw"),
     .default_format = "raw"},
    {.name = "lvmthin",
     .options = OPTIONS(
         OPT("thinpool", | R),
         OPT("vgname", | R),
         OPT("nodes"),
         OPT("disable"),
         OPT("content"),
         OPT("bwlimit")
     ),
     .content = LIST("images", "rootdir"),
     .default_content = "images,rootdir",
     .formats = LIST("raw"),
     .default_format = "raw"},
    {.name = "nfs",
     .options = OPTIONS(
         OPT("path", | R), OPT("server", | R), OPT("export", | R), OPT("options"), FILE_OPTS
     ),
     .content = FILE_CONTENT,
     .default_content = "images",
     .formats = FILE_FORMATS,
     .default_format = "raw",
     .shared = true,
     .path_base = true},
    {.name = "pbs",
     .options = OPTIONS(
         OPT("server", | R),
         OPT("datastore", | R),
         OPT("namespace"),
         OPT("username"),
         OPT("password"),
         OPT("encryption-key"),
         OPT("master-pubkey"),
         OPT("fingerprint"),
         OPT("nodes"),
         OPT("disable"),
         OPT("content"),
         OPT("port"),
         OPT("prune-backups"),
         OPT("max-protected-backups")
     ),
     .content = LIST("backup"),
     .default_content = "backup",
     .shared = true},
    {.name = "rbd",
     .options = OPTIONS(
         OPT("nodes"),
         OPT("disable"),
         OPT("monhost"),
         OPT("pool"),
         OPT("data-pool"),
         OPT("namespace"),
         OPT("username"),
         OPT("content"),
         OPT("krbd"),
         OPT("keyring"),
         OPT("bwlimit")
     ),
     .content = LIST("images", "rootdir"),
     .default_content = "images",
     .formats = LIST("raw"),
     .default_format = "raw",
     .shared = true},
    {.name = "zfs",
     .options = OPTIONS(
         OPT("portal", | R),
         OPT("target", | R),
         OPT("pool", | R),
         OPT("blocksize", | R),
         OPT("iscsiprovider", | R),
         OPT("nodes"),
         OPT("disable"),
         OPT("comstar_hg"),
         OPT("comstar_tg"),
         OPT("lio_tpg"),
         OPT("content"),
         OPT("sparse"),
         OPT("nowritecache"),
         OPT("zfs-base-path"),
         OPT("bwlimit")
     ),
     .content = LIST("images"),
     .default_content = "images",
     .formats = LIST("raw"),
     .default_format = "raw",
     .shared = true},
    {.name = "zfspool",
     .options = OPTIONS(
         OPT("pool", | R),
         OPT("blocksize"),
         OPT("sparse"),
         OPT("nodes"),
         OPT("disable"),
         OPT("content"),
         OPT("bwlimit"),
         OPT("mountpoint")
     ),
     .content = LIST("images", "rootdir"),
     .default_content = "images,rootdir",
     .formats = LIST("raw", "subvol"),
     .default_format = "raw"},
};

const char *const storage_type_names[] = {
    "btrfs",   "cephfs", "cifs", "dir", "esxi", "iscsi",   "iscsidirect", "lvm",
    "lvmthin", "nfs",    "pbs",  "rbd", "zfs",  "zfspool", NULL,
};

const StorageType *storage_type_find(const char *name) {
    if (!name)
        return NULL;
    for (size_t i = 0; i < ELEMENTSOF(types); i++)
        if (streq(types[i].name, name))
            return &types[i];
    return NULL;
}

int storage_type_option(const StorageType *t, const char *key) {
    for (const StorageOption *o = t->options; o->key; o++)
        if (streq(o->key, key))
            return (int) o->flags;
    return -ENOENT;
}

static bool in_list(const char *const *list, const char *s) {
    for (const char *const *p = list; p && *p; p++)
        if (streq(*p, s))
            return true;
    return false;
}

bool storage_content_is_valid(const char *ct) {
    return in_list(FILE_CONTENT, ct);
}

/* ---- values ---------------------------------------------------------------------------------- */

static int errf(char **reterr, const char *fmt, ...) _printf_(2, 3);
static int errf(char **reterr, const char *fmt, ...) {
    if (reterr) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(reterr, fmt, ap) < 0)
            *reterr = NULL;
        va_end(ap);
        if (!*reterr)
            return -ENOMEM;
    }
    return -EINVAL;
}

/* Split on [,; ] into a ','-joined list without empty items and duplicates. */
static int normalize_list(const char *value, char **ret) {
    _cleanup_(strbuf_donep) StrBuf b = STRBUF_INIT;
    _cleanup_free_ char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",; \t", &save); tok; tok = strtok_r(NULL, ",; \t", &save)) {
        if (b.len > 0 && storage_list_contains(b.data, tok))
            continue;
        if (b.len > 0)
            strbuf_append_char(&b, ',');
        strbuf_append(&b, tok);
    }
    if (b.len == 0)
        strbuf_append(&b, "");
    return strbuf_finish(&b, ret, NULL);
}

static int check_content(const StorageType *t, const char *list, char **reterr) {
    _cleanup_free_ char *copy = strdup(list);
    if (!copy)
        return -ENOMEM;
    size_t n = 0;
    bool none = false;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!in_list(t->content, tok))
            return errf(reterr, "storage does not support content type '%s'", tok);
        none = none || streq(tok, "none");
        n++;
    }
    if (none && n > 1)
        return errf(reterr, "unable to combine 'none' with other content types");
    if (n == 0 && !in_list(t->content, "none"))
        return errf(reterr, "storage does not support content type 'none'");
    return 0;
}

/* Schema check of one value (without the key prefix in the message). */
static int check_schema(const ApiSchema *p, const char *key, const char *value, char **reterr) {
    _cleanup_json_ json_t *errors = json_object(), *v = json_string(value);
    if (!errors)
        return -ENOMEM;
    if (!v)
        return errf(reterr, "value is not valid UTF-8");
    int r = api_schema_check_value(p, &v, key, errors);
    if (r < 0)
        return r;
    const char *msg = json_string_value(json_object_get(errors, key));
    if (json_object_size(errors) == 0)
        return 0;
    if (!msg)
        msg = "invalid value";
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        n--;
    return errf(reterr, "%.*s", (int) n, msg);
}

int storage_cfg_check_value(
    const StorageType *t, const char *key, const char *value, bool create, char **ret, char **reterr
) {
    assert(t && key && value && ret);
    int flags = storage_type_option(t, key);
    const ApiSchema *p = property_find(key);
    if (flags < 0 || !p)
        return errf(reterr, "unexpected property '%s'", key);
    if (!create && (flags & STORAGE_OPT_FIXED))
        return errf(reterr, "can't change value of fixed parameter '%s'", key);
    if (strpbrk(value, "\r\n"))
        return errf(reterr, "property contains a line feed");

    if (p->type == API_TYPE_BOOLEAN) {
        int b = *value ? property_string_parse_bool(value) : 1;
        if (b < 0)
            return errf(reterr, "type check ('boolean') failed - got '%s'", value);
        *ret = strdup(b ? "1" : "0");
        return *ret ? 0 : -ENOMEM;
    }

    _cleanup_free_ char *v = NULL;
    int r;
    if (streq(key, "content") || streq(key, "nodes")) {
        r = normalize_list(value, &v);
        if (r < 0)
            return r;
        if (!*v && streq(key, "content")) { /* upstream writes an empty content as "none" */
            free(v);
            if (!(v = strdup("none")))
                return -ENOMEM;
        }
    } else {
        if (!*value) /* would not be written (upstream prints only values with a non-blank) */
            return errf(reterr, "property '%s' has an empty value", key);
        v = strdup(value);
        if (!v)
            return -ENOMEM;
    }
    r = check_schema(p, key, v, reterr);
    if (r < 0)
        return r;
    if (streq(key, "content")) {
        r = check_content(t, v, reterr);
        if (r < 0)
            return r;
    } else if (streq(key, "format") && !in_list(t->formats, v))
        return errf(reterr, "storage does not support format '%s'", v);
    *ret = TAKE_PTR(v);
    return 0;
}

/* ---- parse ----------------------------------------------------------------------------------- */

static int add_default_local(SectionConfig *c) {
    SectionConfigSection *s;
    int r = section_config_add(c, "dir", STORAGE_CFG_LOCAL_ID, &s);
    if (r < 0)
        return r;
    if ((r = section_config_set(s, "path", STORAGE_CFG_LOCAL_PATH)) < 0 ||
        (r = section_config_set(s, "content", "backup,images,iso,rootdir,snippets,vztmpl")) < 0 ||
        (r = section_config_set(s, "prune-backups", "keep-all=1")) < 0)
        return r;
    return 0;
}

static bool local_needs_default(const SectionConfig *in) {
    const SectionConfigSection *l = section_config_find(in, NULL, STORAGE_CFG_LOCAL_ID);
    if (!l || !streq(l->type, "dir"))
        return true;
    const char *path = section_config_get(l, "path");
    return !path || !streq(path, STORAGE_CFG_LOCAL_PATH); /* upstream keeps a pathless one,
                                                             which it then cannot write */
}

static bool
has_required(const StorageType *t, const SectionConfigSection *s, const char **missing) {
    for (const StorageOption *o = t->options; o->key; o++)
        if ((o->flags & STORAGE_OPT_REQUIRED) && !section_config_get(s, o->key)) {
            *missing = o->key;
            return false;
        }
    return true;
}

/* Copy one section of the raw file into out, checked; warnings go to w. */
static int copy_section(SectionConfig *out, const SectionConfigSection *in, StrBuf *w) {
    const StorageType *t = storage_type_find(in->type);
    if (!t) {
        strbuf_printf(w, "ignoring section '%s' of unknown type '%s'\n", in->id, in->type);
        return 0;
    }
    SectionConfigSection *s;
    int r = section_config_add(out, in->type, in->id, &s);
    if (r == -EINVAL) {
        strbuf_printf(w, "ignoring section with invalid storage ID '%s'\n", in->id);
        return 0;
    }
    if (r < 0)
        return r;
    for (size_t i = 0; i < in->n_properties; i++) {
        const SectionConfigProperty *p = &in->properties[i];
        _cleanup_free_ char *v = NULL, *err = NULL;
        r = storage_cfg_check_value(t, p->key, p->value, true, &v, &err);
        if (r == -ENOMEM)
            return r;
        if (r < 0) {
            strbuf_printf(
                w, "section '%s' - unable to parse value of '%s': %s\n", in->id, p->key,
                err ? err : "invalid"
            );
            continue;
        }
        r = section_config_set(s, p->key, v);
        if (r < 0)
            return r;
    }
    const char *missing = NULL;
    if (!has_required(t, s, &missing)) {
        strbuf_printf(
            w, "ignoring section '%s' - missing value for required option '%s'\n", in->id, missing
        );
        return section_config_remove(out, in->type, in->id);
    }
    if (!section_config_get(s, "content") && t->default_content) {
        r = section_config_set(s, "content", t->default_content);
        if (r < 0)
            return r;
    }
    if (streq(in->id, STORAGE_CFG_LOCAL_ID)) {
        (void) section_config_unset(s, "nodes");
        (void) section_config_unset(s, "shared");
    }
    return 0;
}

int storage_cfg_parse(
    const char *text,
    size_t len,
    SectionConfig **ret,
    char **ret_warnings,
    unsigned *reterr_line,
    char **reterr_msg
) {
    assert(text || len == 0);
    assert(ret);
    _cleanup_(section_config_freep) SectionConfig *in = NULL, *out = NULL;
    int r = section_config_parse(text, len, 0, &in, reterr_line, reterr_msg);
    if (r < 0)
        return r;
    out = section_config_new(0);
    if (!out)
        return -ENOMEM;

    _cleanup_(strbuf_donep) StrBuf w = STRBUF_INIT;
    bool replace_local = local_needs_default(in);
    if (replace_local && (r = add_default_local(out)) < 0)
        return r;
    for (size_t i = 0; i < in->n_sections; i++) {
        const SectionConfigSection *s = in->sections[i];
        if (replace_local && streq(s->id, STORAGE_CFG_LOCAL_ID))
            continue;
        r = copy_section(out, s, &w);
        if (r < 0)
            return r;
    }
    if (w.error < 0)
        return w.error;
    if (ret_warnings) {
        *ret_warnings = NULL;
        if (w.len > 0 && (r = strbuf_finish(&w, ret_warnings, NULL)) < 0)
            return r;
    }
    *ret = TAKE_PTR(out);
    return 0;
}

/* ---- print ----------------------------------------------------------------------------------- */

typedef struct PrintItem {
    const SectionConfigProperty *p;
    bool required;
} PrintItem;

static int print_item_cmp(const void *a, const void *b) {
    const PrintItem *x = a, *y = b;
    if (x->required != y->required)
        return x->required ? -1 : 1;
    return strcmp(x->p->key, y->p->key);
}

static bool has_nonblank(const char *s) {
    return s[strspn(s, " \t")] != '\0';
}

static int print_section(const SectionConfigSection *s, StrBuf *b) {
    const StorageType *t = storage_type_find(s->type);
    const char *missing = NULL;
    if (!t || !has_required(t, s, &missing))
        return -EINVAL;
    _cleanup_free_ PrintItem *items = calloc(s->n_properties + 1, sizeof(PrintItem));
    if (!items)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n_properties; i++) {
        const SectionConfigProperty *p = &s->properties[i];
        int flags = storage_type_option(t, p->key);
        if (flags < 0 || streq(p->key, "disable"))
            continue;
        items[n++] = (PrintItem){.p = p, .required = flags & STORAGE_OPT_REQUIRED};
    }
    qsort(items, n, sizeof(PrintItem), print_item_cmp);

    strbuf_printf(b, "%s: %s\n", s->type, s->id);
    if (storage_cfg_bool(s, "disable"))
        strbuf_append(b, "\tdisable\n");
    for (size_t i = 0; i < n; i++)
        if (has_nonblank(items[i].p->value))
            strbuf_printf(b, "\t%s %s\n", items[i].p->key, items[i].p->value);
    strbuf_append_char(b, '\n');
    return 0;
}

int storage_cfg_print(const SectionConfig *c, char **ret) {
    assert(c && ret);
    _cleanup_(strbuf_donep) StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "");
    for (size_t i = 0; i < c->n_sections; i++) {
        int r = print_section(c->sections[i], &b);
        if (r < 0)
            return r;
    }
    return strbuf_finish(&b, ret, NULL);
}

/* ---- questions ------------------------------------------------------------------------------- */

bool storage_list_contains(const char *list, const char *item) {
    size_t n = strlen(item);
    if (!list || n == 0)
        return false;
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",; ");
        if (l == n && strneq(p, item, n))
            return true;
        p += l;
        p += strspn(p, ",; ");
    }
    return false;
}

bool storage_cfg_bool(const SectionConfigSection *s, const char *key) {
    const char *v = section_config_get(s, key);
    if (!v)
        return false;
    return *v == '\0' || property_string_parse_bool(v) > 0;
}

bool storage_cfg_is_shared(const SectionConfigSection *s) {
    const StorageType *t = storage_type_find(s->type);
    return (t && t->shared) || storage_cfg_bool(s, "shared");
}

bool storage_cfg_available_on(const SectionConfigSection *s, const char *node) {
    const char *nodes = section_config_get(s, "nodes");
    return !nodes || !*nodes || storage_list_contains(nodes, node);
}

bool storage_cfg_enabled_on(const SectionConfigSection *s, const char *node) {
    return !storage_cfg_bool(s, "disable") && storage_cfg_available_on(s, node);
}

bool storage_cfg_has_content(const SectionConfigSection *s, const char *ct) {
    return storage_list_contains(section_config_get(s, "content"), ct);
}

static const struct {
    const char *content, *subdir;
} content_subdirs[] = {
    {"images", "images"},    {"rootdir", "private"}, {"vztmpl", "template/cache"},
    {"iso", "template/iso"}, {"backup", "dump"},     {"snippets", "snippets"},
    {"import", "import"},
};

/* Override from `content-dirs` ("iso=isos,backup=bak"), NULL when none. */
static char *content_dir_override(const SectionConfigSection *s, const char *ct) {
    const char *cd = section_config_get(s, "content-dirs");
    if (!cd)
        return NULL;
    size_t n = strlen(ct);
    for (const char *p = cd; *p;) {
        size_t l = strcspn(p, ",; ");
        if (l > n && strneq(p, ct, n) && p[n] == '=')
            return strndup(p + n + 1, l - n - 1);
        p += l;
        p += strspn(p, ",; ");
    }
    return NULL;
}

int storage_cfg_content_dir(const SectionConfigSection *s, const char *ct, char **ret) {
    const char *path = section_config_get(s, "path");
    if (!path || !*path)
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(content_subdirs); i++) {
        if (!streq(content_subdirs[i].content, ct))
            continue;
        _cleanup_free_ char *over = content_dir_override(s, ct);
        const char *sub = over ? over : content_subdirs[i].subdir;
        while (*sub == '/')
            sub++;
        if (asprintf(ret, "%s/%s", path, sub) < 0)
            return -ENOMEM;
        return 0;
    }
    return -EINVAL;
}
