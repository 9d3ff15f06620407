/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-storage: /storage (storage.cfg: list, create, read, update, delete) and
 * /nodes/{node}/storage (status of each storage on this node, the dir plugin's volumes:
 * content listing, volume info, delete, ISO/template upload).
 *
 * The storage.cfg model (types, options, defaults, printer) is storage-cfg.h. Volumes are only
 * implemented for path-based storages (dir, nfs, cifs, btrfs, cephfs: files below `path`, in
 * upstream's layout); other types are configuration only and list no volumes.
 * Requests for another node are refused: forwarding belongs to pveproxy.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-file.h"
#include "pve/digest.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"
#include "pve/task.h"
#include "pve/upid.h"

static const char *const sensitive_keys[] = {
    "password", "encryption-key", "master-pubkey", "keyring", NULL};

/* ---- small helpers --------------------------------------------------------------------------- */

static bool strv_contains(const char *const *l, const char *s) {
    for (; l && *l; l++)
        if (streq(*l, s))
            return true;
    return false;
}

/* A validated scalar parameter as text (integers and booleans as digits). NULL on OOM. */
static char *json_to_text(const json_t *v) {
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        char *s;
        return asprintf(&s, "%lld", (long long) json_integer_value(v)) < 0 ? NULL : s;
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "1" : "0");
    if (json_is_real(v)) {
        char *s;
        return asprintf(&s, "%g", json_real_value(v)) < 0 ? NULL : s;
    }
    return strdup("");
}

static int regex_match(const char *re, const char *s, regmatch_t *m, size_t n) {
    regex_t rx;
    if (regcomp(&rx, re, REG_EXTENDED | REG_ICASE) != 0)
        return -ENOMEM;
    int r = regexec(&rx, s, n, m, 0);
    regfree(&rx);
    return r == 0;
}

static char *match_dup(const char *s, const regmatch_t *m) {
    if (m->rm_so < 0)
        return NULL;
    return strndup(s + m->rm_so, (size_t) (m->rm_eo - m->rm_so));
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The node parameter must name this node (pveproxy forwards to other nodes). */
static int check_local_node(ApiCall *call) {
    const char *node = NULL;
    (void) api_call_param_string(call, "node", &node);
    if (!node || streq(node, api_env(call)->nodename) || streq(node, "localhost"))
        return 0;
    return api_call_fail(call, 500, NULL, "no such cluster node '%s'", node);
}

/* ---- storage.cfg ----------------------------------------------------------------------------- */

typedef struct Cfg {
    SectionConfig *sc;
    char *text;
    size_t len;
} Cfg;

static void cfg_done(Cfg *c) {
    section_config_free(c->sc);
    free(c->text);
}

/* Parse text into c->sc (a 500 on the call for a broken file). */
static int cfg_parse(ApiCall *call, const char *text, size_t len, Cfg *c) {
    _cleanup_free_ char *msg = NULL, *warnings = NULL;
    unsigned line = 0;
    int r = storage_cfg_parse(text, len, &c->sc, &warnings, &line, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "storage.cfg line %u: %s", line, msg ? msg : "parse error"
        );
    if (warnings)
        log_warning("storage.cfg: %s", warnings);
    return 0;
}

static int cfg_load(ApiCall *call, Cfg *c) {
    int r = api_read_file(call, PVE_CFS_STORAGE_CFG, &c->text, &c->len);
    if (r < 0)
        return r;
    return cfg_parse(call, c->text, c->len, c);
}

static SectionConfigSection *cfg_find(const Cfg *c, const char *id) {
    return section_config_find(c->sc, NULL, id);
}

static int fail_no_storage(ApiCall *call, const char *prefix, const char *id) {
    return api_call_fail(call, 500, NULL, "%sstorage '%s' does not exist", prefix, id);
}

/* upstream's api_storage_config(): the section as JSON with storage and digest */
static json_t *storage_json(const SectionConfigSection *s, const char *digest) {
    _cleanup_json_ json_t *o = json_object();
    if (!o || json_util_set_string(o, "storage", s->id) < 0 ||
        json_util_set_string(o, "type", s->type) < 0)
        return NULL;
    for (size_t i = 0; i < s->n_properties; i++) {
        const SectionConfigProperty *p = &s->properties[i];
        const ApiSchema *sch = NULL;
        for (const ApiSchema *q = storage_cfg_properties; q->name; q++)
            if (streq(q->name, p->key))
                sch = q;
        long long n;
        int r = sch && (sch->type == API_TYPE_BOOLEAN || sch->type == API_TYPE_INTEGER) &&
                        safe_atoi64(p->value, &n) >= 0
                    ? json_util_set_int(o, p->key, n)
                    : json_util_set_string(o, p->key, p->value);
        if (r < 0)
            return NULL;
    }
    if (storage_cfg_is_shared(s) && json_util_set_int(o, "shared", 1) < 0)
        return NULL;
    if (digest && json_util_set_string(o, "digest", digest) < 0)
        return NULL;
    return TAKE_PTR(o);
}

static bool can_see_storage(ApiCall *call, UserCfg *ucfg, const char *id) {
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/storage/%s", id) < 0)
        return false;
    return api_has_priv(
        call, ucfg, path, API_PRIVS("Datastore.Audit", "Datastore.AllocateSpace"), true
    );
}

static int h_storage_index(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    _cleanup_(user_cfg_freep) UserCfg *ucfg = NULL;
    const char *type = NULL;
    (void) api_call_param_string(call, "type", &type);
    int r = cfg_load(call, &c);
    if (r < 0 || (r = api_load_user_cfg(call, &ucfg)) < 0)
        return r;
    char digest[41];
    api_digest(c.text, c.len, digest);
    _cleanup_json_ json_t *res = json_array();
    if (!res)
        return -ENOMEM;
    for (size_t i = 0; i < c.sc->n_sections; i++) {
        const SectionConfigSection *s = c.sc->sections[i];
        if ((type && !streq(type, s->type)) || !can_see_storage(call, ucfg, s->id))
            continue;
        if (json_util_append_new(res, storage_json(s, digest)) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(res));
}

static int h_storage_read(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    const char *id = NULL;
    (void) api_call_param_string(call, "storage", &id);
    int r = cfg_load(call, &c);
    if (r < 0)
        return r;
    const SectionConfigSection *s = cfg_find(&c, id);
    if (!s)
        return fail_no_storage(call, "", id);
    char digest[41];
    api_digest(c.text, c.len, digest);
    return api_call_set_result(call, storage_json(s, digest));
}

/* ---- create / update / delete ---------------------------------------------------------------- */

typedef struct Edit {
    const char *id;
    const char *type; /* create; for update: filled in */
    const char *errprefix;
    SectionConfigSection *opts; /* checked option values (in a scratch config) */
    SectionConfig *scratch;
    char **delete; /* update */
    size_t n_delete;
    bool create;
    char *password; /* sensitive value to store in priv/storage/<id>.pw */
} Edit;

static void edit_done(Edit *e) {
    section_config_free(e->scratch);
    for (size_t i = 0; i < e->n_delete; i++)
        free(e->delete[i]);
    free(e->delete);
    free(e->password);
}

/* upstream's check_config(): every given option checked for the type into e->opts. */
static int edit_check_options(ApiCall *call, Edit *e, const StorageType *t, const char *prefix) {
    static const char *const not_options[] = {"storage", "type", "digest", "delete", NULL};
    const char *k;
    json_t *v;
    e->scratch = section_config_new(0);
    if (!e->scratch)
        return -ENOMEM;
    int r = section_config_add(e->scratch, t->name, "scratch", &e->opts);
    if (r < 0)
        return r;
    json_object_foreach(call->params, k, v) {
        if (strv_contains(not_options, k))
            continue;
        _cleanup_free_ char *text = json_to_text(v), *norm = NULL, *err = NULL;
        if (!text)
            return -ENOMEM;
        if (streq(k, "nodes") && !*text)
            continue; /* upstream drops an empty node list */
        if (streq(k, "password")) {
            if (storage_type_option(t, k) < 0)
                return api_call_fail(call, 500, NULL, "%sunexpected property '%s'", prefix, k);
            free(e->password);
            e->password = TAKE_PTR(text);
            continue;
        }
        if (strv_contains(sensitive_keys, k))
            continue; /* TODO: keyring, encryption-key, master-pubkey files under priv/ */
        r = storage_cfg_check_value(t, k, text, e->create, &norm, &err);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return api_call_fail(call, 500, NULL, "%s%s", prefix, err ? err : "invalid value");
        r = section_config_set(e->opts, k, norm);
        if (r < 0)
            return api_call_fail(call, 500, NULL, "%sinvalid value for '%s'", prefix, k);
    }
    return 0;
}

static int edit_check_required(ApiCall *call, Edit *e, const StorageType *t) {
    for (const StorageOption *o = t->options; o->key; o++) {
        if (!(o->flags & STORAGE_OPT_REQUIRED) || section_config_get(e->opts, o->key))
            continue;
        if (streq(o->key, "password") && e->password)
            continue;
        return api_call_fail(call, 500, NULL, "missing value for required option '%s'", o->key);
    }
    return 0;
}

/* Store or remove the password file priv/storage/<id>.pw (cifs: "password=..." lines). */
static int write_password(ApiCall *call, const char *type, const char *id, const char *pw) {
    _cleanup_free_ char *path = NULL, *content = NULL;
    if (asprintf(&path, "priv/storage/%s.pw", id) < 0)
        return -ENOMEM;
    if (!pw) {
        _cleanup_free_ char *full = NULL;
        if (cfs_file_path(path, &full) >= 0)
            (void) unlink(full);
        return 0;
    }
    if (asprintf(&content, streq(type, "cifs") ? "password=%s\n" : "%s\n", pw) < 0)
        return -ENOMEM;
    _cleanup_free_ char *dir = NULL;
    if (cfs_file_path("priv/storage", &dir) >= 0)
        (void) mkdir(dir, 0700);
    int r = cfs_file_write(path, content, strlen(content));
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to write '%s' - %s", path, strerror(-r));
    return 0;
}

/* Activate a storage: enabled here, base directory present (created when allowed), and the
 * content subdirectories created, as upstream's dir plugin does. mkdirs=false only checks. */
static int
activate_storage(ApiCall *call, const SectionConfigSection *s, bool mkdirs, const char *prefix) {
    const char *node = api_env(call)->nodename;
    if (storage_cfg_bool(s, "disable"))
        return api_call_fail(call, 500, NULL, "%sstorage '%s' is disabled", prefix, s->id);
    if (!storage_cfg_available_on(s, node))
        return api_call_fail(
            call, 500, NULL, "%sstorage '%s' is not available on node '%s'", prefix, s->id, node
        );
    const StorageType *t = storage_type_find(s->type);
    const char *path = section_config_get(s, "path");
    if (!t || !t->path_base || !path)
        return 0; /* TODO: mounting and other backends */
    bool create_base = !section_config_get(s, "create-base-path")
                           ? !section_config_get(s, "mkdir") || storage_cfg_bool(s, "mkdir")
                           : storage_cfg_bool(s, "create-base-path");
    if (mkdirs && create_base && streq(s->type, "dir"))
        (void) mkdir_p(path, 0755);
    if (!is_dir(path))
        return api_call_fail(
            call, 500, NULL,
            "%sunable to activate storage '%s' - directory '%s' does not exist or is unreachable",
            prefix, s->id, path
        );
    bool subdirs = !section_config_get(s, "create-subdirs")
                       ? !section_config_get(s, "mkdir") || storage_cfg_bool(s, "mkdir")
                       : storage_cfg_bool(s, "create-subdirs");
    if (!mkdirs || !subdirs)
        return 0;
    static const char *const cts[] = {"images", "rootdir", "vztmpl", "iso", "backup", "snippets"};
    for (size_t i = 0; i < ELEMENTSOF(cts); i++) {
        bool want = storage_cfg_has_content(s, cts[i]) ||
                    (streq(cts[i], "backup") && storage_cfg_has_content(s, "rootdir"));
        _cleanup_free_ char *dir = NULL;
        if (want && storage_cfg_content_dir(s, cts[i], &dir) >= 0)
            (void) mkdir_p(dir, 0755);
    }
    return 0;
}

static int print_cfg(ApiCall *call, const Edit *e, const SectionConfig *sc, char **ret) {
    int r = storage_cfg_print(sc, ret);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%sunable to write storage.cfg", e->errprefix);
    return 0;
}

static int create_locked(ApiCall *call, const char *text, size_t len, char **ret_new, void *ud) {
    Edit *e = ud;
    _cleanup_(cfg_done) Cfg c = {};
    int r = cfg_parse(call, text, len, &c);
    if (r < 0)
        return r;
    if (cfg_find(&c, e->id))
        return api_call_fail(
            call, 500, NULL, "%sstorage ID '%s' already defined", e->errprefix, e->id
        );
    SectionConfigSection *s;
    r = section_config_add(c.sc, e->type, e->id, &s);
    if (r < 0)
        return r == -ENOMEM ? r : api_call_fail(call, 500, NULL, "%sinvalid ID", e->errprefix);
    for (size_t i = 0; i < e->opts->n_properties; i++)
        if ((r = section_config_set(s, e->opts->properties[i].key, e->opts->properties[i].value)) <
            0)
            return r;
    if (storage_cfg_enabled_on(s, api_env(call)->nodename) &&
        (r = activate_storage(call, s, true, e->errprefix)) < 0)
        return r;
    if (e->password && (r = write_password(call, e->type, e->id, e->password)) < 0)
        return r;
    return print_cfg(call, e, c.sc, ret_new);
}

static int edit_result(ApiCall *call, const char *id, const char *type) {
    return api_call_set_result(call, json_pack("{s:s,s:s}", "storage", id, "type", type));
}

static int h_storage_create(ApiCall *call) {
    _cleanup_(edit_done) Edit e = {.create = true, .errprefix = "create storage failed: "};
    (void) api_call_param_string(call, "storage", &e.id);
    (void) api_call_param_string(call, "type", &e.type);
    const StorageType *t = storage_type_find(e.type);
    if (!t)
        return api_call_fail(call, 500, NULL, "unknown section type '%s'", e.type);
    int r = edit_check_options(call, &e, t, "");
    if (r < 0 || (r = edit_check_required(call, &e, t)) < 0)
        return r;
    r = api_update_file(call, PVE_CFS_STORAGE_CFG, create_locked, &e);
    if (r < 0)
        return r;
    return edit_result(call, e.id, e.type);
}

static int edit_parse_delete(ApiCall *call, Edit *e) {
    const char *del = NULL;
    (void) api_call_param_string(call, "delete", &del);
    if (!del)
        return 0;
    _cleanup_free_ char *copy = strdup(del);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *k = strtok_r(copy, ",; \t", &save); k; k = strtok_r(NULL, ",; \t", &save)) {
        char **n = realloc(e->delete, (e->n_delete + 1) * sizeof(char *));
        if (!n)
            return -ENOMEM;
        e->delete = n;
        if (!(e->delete[e->n_delete] = strdup(k)))
            return -ENOMEM;
        e->n_delete++;
    }
    return 0;
}

static int apply_delete(ApiCall *call, Edit *e, const StorageType *t, SectionConfigSection *s) {
    for (size_t i = 0; i < e->n_delete; i++) {
        const char *k = e->delete[i];
        int flags = storage_type_option(t, k);
        if (flags < 0)
            return api_call_fail(call, 500, NULL, "%sno such option '%s'", e->errprefix, k);
        if (flags & STORAGE_OPT_REQUIRED)
            return api_call_fail(
                call, 500, NULL, "%sunable to delete required option '%s'", e->errprefix, k
            );
        if (flags & STORAGE_OPT_FIXED)
            return api_call_fail(
                call, 500, NULL, "%sunable to delete fixed option '%s'", e->errprefix, k
            );
        if (section_config_get(e->opts, k) || (streq(k, "password") && e->password))
            return api_call_fail(
                call, 500, NULL, "%scannot set and delete property '%s' at the same time!",
                e->errprefix, k
            );
        if (streq(k, "password")) {
            int r = write_password(call, s->type, s->id, NULL);
            if (r < 0)
                return r;
        }
        (void) section_config_unset(s, k);
    }
    return 0;
}

static int update_locked(ApiCall *call, const char *text, size_t len, char **ret_new, void *ud) {
    Edit *e = ud;
    _cleanup_(cfg_done) Cfg c = {};
    const char *digest = NULL;
    (void) api_call_param_string(call, "digest", &digest);
    int r = cfg_parse(call, text, len, &c);
    if (r < 0)
        return r;
    if (digest) {
        char have[41];
        api_digest(text, len, have);
        if (strcasecmp(have, digest) != 0)
            return api_call_fail(
                call, 500, NULL,
                "%sdetected modified configuration - file changed by other user? Try again.",
                e->errprefix
            );
    }
    SectionConfigSection *s = cfg_find(&c, e->id);
    if (!s)
        return fail_no_storage(call, e->errprefix, e->id);
    const StorageType *t = storage_type_find(s->type);
    e->type = t->name;
    if ((r = edit_check_options(call, e, t, e->errprefix)) < 0 ||
        (r = apply_delete(call, e, t, s)) < 0)
        return r;
    for (size_t i = 0; i < e->opts->n_properties; i++)
        if ((r = section_config_set(s, e->opts->properties[i].key, e->opts->properties[i].value)) <
            0)
            return r;
    if (e->password && (r = write_password(call, s->type, s->id, e->password)) < 0)
        return r;
    return print_cfg(call, e, c.sc, ret_new);
}

static int h_storage_update(ApiCall *call) {
    _cleanup_(edit_done) Edit e = {.errprefix = "update storage failed: "};
    (void) api_call_param_string(call, "storage", &e.id);
    int r = edit_parse_delete(call, &e);
    if (r < 0)
        return r;
    r = api_update_file(call, PVE_CFS_STORAGE_CFG, update_locked, &e);
    if (r < 0)
        return r;
    return edit_result(call, e.id, e.type);
}

/* used as `base` ("<id>:<volume>") of another storage */
static bool storage_is_used(const SectionConfig *sc, const char *id) {
    size_t n = strlen(id);
    for (size_t i = 0; i < sc->n_sections; i++) {
        const char *base = section_config_get(sc->sections[i], "base");
        if (base && strneq(base, id, n) && base[n] == ':')
            return true;
    }
    return false;
}

static int delete_locked(ApiCall *call, const char *text, size_t len, char **ret_new, void *ud) {
    Edit *e = ud;
    _cleanup_(cfg_done) Cfg c = {};
    int r = cfg_parse(call, text, len, &c);
    if (r < 0)
        return r;
    SectionConfigSection *s = cfg_find(&c, e->id);
    if (!s)
        return fail_no_storage(call, e->errprefix, e->id);
    if (storage_is_used(c.sc, e->id))
        return api_call_fail(
            call, 500, NULL, "%scan't remove storage - storage is used as base of another storage",
            e->errprefix
        );
    if ((r = write_password(call, s->type, s->id, NULL)) < 0)
        return r;
    (void) section_config_remove(c.sc, NULL, e->id);
    return print_cfg(call, e, c.sc, ret_new);
}

static int h_storage_delete(ApiCall *call) {
    _cleanup_(edit_done) Edit e = {.errprefix = "delete storage failed: "};
    (void) api_call_param_string(call, "storage", &e.id);
    int r = api_update_file(call, PVE_CFS_STORAGE_CFG, delete_locked, &e);
    if (r < 0)
        return r;
    /* TODO: drop ACL entries on /storage/<id> and pool members (remove_storage_access) */
    return api_call_set_result(call, json_null());
}

/* ---- node status ----------------------------------------------------------------------------- */

/* upstream's storage_info() entry for one storage */
static json_t *storage_status(ApiCall *call, const SectionConfigSection *s, bool formats) {
    const char *node = api_env(call)->nodename;
    bool enabled = storage_cfg_enabled_on(s, node);
    const char *content = section_config_get(s, "content");
    unsigned long long total = 0, used = 0, avail = 0;
    bool active = false;
    const StorageType *t = storage_type_find(s->type);
    const char *path = section_config_get(s, "path");
    struct statvfs sv;
    if (enabled && t && t->path_base && path && is_dir(path) && statvfs(path, &sv) == 0) {
        total = (unsigned long long) sv.f_blocks * sv.f_frsize;
        used = (unsigned long long) (sv.f_blocks - sv.f_bfree) * sv.f_frsize;
        avail = (unsigned long long) sv.f_bavail * sv.f_frsize;
        active = true;
    }
    json_t *o = json_pack(
        "{s:s,s:s,s:i,s:i,s:i,s:I,s:I,s:I}", "type", s->type, "content", content ? content : "",
        "active", active, "enabled", enabled, "shared", storage_cfg_is_shared(s), "total",
        (json_int_t) total, "used", (json_int_t) used, "avail", (json_int_t) avail
    );
    if (o && formats && t && t->formats) {
        json_t *sup = json_array();
        for (const char *const *f = t->formats; sup && *f; f++)
            (void) json_array_append_new(sup, json_string(*f));
        const char *def = section_config_get(s, "format");
        (void) json_object_set_new(
            o, "formats",
            json_pack("{s:s,s:o*}", "default", def ? def : t->default_format, "supported", sup)
        );
    }
    return o;
}

static bool wants_content(const SectionConfigSection *s, const char *list) {
    _cleanup_free_ char *copy = strdup(list);
    char *save = NULL;
    for (char *ct = copy ? strtok_r(copy, ",; ", &save) : NULL; ct;
         ct = strtok_r(NULL, ",; ", &save))
        if (storage_cfg_has_content(s, ct))
            return true;
    return false;
}

typedef struct StatusFilter {
    const char *content, *storage, *target;
    bool enabled, formats;
} StatusFilter;

static bool status_wanted(ApiCall *call, const SectionConfigSection *s, const StatusFilter *f) {
    const char *node = api_env(call)->nodename;
    if (f->content && (!wants_content(s, f->content) || !storage_cfg_enabled_on(s, node)))
        return false;
    if (f->storage && !streq(f->storage, s->id))
        return false;
    if (f->enabled && !storage_cfg_enabled_on(s, node))
        return false;
    if (f->target && !streq(f->target, node) &&
        (!storage_cfg_is_shared(s) || !storage_cfg_available_on(s, f->target)))
        return false;
    return true;
}

static int h_node_storage_index(ApiCall *call) {
    StatusFilter f = {};
    int r = check_local_node(call);
    if (r < 0)
        return r;
    (void) api_call_param_string(call, "content", &f.content);
    (void) api_call_param_string(call, "storage", &f.storage);
    (void) api_call_param_string(call, "target", &f.target);
    (void) api_call_param_bool(call, "enabled", &f.enabled);
    (void) api_call_param_bool(call, "format", &f.formats);
    _cleanup_(cfg_done) Cfg c = {};
    _cleanup_(user_cfg_freep) UserCfg *ucfg = NULL;
    if ((r = cfg_load(call, &c)) < 0 || (r = api_load_user_cfg(call, &ucfg)) < 0)
        return r;
    if (f.storage && !cfg_find(&c, f.storage))
        return api_call_fail(
            call, 400, json_pack("{s:s}", "storage", "No such storage."),
            "Parameter verification failed."
        );
    _cleanup_json_ json_t *res = json_array();
    if (!res)
        return -ENOMEM;
    for (size_t i = 0; i < c.sc->n_sections; i++) {
        const SectionConfigSection *s = c.sc->sections[i];
        if (!status_wanted(call, s, &f) || !can_see_storage(call, ucfg, s->id))
            continue;
        json_t *o = storage_status(call, s, f.formats);
        if (!o || json_util_set_string(o, "storage", s->id) < 0)
            return json_decref(o), -ENOMEM;
        json_int_t total = json_integer_value(json_object_get(o, "total"));
        if (total > 0 &&
            json_object_set_new(
                o, "used_fraction",
                json_real((double) json_integer_value(json_object_get(o, "used")) / (double) total)
            ) < 0)
            return json_decref(o), -ENOMEM;
        if (json_util_append_new(res, o) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(res));
}

static int load_storage(ApiCall *call, Cfg *c, const SectionConfigSection **ret) {
    const char *id = NULL;
    (void) api_call_param_string(call, "storage", &id);
    int r = check_local_node(call);
    if (r < 0 || (r = cfg_load(call, c)) < 0)
        return r;
    *ret = cfg_find(c, id);
    if (!*ret)
        return fail_no_storage(call, "", id);
    return 0;
}

static int h_node_storage_dir(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    const SectionConfigSection *s;
    int r = load_storage(call, &c, &s);
    if (r < 0)
        return r;
    static const char *const subdirs[] = {
        "content", "download-url", "file-restore", "import-metadata", "prunebackups",
        "rrd",     "rrddata",      "status",       "upload",
    };
    _cleanup_json_ json_t *res = json_array();
    for (size_t i = 0; res && i < ELEMENTSOF(subdirs); i++)
        if (json_util_append_new(res, json_pack("{s:s}", "subdir", subdirs[i])) < 0)
            return -ENOMEM;
    return api_call_set_result(call, TAKE_PTR(res));
}

static int h_node_storage_status(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    const char *id = NULL;
    (void) api_call_param_string(call, "storage", &id);
    int r = check_local_node(call);
    if (r < 0 || (r = cfg_load(call, &c)) < 0)
        return r;
    const SectionConfigSection *s = cfg_find(&c, id);
    if (!s)
        return api_call_fail(
            call, 400, json_pack("{s:s}", "storage", "No such storage."),
            "Parameter verification failed."
        );
    return api_call_set_result(call, storage_status(call, s, false));
}

/* ---- volumes (path-based storages; the layout and rules are storage-volume.h) -----------------
 */

/* storage_volume_parse() with its error recorded on the call (500, upstream texts) */
static int
volume_parse(ApiCall *call, const SectionConfigSection *s, const char *volname, StorageVolume *v) {
    _cleanup_free_ char *err = NULL;
    int r = storage_volume_parse(s, volname, v, &err);
    if (r == -ENOMEM || (r < 0 && !err))
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", err);
    return 0;
}

/* upstream's real_volume_id(): "<storage>:<volname>" or a volname relative to the storage */
static int volume_id(
    ApiCall *call, const char *storage, const char *volume, char **ret_sid, const char **ret_volname
) {
    if (!strchr(volume, ':')) {
        if (!storage)
            return api_call_fail(
                call, 400,
                json_pack("{s:s}", "volume", "no storage specified - incomplete volume ID"),
                "Parameter verification failed."
            );
        *ret_sid = strdup(storage);
        *ret_volname = volume;
        return *ret_sid ? 0 : -ENOMEM;
    }
    _cleanup_free_ char *sid = NULL, *msg = NULL;
    int r = storage_volid_split(volume, &sid, ret_volname);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        msg = strdup("unable to parse volume ID");
    else if (storage && !streq(storage, sid) && asprintf(&msg, "storage ID mismatch (%s != %s)", sid, storage) < 0)
        return -ENOMEM;
    if (msg)
        return api_call_fail(
            call, 400, json_pack("{s:s}", "volume", msg), "Parameter verification failed."
        );
    *ret_sid = TAKE_PTR(sid);
    return 0;
}

/* upstream's check_volume_access() (noerr variant: true when allowed) */
static bool
volume_access(ApiCall *call, UserCfg *ucfg, const char *sid, const char *content, uint32_t vmid) {
    if (streq(api_user(call), "root@pam"))
        return true;
    _cleanup_free_ char *spath = NULL, *vpath = NULL;
    if (asprintf(&spath, "/storage/%s", sid) < 0 || asprintf(&vpath, "/vms/%u", vmid) < 0)
        return false;
    if (api_has_priv(call, ucfg, spath, API_PRIVS("Datastore.Allocate"), false))
        return true;
    if (streq(content, "iso") || streq(content, "vztmpl"))
        return api_has_priv(
            call, ucfg, spath, API_PRIVS("Datastore.AllocateSpace", "Datastore.Audit"), true
        );
    if (streq(content, "backup") && vmid)
        return api_has_priv(call, ucfg, spath, API_PRIVS("Datastore.AllocateSpace"), false) &&
               api_has_priv(call, ucfg, vpath, API_PRIVS("VM.Backup"), false);
    if ((streq(content, "images") || streq(content, "rootdir")) && vmid)
        return api_has_priv(call, ucfg, spath, API_PRIVS("Datastore.Audit"), false) &&
               api_has_priv(call, ucfg, vpath, API_PRIVS("VM.Config.Disk"), false);
    if (streq(content, "snippets"))
        return api_has_priv(call, ucfg, spath, API_PRIVS("Datastore.AllocateSpace"), false);
    return false;
}

static char *read_first_line(const char *path) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (read_full_file(path, 64 * 1024, &text, &len) < 0)
        return NULL;
    text[strcspn(text, "\n")] = 0;
    return TAKE_PTR(text);
}

/* backup archive name: vzdump-<type>-<vmid>-YYYY_MM_DD-HH_MM_SS.<ext> -> type, ctime */
static void backup_archive_info(json_t *o, const char *name) {
    regmatch_t m[10];
    if (regex_match("^vzdump-(lxc|openvz|qemu)-", name, m, 2) <= 0) {
        (void) json_util_set_string(o, "subtype", "unknown");
        return;
    }
    _cleanup_free_ char *type = match_dup(name, &m[1]);
    (void) json_util_set_string(o, "subtype", type);
    struct tm tm = {.tm_isdst = -1};
    if (regex_match(
            "^vzdump-[a-z]+-[1-9][0-9]{2,8}-([0-9]{4})_([0-9]{2})_([0-9]{2})-([0-9]{2})_([0-9]{2})_"
            "([0-9]{2})\\.",
            name, m, 7
        ) <= 0)
        return;
    int f[6];
    for (int i = 0; i < 6; i++)
        f[i] = atoi(name + m[i + 1].rm_so);
    tm.tm_year = f[0] - 1900;
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    time_t t = mktime(&tm);
    if (t != (time_t) -1)
        (void) json_util_set_int(o, "ctime", (long long) t);
}

/* listing entry of a file in a content directory, NULL when the name does not qualify */
static json_t *list_entry(
    const SectionConfigSection *s,
    const char *ct,
    const char *dir,
    const char *name,
    long long vmid_filter
) {
    regmatch_t m[5];
    _cleanup_free_ char *path = NULL, *volid = NULL, *format = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    struct stat st;
    if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
        return NULL;
    if (storage_file_format(ct, name, &format) < 0 || !format ||
        asprintf(&volid, "%s:%s/%s", s->id, ct, name) < 0)
        return NULL;

    _cleanup_json_ json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I}", "volid", volid, "format", format, "content", ct, "size",
        (json_int_t) st.st_size
    );
    if (!o)
        return NULL;
    if (streq(ct, "backup")) {
        long long vmid = 0;
        if (regex_match("-([1-9][0-9]{2,8})-[^/]+$", name, m, 2) > 0)
            vmid = atoll(name + m[1].rm_so);
        if (vmid_filter && vmid != vmid_filter)
            return NULL;
        if (vmid)
            (void) json_util_set_int(o, "vmid", vmid);
        backup_archive_info(o, name);
        _cleanup_free_ char *notes_path = NULL, *prot = NULL;
        if (asprintf(&notes_path, "%s.notes", path) >= 0) {
            _cleanup_free_ char *notes = read_first_line(notes_path);
            if (notes)
                (void) json_util_set_string(o, "notes", notes);
        }
        if (asprintf(&prot, "%s.protected", path) >= 0 && access(prot, F_OK) == 0)
            (void) json_util_set_int(o, "protected", 1);
    }
    if (!json_object_get(o, "ctime"))
        (void) json_util_set_int(o, "ctime", (long long) st.st_ctime);
    return TAKE_PTR(o);
}

/* true when the guest is a container (its config is under lxc/) */
static bool guest_is_lxc(uint32_t vmid) {
    _cleanup_free_ char *rel = NULL, *path = NULL;
    if (asprintf(&rel, "lxc/%u.conf", vmid) < 0 || cfs_file_path(rel, &path) < 0)
        return false;
    return access(path, F_OK) == 0;
}

/* the images (want "images") or container volumes (want "rootdir") of s */
static int
list_images(const SectionConfigSection *s, const char *want, long long vmid_filter, json_t *res) {
    StorageImage *imgs = NULL;
    size_t n = 0;
    int r = storage_list_images(s, (uint32_t) vmid_filter, &imgs, &n);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        const StorageImage *img = &imgs[i];
        const char *ct = guest_is_lxc(img->vmid) ? "rootdir" : "images";
        if (!streq(ct, want))
            continue;
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "volid", img->volid, "format", img->format, "content",
            ct, "size", (json_int_t) img->info.size, "used", (json_int_t) img->info.used, "vmid",
            (json_int_t) img->vmid, "ctime", (json_int_t) img->info.ctime
        );
        if (o && img->info.parent)
            (void) json_util_set_string(o, "parent", img->info.parent);
        r = json_util_append_new(res, o);
    }
    storage_images_free(imgs, n);
    return r;
}

static int
list_files(const SectionConfigSection *s, const char *ct, long long vmid_filter, json_t *res) {
    _cleanup_free_ char *dir = NULL;
    if (storage_cfg_content_dir(s, ct, &dir) < 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int r = 0;
    while (r >= 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        json_t *o = list_entry(s, ct, dir, de->d_name, vmid_filter);
        if (o)
            r = json_util_append_new(res, o);
    }
    closedir(d);
    return r;
}

static int volid_cmp(const void *a, const void *b) {
    const json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
    return strcasecmp(
        json_string_value(json_object_get(x, "volid")),
        json_string_value(json_object_get(y, "volid"))
    );
}

static int sort_by_volid(json_t *a, json_t **ret) {
    size_t n = json_array_size(a);
    _cleanup_free_ json_t **items = calloc(n + 1, sizeof(json_t *));
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(a, i);
    qsort(items, n, sizeof(json_t *), volid_cmp);
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++)
        if (json_array_append(out, items[i]) < 0)
            return json_decref(out), -ENOMEM;
    *ret = out;
    return out ? 0 : -ENOMEM;
}

/* Content item of the listing: allowed for the user? */
static bool
item_visible(ApiCall *call, UserCfg *ucfg, const SectionConfigSection *s, json_t *item) {
    const char *ct = json_string_value(json_object_get(item, "content"));
    json_int_t vmid = json_integer_value(json_object_get(item, "vmid"));
    return volume_access(call, ucfg, s->id, ct, (uint32_t) vmid);
}

static int h_content_list(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    _cleanup_(user_cfg_freep) UserCfg *ucfg = NULL;
    const SectionConfigSection *s;
    const char *content = NULL;
    long long vmid = 0;
    (void) api_call_param_string(call, "content", &content);
    (void) api_call_param_int(call, "vmid", &vmid);
    int r = load_storage(call, &c, &s);
    if (r < 0 || (r = api_load_user_cfg(call, &ucfg)) < 0 ||
        (r = activate_storage(call, s, true, "")) < 0)
        return r;
    static const char *const cts[] = {"rootdir", "images", "vztmpl", "iso", "backup", "snippets"};
    _cleanup_json_ json_t *all = json_array(), *res = json_array(), *sorted = NULL;
    if (!all || !res)
        return -ENOMEM;
    const StorageType *t = storage_type_find(s->type);
    for (size_t i = 0; t && t->path_base && i < ELEMENTSOF(cts); i++) {
        if ((content && !streq(content, cts[i])) || !storage_cfg_has_content(s, cts[i]))
            continue;
        bool img = streq(cts[i], "images") || streq(cts[i], "rootdir");
        if (!img && vmid && (streq(cts[i], "iso") || streq(cts[i], "vztmpl")))
            continue; /* templates belong to no guest */
        r = img ? list_images(s, cts[i], vmid, all) : list_files(s, cts[i], vmid, all);
        if (r < 0)
            return r;
    }
    if ((r = sort_by_volid(all, &sorted)) < 0)
        return r;
    size_t i;
    json_t *item;
    json_array_foreach(sorted, i, item) {
        if (item_visible(call, ucfg, s, item) && json_array_append(res, item) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(res));
}

/* storage + parsed volume of a content/{volume} call */
static int
load_volume(ApiCall *call, Cfg *c, const SectionConfigSection **ret_s, StorageVolume *v) {
    const char *storage = NULL, *volume = NULL, *volname = NULL;
    _cleanup_free_ char *sid = NULL;
    (void) api_call_param_string(call, "storage", &storage);
    (void) api_call_param_string(call, "volume", &volume);
    int r = check_local_node(call);
    if (r < 0 || (r = volume_id(call, storage, volume, &sid, &volname)) < 0 ||
        (r = cfg_load(call, c)) < 0)
        return r;
    *ret_s = cfg_find(c, sid);
    if (!*ret_s)
        return fail_no_storage(call, "", sid);
    return volume_parse(call, *ret_s, volname, v);
}

static int h_content_read(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    _cleanup_(storage_volume_done) StorageVolume v = {};
    _cleanup_(storage_volume_info_done) StorageVolumeInfo info = {};
    const SectionConfigSection *s;
    int r = load_volume(call, &c, &s, &v);
    if (r < 0)
        return r;
    if (!volume_access(call, NULL, s->id, v.content, v.vmid))
        return api_call_fail(
            call, 403, NULL, "Permission check failed (/storage/%s, Datastore.Audit)", s->id
        );
    if (storage_volume_info(v.path, v.format, &info) < 0)
        return api_call_fail(
            call, 500, NULL, "volume_size_info on '%s' failed - no format", v.volid
        );
    if (info.size == 0 && !streq(v.format, "subvol"))
        return api_call_fail(call, 500, NULL, "volume '%s' has size zero", v.volid);
    _cleanup_json_ json_t *o = json_pack(
        "{s:s,s:I,s:I,s:s}", "path", v.path, "size", (json_int_t) info.size, "used",
        (json_int_t) info.used, "format", v.format
    );
    if (o && streq(v.content, "backup")) {
        _cleanup_free_ char *np = NULL, *pp = NULL;
        if (asprintf(&np, "%s.notes", v.path) >= 0) {
            _cleanup_free_ char *notes = read_first_line(np);
            if (notes)
                (void) json_util_set_string(o, "notes", notes);
        }
        if (asprintf(&pp, "%s.protected", v.path) >= 0)
            (void) json_util_set_int(o, "protected", access(pp, F_OK) == 0);
    }
    return api_call_set_result(call, TAKE_PTR(o));
}

/* ---- delete volume --------------------------------------------------------------------------- */

typedef struct FreeCtx {
    StorageVolume *v;
    const SectionConfigSection *s;
} FreeCtx;

static int free_worker(TaskWorker *w, void *userdata) {
    FreeCtx *f = userdata;
    _cleanup_free_ char *err = NULL;
    const char *volname = strchr(f->v->volid, ':') + 1;
    int r = storage_volume_free(f->s, volname, &err);
    if (r == -ENOENT) /* upstream only warns */
        printf("WARN: disk image '%s' does not exist\n", f->v->path);
    else if (r < 0) {
        if (err)
            task_set_error(w, "%s", err);
        return r;
    }
    printf("Removed volume '%s'\n", f->v->volid);
    return 0;
}

static int wait_task(ApiCall *call, const char *upid, long long delay) {
    Upid u;
    if (upid_decode(upid, &u) < 0)
        return 0;
    for (long long i = 0; i < delay * 20 && task_process_running(u.pid, u.pstart); i++)
        (void) usleep(50000);
    if (task_process_running(u.pid, u.pstart))
        return 0; /* still running: answer the UPID */
    _cleanup_free_ char *status = NULL;
    int r = task_read_status(api_env(call)->taskdir, upid, &status);
    if (r < 0)
        return r;
    if (!streq(task_status_type(status), "error"))
        return 1;
    return api_call_fail(call, 500, NULL, "%s", status);
}

static int h_content_delete(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    _cleanup_(storage_volume_done) StorageVolume v = {};
    const SectionConfigSection *s;
    int r = load_volume(call, &c, &s, &v);
    if (r < 0)
        return r;
    _cleanup_free_ char *spath = NULL, *vpath = NULL, *id = NULL, *upid = NULL;
    if (asprintf(&spath, "/storage/%s", s->id) < 0 || asprintf(&vpath, "/vms/%u", v.vmid) < 0)
        return -ENOMEM;
    if (streq(v.content, "backup") && v.vmid) {
        if ((r = api_check_priv(call, NULL, spath, API_PRIVS("Datastore.AllocateSpace"), false)) <
                0 ||
            (r = api_check_priv(call, NULL, vpath, API_PRIVS("VM.Backup"), false)) < 0)
            return r;
    } else if ((r = api_check_priv(call, NULL, spath, API_PRIVS("Datastore.Allocate"), false)) < 0)
        return r;
    if ((r = activate_storage(call, s, true, "")) < 0)
        return r;
    if (v.vmid ? asprintf(&id, "%u@%s", v.vmid, s->id) < 0 : !(id = strdup(s->id)))
        return -ENOMEM;
    FreeCtx f = {.v = &v, .s = s};
    ApiEnv *env = api_env(call);
    r = task_start(
        env->taskdir, env->nodename, "imgdel", id, api_user(call), free_worker, &f, &upid
    );
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to start task - %s", strerror(-r));
    long long delay = 0;
    (void) api_call_param_int(call, "delay", &delay);
    if (delay > 0 && (r = wait_task(call, upid, delay)) != 0)
        return r < 0 ? r : api_call_set_result(call, json_null());
    return api_call_set_result(call, json_string(upid));
}

/* ---- allocate a guest image ------------------------------------------------------------------ */

/* upstream's size parameter: a number of KiB, or M/G */
static int alloc_size(ApiCall *call, const char *text, uint64_t *ret) {
    int r = storage_parse_size(text, 'K', ret);
    if (r < 0 || strchr(text, '.') ||
        (!isdigit((unsigned char) text[strlen(text) - 1]) && !endswith(text, "M") &&
         !endswith(text, "G"))) {
        _cleanup_free_ char *msg = NULL;
        if (asprintf(&msg, "unable to parse size '%s'", text) < 0)
            return -ENOMEM;
        return api_call_fail(
            call, 400, json_pack("{s:s}", "size", msg), "Parameter verification failed."
        );
    }
    return 0;
}

/* the format from the file name's extension, which must agree with a given format */
static int alloc_format(ApiCall *call, const char *name, const char **fmt) {
    static const char *const exts[] = {"raw", "qcow2", "vmdk"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < ELEMENTSOF(exts); i++) {
        if (!streq(dot + 1, exts[i]))
            continue;
        if (*fmt && !streq(*fmt, exts[i])) {
            _cleanup_free_ char *msg = NULL;
            if (asprintf(&msg, "different storage formats (%s != %s)", *fmt, exts[i]) < 0)
                return -ENOMEM;
            return api_call_fail(
                call, 400, json_pack("{s:s}", "format", msg), "Parameter verification failed."
            );
        }
        *fmt = exts[i];
    }
    return 0;
}

static int h_content_create(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    _cleanup_free_ char *volid = NULL, *err = NULL;
    const SectionConfigSection *s;
    const char *name = NULL, *size = NULL, *fmt = NULL;
    long long vmid = 0;
    uint64_t bytes = 0;
    (void) api_call_param_string(call, "filename", &name);
    (void) api_call_param_string(call, "size", &size);
    (void) api_call_param_string(call, "format", &fmt);
    (void) api_call_param_int(call, "vmid", &vmid);
    int r = alloc_size(call, size, &bytes);
    if (r < 0 || (r = alloc_format(call, name, &fmt)) < 0 || (r = load_storage(call, &c, &s)) < 0)
        return r;
    if (fmt && streq(fmt, "subvol") && bytes != 0) /* a directory cannot hold a quota here */
        return api_call_fail(call, 500, NULL, "storage does not support subvol quotas");
    if ((r = activate_storage(call, s, true, "")) < 0)
        return r;
    r = storage_volume_alloc(s, (uint32_t) vmid, fmt, name, bytes, &volid, &err);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", err ? err : strerror(-r));
    return api_call_set_result(call, json_string(volid));
}

/* ---- upload ---------------------------------------------------------------------------------- */

/* upstream's normalize_content_filename(): basename, then [^-a-zA-Z0-9_.] -> '_' */
static char *normalize_filename(const char *name) {
    const char *b = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    char *s = strdup(b);
    if (!s)
        return NULL;
    s[strcspn(s, "\r\n")] = 0;
    for (char *p = s; *p; p++)
        if (!strchr("-_.", *p) &&
            !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    return s;
}

typedef struct Upload {
    int fd;      /* the uploaded file, open in the daemon and inherited by the worker */
    bool staged; /* renamed next to the destination already */
    char *tmpfilename;
    char *stage; /* <dir>/.<name>.upload */
    char *dest;
    const char *node;
    const char *checksum, *algorithm;
    unsigned long long size;
} Upload;

static void upload_done(Upload *u) {
    safe_close(u->fd);
    free(u->tmpfilename);
    free(u->stage);
    free(u->dest);
}

static int copy_fd_to(int fd, const char *path) {
    _cleanup_close_ int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return -errno;
    char buf[64 * 1024];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        int r = write_all(out, buf, (size_t) n);
        if (r < 0)
            return r;
        off += n;
    }
    return fsync(out) < 0 ? -errno : 0;
}

static int file_hash_hex(const char *path, const char *algorithm, char *hex) {
    const EVP_MD *md = EVP_get_digestbyname(algorithm);
    if (!md)
        return -EINVAL;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -ENOMEM;
    }
    char buf[64 * 1024];
    ssize_t n;
    int r = 0;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || EVP_DigestUpdate(ctx, buf, (size_t) n) != 1) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
    }
    uint8_t out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (r == 0 && EVP_DigestFinal_ex(ctx, out, &len) != 1)
        r = -EIO;
    EVP_MD_CTX_free(ctx);
    if (r == 0)
        digest_to_hex(out, len, hex);
    return r;
}

static int upload_worker(TaskWorker *w, void *userdata) {
    Upload *u = userdata;
    int r;
    printf("starting file import from: %s\n", u->tmpfilename);
    if (!u->staged && (r = copy_fd_to(u->fd, u->stage)) < 0) {
        (void) unlink(u->stage);
        task_set_error(w, "import failed: unable to copy to '%s' - %s", u->stage, strerror(-r));
        return r;
    }
    if (u->algorithm) {
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        printf("calculating checksum...");
        fflush(stdout);
        if ((r = file_hash_hex(u->stage, u->algorithm, hex)) < 0) {
            (void) unlink(u->stage);
            return r;
        }
        if (strcasecmp(hex, u->checksum) != 0) {
            printf("\n");
            (void) unlink(u->stage);
            task_set_error(w, "checksum mismatch: got '%s' != expect '%s'", hex, u->checksum);
            return -EBADMSG;
        }
        printf("OK, checksum verified\n");
    }
    printf("target node: %s\n", u->node);
    printf("target file: %s\n", u->dest);
    printf("file size is: %llu\n", u->size);
    if (rename(u->stage, u->dest) < 0) {
        r = -errno;
        (void) unlink(u->stage);
        task_set_error(w, "import failed: unable to move to '%s' - %s", u->dest, strerror(-r));
        return r;
    }
    printf("finished file import successfully\n");
    return 0;
}

static int upload_param_error(ApiCall *call, const char *param, const char *msg) {
    return api_call_fail(
        call, 400, json_pack("{s:s}", param, msg), "Parameter verification failed."
    );
}

/* Where the file goes: checks extension and content type of the storage. */
static int upload_target(
    ApiCall *call,
    const SectionConfigSection *s,
    const char *content,
    const char *filename,
    char **ret_dir
) {
    if (!streq(content, "iso") && !streq(content, "vztmpl"))
        return upload_param_error(call, "content", "upload content type not allowed");
    _cleanup_free_ char *format = NULL;
    if (storage_file_format(content, filename, &format) < 0)
        return -ENOMEM;
    if (!format)
        return upload_param_error(call, "filename", "wrong file extension");
    if (!storage_cfg_has_content(s, content))
        return api_call_fail(
            call, 500, NULL, "storage '%s' does not support '%s' content", s->id, content
        );
    if (storage_cfg_content_dir(s, content, ret_dir) < 0)
        return api_call_fail(call, 500, NULL, "can't upload to storage type '%s'", s->type);
    return 0;
}

/* Move the temporary file next to the destination (same filesystem) or keep it open for a
 * copy by the worker: the HTTP layer unlinks it once the request is answered. */
static int upload_stage(ApiCall *call, Upload *u, const char *dir, const char *filename) {
    u->fd = open(u->tmpfilename, O_RDONLY | O_CLOEXEC);
    if (u->fd < 0)
        return api_call_fail(call, 500, NULL, "temporary file '%s' does not exist", u->tmpfilename);
    struct stat st;
    if (fstat(u->fd, &st) < 0)
        return -errno;
    u->size = (unsigned long long) st.st_size;
    int r = mkdir_p(dir, 0755);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to create '%s' - %s", dir, strerror(-r));
    if (asprintf(&u->dest, "%s/%s", dir, filename) < 0 ||
        asprintf(&u->stage, "%s/.%s.upload-%d", dir, filename, (int) getpid()) < 0)
        return -ENOMEM;
    (void) fchmod(u->fd, 0644);
    if (rename(u->tmpfilename, u->stage) == 0)
        u->staged = true;
    else if (errno != EXDEV)
        return api_call_fail(
            call, 500, NULL, "unable to move '%s' - %s", u->tmpfilename, strerror(errno)
        );
    return 0;
}

static int h_upload(ApiCall *call) {
    _cleanup_(cfg_done) Cfg c = {};
    _cleanup_(upload_done) Upload u = {.fd = -EBADF};
    const SectionConfigSection *s;
    const char *content = NULL, *fname = NULL, *tmp = NULL;
    (void) api_call_param_string(call, "content", &content);
    (void) api_call_param_string(call, "filename", &fname);
    (void) api_call_param_string(call, "tmpfilename", &tmp);
    (void) api_call_param_string(call, "checksum", &u.checksum);
    (void) api_call_param_string(call, "checksum-algorithm", &u.algorithm);
    int r = load_storage(call, &c, &s);
    if (r < 0)
        return r;
    if (!tmp)
        return api_call_fail(call, 500, NULL, "missing temporary file name");
    if (!(u.tmpfilename = strdup(tmp)))
        return -ENOMEM;
    _cleanup_free_ char *filename = normalize_filename(fname), *dir = NULL, *upid = NULL;
    if (!filename)
        return -ENOMEM;
    if ((r = upload_target(call, s, content, filename, &dir)) < 0 ||
        (r = activate_storage(call, s, true, "")) < 0 ||
        (r = upload_stage(call, &u, dir, filename)) < 0)
        return r;
    ApiEnv *env = api_env(call);
    u.node = env->nodename;
    r = task_start(
        env->taskdir, env->nodename, "imgcopy", NULL, api_user(call), upload_worker, &u, &upid
    );
    if (r < 0) {
        if (u.staged)
            (void) unlink(u.stage);
        return api_call_fail(call, 500, NULL, "unable to start task - %s", strerror(-r));
    }
    return api_call_set_result(call, json_string(upid));
}

/* ---- schemas and table ----------------------------------------------------------------------- */

#define P_NODE API_PARAM_STRING("node", .format = "pve-node")
#define P_STORAGE \
    API_PARAM_STRING("storage", .format = "pve-storage-id", .typetext = "<storage ID>")

static const ApiSchema storage_index_params = API_OBJECT(
        .properties = API_PROPERTIES(API_PARAM_STRING(
            "type",
            .optional = true,
            .description = "Only list storage of specific type",
            .enum_values = storage_type_names
        ))
);
static const ApiSchema storage_index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("storage")))
    );
static const ApiSchema storage_id_params = API_OBJECT(.properties = API_PROPERTIES(P_STORAGE));
static const ApiSchema storage_edit_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("storage"),
            API_PARAM_STRING("type", .enum_values = storage_type_names),
            API_PARAM_OBJECT("config", .optional = true, .additional_properties = true)
        )
);
/* POST/PUT parameters: built at registration from storage_cfg_properties */
static ApiSchema create_params = API_OBJECT();
static ApiSchema update_params = API_OBJECT();

static const ApiSchema node_storage_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("content", .optional = true, .format = "pve-storage-content-list"),
            API_PARAM_BOOL("enabled", .optional = true, API_DEFAULT_INT(0)),
            API_PARAM_BOOL("format", .optional = true, API_DEFAULT_INT(0)),
            P_NODE,
            API_PARAM_STRING(
                "storage", .optional = true, .format = "pve-storage-id", .typetext = "<storage ID>"
            ),
            API_PARAM_STRING("target", .optional = true, .format = "pve-node")
        )
);
static const ApiSchema status_item = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL("active", .optional = true),
            API_PARAM_INTEGER("avail", .optional = true),
            API_PARAM_STRING("content", .format = "pve-storage-content-list"),
            API_PARAM_BOOL("enabled", .optional = true),
            API_PARAM_BOOL("shared", .optional = true),
            API_PARAM_STRING("storage", .optional = true, .format = "pve-storage-id"),
            API_PARAM_INTEGER("total", .optional = true),
            API_PARAM_STRING("type"),
            API_PARAM_INTEGER("used", .optional = true),
            API_PARAM_NUMBER("used_fraction", .optional = true),
            API_PARAM_OBJECT("formats", .optional = true, .additional_properties = true)
        )
);
static const ApiSchema node_storage_returns = API_ARRAY(&status_item);
static const ApiSchema node_storage_id_params =
    API_OBJECT(.properties = API_PROPERTIES(P_NODE, P_STORAGE));
static const ApiSchema subdir_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));
static const ApiSchema content_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("content", .optional = true, .format = "pve-storage-content"),
            P_NODE,
            P_STORAGE,
            API_PARAM_INTEGER(
                "vmid", .optional = true, .format = "pve-vmid", API_RANGE(100, 999999999)
            )
        )
);
static const ApiSchema content_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_INTEGER("ctime", .optional = true, API_MIN(0)),
        API_PARAM_STRING("format"),
        API_PARAM_STRING("notes", .optional = true),
        API_PARAM_STRING("parent", .optional = true),
        API_PARAM_BOOL("protected", .optional = true),
        API_PARAM_INTEGER("size"),
        API_PARAM_INTEGER("used", .optional = true),
        API_PARAM_INTEGER("vmid", .optional = true),
        API_PARAM_STRING("volid")
    )
));
#define P_VOLUME_STORAGE                                                                    \
    API_PARAM_STRING(                                                                       \
        "storage", .optional = true, .format = "pve-storage-id", .typetext = "<storage ID>" \
    )
static const ApiSchema volume_params =
    API_OBJECT(.properties = API_PROPERTIES(P_NODE, P_VOLUME_STORAGE, API_PARAM_STRING("volume")));
static const ApiSchema volume_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("format"),
            API_PARAM_STRING("notes", .optional = true),
            API_PARAM_STRING("path"),
            API_PARAM_BOOL("protected", .optional = true),
            API_PARAM_INTEGER("size"),
            API_PARAM_INTEGER("used")
        )
);
static const ApiSchema volume_delete_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_INTEGER("delay", .optional = true, API_RANGE(1, 30)),
            P_NODE,
            P_VOLUME_STORAGE,
            API_PARAM_STRING("volume")
        )
);
static const ApiSchema upload_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("checksum", .optional = true, .requires = "checksum-algorithm"),
            API_PARAM_STRING(
                "checksum-algorithm",
                .optional = true,
                .requires = "checksum",
                .enum_values = API_ENUM("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
            ),
            API_PARAM_STRING(
                "content",
                .enum_values = API_ENUM("iso", "vztmpl", "import"),
                .format = "pve-storage-content"
            ),
            API_PARAM_STRING("filename", .max_length = 255),
            P_NODE,
            P_STORAGE,
            API_PARAM_STRING(
                "tmpfilename", .optional = true, .pattern = "/var/tmp/pveupload-[0-9a-f]+"
            )
        )
);
static const ApiSchema alloc_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("filename"),
            API_PARAM_STRING(
                "format",
                .optional = true,
                .requires = "size",
                .enum_values = API_ENUM("raw", "qcow2", "subvol", "vmdk")
            ),
            P_NODE,
            API_PARAM_STRING("size", .pattern = "\\d+[MG]?"),
            P_STORAGE,
            API_PARAM_INTEGER("vmid", .format = "pve-vmid", API_RANGE(100, 999999999))
        )
);
static const ApiSchema string_returns = API_SCALAR(API_TYPE_STRING);
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);
static const ApiSchema volume_delete_returns = API_SCALAR(API_TYPE_STRING, .optional = true);

#define AUDIT_ANY                                                                     \
    API_PERM_CHECK_ANY(                                                               \
        "/storage/{storage}", API_PRIVS("Datastore.Audit", "Datastore.AllocateSpace") \
    )

static const ApiMethod methods[] = {
    {.path = "/storage",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Storage index.",
     .parameters = &storage_index_params,
     .returns = &storage_index_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_storage_index},
    {.path = "/storage",
     .method = API_METHOD_POST,
     .name = "create",
     .description = "Create a new storage.",
     .parameters = &create_params,
     .returns = &storage_edit_returns,
     .permissions = API_PERM_CHECK("/storage", API_PRIVS("Datastore.Allocate")),
     .protected = true,
     .allowtoken = true,
     .handler = h_storage_create},
    {.path = "/storage/{storage}",
     .method = API_METHOD_GET,
     .name = "read",
     .description = "Read storage configuration.",
     .parameters = &storage_id_params,
     .permissions = API_PERM_CHECK("/storage/{storage}", API_PRIVS("Datastore.Allocate")),
     .allowtoken = true,
     .handler = h_storage_read},
    {.path = "/storage/{storage}",
     .method = API_METHOD_PUT,
     .name = "update",
     .description = "Update storage configuration.",
     .parameters = &update_params,
     .returns = &storage_edit_returns,
     .permissions = API_PERM_CHECK("/storage", API_PRIVS("Datastore.Allocate")),
     .protected = true,
     .allowtoken = true,
     .handler = h_storage_update},
    {.path = "/storage/{storage}",
     .method = API_METHOD_DELETE,
     .name = "delete",
     .description = "Delete storage configuration.",
     .parameters = &storage_id_params,
     .returns = &null_returns,
     .permissions = API_PERM_CHECK("/storage", API_PRIVS("Datastore.Allocate")),
     .protected = true,
     .allowtoken = true,
     .handler = h_storage_delete},
    {.path = "/nodes/{node}/storage",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Get status for all datastores.",
     .parameters = &node_storage_params,
     .returns = &node_storage_returns,
     .permissions = API_PERM_ALL,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_node_storage_index},
    {.path = "/nodes/{node}/storage/{storage}",
     .method = API_METHOD_GET,
     .name = "diridx",
     .parameters = &node_storage_id_params,
     .returns = &subdir_returns,
     .permissions = AUDIT_ANY,
     .allowtoken = true,
     .handler = h_node_storage_dir},
    {.path = "/nodes/{node}/storage/{storage}/status",
     .method = API_METHOD_GET,
     .name = "read_status",
     .description = "Read storage status.",
     .parameters = &node_storage_id_params,
     .returns = &status_item,
     .permissions = AUDIT_ANY,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_node_storage_status},
    {.path = "/nodes/{node}/storage/{storage}/content",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "List storage content.",
     .parameters = &content_params,
     .returns = &content_returns,
     .permissions = AUDIT_ANY,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_content_list},
    {.path = "/nodes/{node}/storage/{storage}/content",
     .method = API_METHOD_POST,
     .name = "create",
     .description = "Allocate disk images.",
     .parameters = &alloc_params,
     .returns = &string_returns,
     .permissions = API_PERM_CHECK("/storage/{storage}", API_PRIVS("Datastore.AllocateSpace")),
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_content_create},
    {.path = "/nodes/{node}/storage/{storage}/content/{volume}",
     .method = API_METHOD_GET,
     .name = "info",
     .description = "Get volume attributes",
     .parameters = &volume_params,
     .returns = &volume_returns,
     .permissions = API_PERM_ALL,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_content_read},
    {.path = "/nodes/{node}/storage/{storage}/content/{volume}",
     .method = API_METHOD_DELETE,
     .name = "delete",
     .description = "Delete volume",
     .parameters = &volume_delete_params,
     .returns = &volume_delete_returns,
     .permissions = API_PERM_ALL,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_content_delete},
    {.path = "/nodes/{node}/storage/{storage}/upload",
     .method = API_METHOD_POST,
     .name = "upload",
     .description = "Upload templates, ISO images and OVAs.",
     .parameters = &upload_params,
     .returns = &string_returns,
     .permissions = API_PERM_CHECK("/storage/{storage}", API_PRIVS("Datastore.AllocateTemplate")),
     .protected = true,
     .allowtoken = true,
     .handler = h_upload},
};

/* POST: storage, type and every property; PUT: storage, digest, delete and the properties some
 * type can change (upstream's updateSchema). Built once, kept for the process lifetime. */
static int build_edit_schemas(void) {
    static ApiSchema *create_props, *update_props;
    if (create_props)
        return 0;
    size_t n = 0;
    while (storage_cfg_properties[n].name)
        n++;
    create_props = calloc(n + 3, sizeof(ApiSchema));
    update_props = calloc(n + 4, sizeof(ApiSchema));
    if (!create_props || !update_props)
        return -ENOMEM;
    static const ApiSchema storage = P_STORAGE;
    static const ApiSchema type = API_PARAM_STRING("type", .enum_values = storage_type_names);
    static const ApiSchema digest = API_PARAM_STRING("digest", .optional = true, .max_length = 64);
    static const ApiSchema del = API_PARAM_STRING(
        "delete", .optional = true, .max_length = 4096, .format = "pve-configid-list"
    );
    static const char *const create_only[] = {"authsupported", "base",     "datastore", "export",
                                              "iscsiprovider", "path",     "portal",    "share",
                                              "target",        "thinpool", "vgname",    NULL};
    size_t c = 0, u = 0;
    create_props[c++] = storage;
    create_props[c++] = type;
    update_props[u++] = storage;
    update_props[u++] = digest;
    update_props[u++] = del;
    for (size_t i = 0; i < n; i++) {
        create_props[c++] = storage_cfg_properties[i];
        if (!strv_contains(create_only, storage_cfg_properties[i].name))
            update_props[u++] = storage_cfg_properties[i];
    }
    create_params.properties = create_props;
    update_params.properties = update_props;
    return 0;
}

int api_storage_register(ApiRouter *r) {
    int ret = build_edit_schemas();
    if (ret < 0)
        return ret;
    return api_router_add(r, methods);
}
