/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * user-cfg: parser, printer and permission evaluation for /etc/pve/user.cfg (api.md §2.8, §2.9).
 * Owns the line format, the privilege names and built-in roles, and ACL resolution. Must not read
 * files or log; callers decide what to do with parse errors (which name the line).
 */
#include "pve/user-cfg.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pve/auth-ticket.h"
#include "pve/hashmap.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

/* The 47 privileges, in roles.tsv order (sorted); bit i of a PrivSet is priv_names[i]. */
static const char *const priv_names[PRIV_COUNT] = {
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Group.Allocate",
    "Mapping.Audit",
    "Mapping.Modify",
    "Mapping.Use",
    "Permissions.Modify",
    "Pool.Allocate",
    "Pool.Audit",
    "Realm.Allocate",
    "Realm.AllocateUser",
    "SDN.Allocate",
    "SDN.Audit",
    "SDN.Use",
    "Sys.AccessNetwork",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "User.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.PowerMgmt",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
};

/* Built-in roles, transcribed from roles.tsv (never written to user.cfg). */
static const struct {
    const char *name;
    const char *privs;
} builtin_roles[] = {
    {"Administrator",
     "Datastore.Allocate,Datastore.AllocateSpace,Datastore.AllocateTemplate,Datastore.Audit,Group."
     "Allocate,Mapping.Audit,Mapping.Modify,Mapping.Use,Permissions.Modify,Pool.Allocate,Pool."
     "Audit,Realm.Allocate,Realm.AllocateUser,SDN.Allocate,SDN.Audit,SDN.Use,Sys.AccessNetwork,Sys."
     "Audit,Sys.Console,Sys.Incoming,Sys.Modify,Sys.PowerMgmt,Sys.Syslog,User.Modify,VM.Allocate,"
     "VM.Audit,VM.Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,VM.Config.Cloudinit,VM.Config.Disk,"
     "VM.Config.HWType,VM.Config.Memory,VM.Config.Network,VM.Config.Options,VM.Console,VM."
     "GuestAgent.Audit,VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,"
     "VM.GuestAgent.Unrestricted,VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,VM.Snapshot."
     "Rollback"},
    {"NoAccess", ""},
    {"PVEAdmin",
     "Datastore.Allocate,Datastore.AllocateSpace,Datastore.AllocateTemplate,Datastore.Audit,Group."
     "Allocate,Mapping.Audit,Mapping.Use,Pool.Allocate,Pool.Audit,Realm.AllocateUser,SDN.Allocate,"
     "SDN.Audit,SDN.Use,Sys.Audit,Sys.Console,Sys.Syslog,User.Modify,VM.Allocate,VM.Audit,VM."
     "Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,VM.Config.Cloudinit,VM.Config.Disk,VM.Config."
     "HWType,VM.Config.Memory,VM.Config.Network,VM.Config.Options,VM.Console,VM.GuestAgent.Audit,"
     "VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.GuestAgent."
     "Unrestricted,VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,VM.Snapshot.Rollback"},
    {"PVEAuditor",
     "Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,VM.Audit,VM.GuestAgent.Audit"},
    {"PVEDatastoreAdmin",
     "Datastore.Allocate,Datastore.AllocateSpace,Datastore.AllocateTemplate,Datastore.Audit"},
    {"PVEDatastoreUser", "Datastore.AllocateSpace,Datastore.Audit"},
    {"PVEMappingAdmin", "Mapping.Audit,Mapping.Modify,Mapping.Use"},
    {"PVEMappingUser", "Mapping.Audit,Mapping.Use"},
    {"PVEPoolAdmin", "Pool.Allocate,Pool.Audit"},
    {"PVEPoolUser", "Pool.Audit"},
    {"PVESDNAdmin", "SDN.Allocate,SDN.Audit,SDN.Use"},
    {"PVESDNUser", "SDN.Audit,SDN.Use"},
    {"PVESysAdmin", "Sys.Audit,Sys.Console,Sys.Syslog"},
    {"PVETemplateUser", "VM.Audit,VM.Clone"},
    {"PVEUserAdmin", "Group.Allocate,Realm.AllocateUser,User.Modify"},
    {"PVEVMAdmin",
     "VM.Allocate,VM.Audit,VM.Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,VM.Config.Cloudinit,VM."
     "Config.Disk,VM.Config.HWType,VM.Config.Memory,VM.Config.Network,VM.Config.Options,VM.Console,"
     "VM.GuestAgent.Audit,VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent."
     "FileWrite,VM.GuestAgent.Unrestricted,VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,VM."
     "Snapshot.Rollback"},
    {"PVEVMUser",
     "VM.Audit,VM.Backup,VM.Config.CDROM,VM.Config.Cloudinit,VM.Console,VM.GuestAgent.Audit,VM."
     "GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.PowerMgmt"},
};

struct UserCfg {
    UserCfgUser **users;
    size_t n_users;
    UserCfgGroup **groups;
    size_t n_groups;
    UserCfgPool **pools;
    size_t n_pools;
    UserCfgRole **roles; /* custom roles only */
    size_t n_roles;
    UserCfgAcl **acls;
    size_t n_acls;
    UserCfgRole builtin[ELEMENTSOF(builtin_roles)];
    Hashmap *user_map, *group_map, *pool_map, *role_map;
    Hashmap *vm_map; /* vmid string -> UserCfgPool */
    char **warnings; /* entries the parser ignored, as upstream does, with the reason */
    size_t n_warnings;
};

#define ROOT_USERID  "root@pam"
#define MAX_FIELDS   16
#define MAX_LIST_LEN 65536

/* ---- privileges and built-in roles --------------------------------------------------------- */

const char *priv_name(unsigned i) {
    return i < PRIV_COUNT ? priv_names[i] : NULL;
}

int priv_from_name(const char *name) {
    if (!name)
        return -EINVAL;
    for (unsigned i = 0; i < PRIV_COUNT; i++)
        if (streq(priv_names[i], name))
            return (int) i;
    return -EINVAL;
}

/* Comma-separated privilege names to a set; -EINVAL naming nothing (the caller knows the line). */
static int privs_from_list(const char *list, PrivSet *ret, const char **reterr_name) {
    PrivSet s = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        char name[64];
        if (n > 0) {
            if (n >= sizeof name)
                return -EINVAL;
            memcpy(name, p, n);
            name[n] = 0;
            int i = priv_from_name(name);
            if (i < 0) {
                if (reterr_name)
                    *reterr_name = p;
                return -EINVAL;
            }
            s |= UINT64_C(1) << i;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    *ret = s;
    return 0;
}

/* The built-in roles' privilege sets, computed once: every user.cfg parse (one per API
 * request) needs all of them, and resolving ~500 names each time showed in profiles. */
static PrivSet builtin_privs[ELEMENTSOF(builtin_roles)];
static pthread_once_t builtin_privs_once = PTHREAD_ONCE_INIT;

static void builtin_privs_init(void) {
    for (size_t i = 0; i < ELEMENTSOF(builtin_roles); i++) {
        int r = privs_from_list(builtin_roles[i].privs, &builtin_privs[i], NULL);
        assert(r == 0);
        (void) r;
    }
}

int user_cfg_builtin_role(const char *name, PrivSet *ret) {
    (void) pthread_once(&builtin_privs_once, builtin_privs_init);
    for (size_t i = 0; i < ELEMENTSOF(builtin_roles); i++)
        if (name && streq(builtin_roles[i].name, name)) {
            if (ret)
                *ret = builtin_privs[i];
            return 0;
        }
    return -ENOENT;
}

const char *user_cfg_builtin_role_name(size_t i) {
    return i < ELEMENTSOF(builtin_roles) ? builtin_roles[i].name : NULL;
}

/* ---- model --------------------------------------------------------------------------------- */

static void strv_free_n(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static UserCfgToken *token_free(UserCfgToken *t) {
    if (t) {
        free(t->name);
        free(t->comment);
        free(t);
    }
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UserCfgToken *, token_free);

static UserCfgUser *user_free(UserCfgUser *u) {
    if (!u)
        return NULL;
    free(u->userid);
    free(u->firstname);
    free(u->lastname);
    free(u->email);
    free(u->comment);
    if (u->keys) {
        explicit_bzero(u->keys, strlen(u->keys));
        free(u->keys);
    }
    for (size_t i = 0; i < u->n_tokens; i++)
        token_free(u->tokens[i]);
    free(u->tokens);
    free(u);
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UserCfgUser *, user_free);

static UserCfgGroup *group_free(UserCfgGroup *g) {
    if (g) {
        free(g->groupid);
        strv_free_n(g->members, g->n_members);
        free(g->comment);
        free(g);
    }
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UserCfgGroup *, group_free);

static UserCfgPool *pool_free(UserCfgPool *p) {
    if (p) {
        free(p->poolid);
        free(p->comment);
        strv_free_n(p->vms, p->n_vms);
        strv_free_n(p->storage, p->n_storage);
        free(p);
    }
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UserCfgPool *, pool_free);

static UserCfgRole *role_free(UserCfgRole *r) {
    if (r) {
        free(r->roleid);
        free(r);
    }
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UserCfgRole *, role_free);

static UserCfgAcl *acl_free(UserCfgAcl *a) {
    if (a) {
        free(a->path);
        free(a->ugid);
        free(a->role);
        free(a);
    }
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UserCfgAcl *, acl_free);

size_t user_cfg_warnings(const UserCfg *c, const char *const **ret) {
    if (ret)
        *ret = (const char *const *) c->warnings;
    return c->n_warnings;
}

UserCfg *user_cfg_free(UserCfg *c) {
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->n_users; i++)
        user_free(c->users[i]);
    for (size_t i = 0; i < c->n_groups; i++)
        group_free(c->groups[i]);
    for (size_t i = 0; i < c->n_pools; i++)
        pool_free(c->pools[i]);
    for (size_t i = 0; i < c->n_roles; i++)
        role_free(c->roles[i]);
    for (size_t i = 0; i < c->n_acls; i++)
        acl_free(c->acls[i]);
    for (size_t i = 0; i < c->n_warnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    free(c->users);
    free(c->groups);
    free(c->pools);
    free(c->roles);
    free(c->acls);
    hashmap_free(c->user_map);
    hashmap_free(c->group_map);
    hashmap_free(c->pool_map);
    hashmap_free(c->role_map);
    hashmap_free(c->vm_map);
    free(c);
    return NULL;
}

static UserCfg *cfg_new(void) {
    _cleanup_(user_cfg_freep) UserCfg *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->user_map = hashmap_new(&hashmap_string_ops);
    c->group_map = hashmap_new(&hashmap_string_ops);
    c->pool_map = hashmap_new(&hashmap_string_ops);
    c->role_map = hashmap_new(&hashmap_string_ops);
    c->vm_map = hashmap_new(&hashmap_string_ops);
    if (!c->user_map || !c->group_map || !c->pool_map || !c->role_map || !c->vm_map)
        return NULL;
    for (size_t i = 0; i < ELEMENTSOF(builtin_roles); i++) {
        c->builtin[i].roleid = (char *) builtin_roles[i].name;
        if (user_cfg_builtin_role(builtin_roles[i].name, &c->builtin[i].privs) < 0 ||
            hashmap_put(c->role_map, c->builtin[i].roleid, &c->builtin[i]) < 0)
            return NULL;
    }
    return TAKE_PTR(c);
}

/* Append item to a pointer array; on failure the caller still owns item. */
static int push(void *arrayp, size_t *n, void *item) {
    void ***array = arrayp;
    void **a = reallocarray(*array, *n + 1, sizeof(void *));
    if (!a)
        return -ENOMEM;
    a[(*n)++] = item;
    *array = a;
    return 0;
}

const UserCfgUser *user_cfg_get_user(const UserCfg *c, const char *userid) {
    return c && userid ? hashmap_get(c->user_map, userid) : NULL;
}

const UserCfgGroup *user_cfg_get_group(const UserCfg *c, const char *groupid) {
    return c && groupid ? hashmap_get(c->group_map, groupid) : NULL;
}

const UserCfgPool *user_cfg_get_pool(const UserCfg *c, const char *poolid) {
    return c && poolid ? hashmap_get(c->pool_map, poolid) : NULL;
}

const UserCfgRole *user_cfg_get_role(const UserCfg *c, const char *roleid) {
    return c && roleid ? hashmap_get(c->role_map, roleid) : NULL;
}

size_t user_cfg_n_users(const UserCfg *c) {
    return c ? c->n_users : 0;
}

const UserCfgUser *user_cfg_user_at(const UserCfg *c, size_t i) {
    return c && i < c->n_users ? c->users[i] : NULL;
}

size_t user_cfg_n_groups(const UserCfg *c) {
    return c ? c->n_groups : 0;
}

const UserCfgGroup *user_cfg_group_at(const UserCfg *c, size_t i) {
    return c && i < c->n_groups ? c->groups[i] : NULL;
}

size_t user_cfg_n_pools(const UserCfg *c) {
    return c ? c->n_pools : 0;
}

const UserCfgPool *user_cfg_pool_at(const UserCfg *c, size_t i) {
    return c && i < c->n_pools ? c->pools[i] : NULL;
}

size_t user_cfg_n_roles(const UserCfg *c) {
    return c ? c->n_roles : 0;
}

const UserCfgRole *user_cfg_role_at(const UserCfg *c, size_t i) {
    return c && i < c->n_roles ? c->roles[i] : NULL;
}

size_t user_cfg_n_acls(const UserCfg *c) {
    return c ? c->n_acls : 0;
}

const UserCfgAcl *user_cfg_acl_at(const UserCfg *c, size_t i) {
    return c && i < c->n_acls ? c->acls[i] : NULL;
}

static const UserCfgToken *user_find_token(const UserCfgUser *u, const char *name) {
    for (size_t i = 0; u && i < u->n_tokens; i++)
        if (streq(u->tokens[i]->name, name))
            return u->tokens[i];
    return NULL;
}

/* Split "user@realm!name" into a malloc()ed userid and a pointer to the name inside tokenid. */
static char *tokenid_split(const char *tokenid, const char **ret_name) {
    const char *bang = strrchr(tokenid, '!');
    if (!bang)
        return NULL;
    *ret_name = bang + 1;
    return strndup(tokenid, (size_t) (bang - tokenid));
}

const UserCfgToken *user_cfg_get_token(const UserCfg *c, const char *tokenid) {
    const char *name;
    if (!c || !tokenid)
        return NULL;
    _cleanup_free_ char *userid = tokenid_split(tokenid, &name);
    if (!userid)
        return NULL;
    return user_find_token(user_cfg_get_user(c, userid), name);
}

static bool group_has_member(const UserCfgGroup *g, const char *userid) {
    size_t lo = 0, hi = g ? g->n_members : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(g->members[mid], userid);
        if (d == 0)
            return true;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* ---- text helpers -------------------------------------------------------------------------- */

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static void trim_inplace(char *s) {
    size_t n = strlen(s), i = 0;
    while (n > 0 && isspace((unsigned char) s[n - 1]))
        n--;
    while (i < n && isspace((unsigned char) s[i]))
        i++;
    memmove(s, s + i, n - i);
    s[n - i] = 0;
}

/* Percent-decoded, trimmed copy (upstream decode_text); NULL with *ret_bad on "%00". */
static char *decode_text(const char *s, bool *ret_bad) {
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1);
    *ret_bad = false;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            if (hi == 0 && lo == 0) {
                free(out);
                *ret_bad = true;
                return NULL;
            }
            out[o++] = (char) (hi << 4 | lo);
            i += 2;
        } else
            out[o++] = s[i];
    }
    out[o] = 0;
    trim_inplace(out);
    return out;
}

/* upstream encode_text: everything outside 0x20-0x7e, and ':', as %XX. '%' is encoded too, so
 * that decoding gives back exactly the printed value (upstream leaves it raw). */
static void encode_text(StrBuf *b, const char *s) {
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p >= 0x7f || *p == ':' || *p == '%')
            strbuf_printf(b, "%%%02X", *p);
        else
            strbuf_append_char(b, (char) *p);
}

/* [A-Za-z0-9.-_]+ */
static bool id_valid(const char *s) {
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && *s != '.' && *s != '-' && *s != '_')
            return false;
    return true;
}

/* storage id [a-z][a-z0-9-_.]*[a-z0-9] */
static bool storage_id_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 2 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == n - 1 || (ch != '-' && ch != '_' && ch != '.')))
            return false;
    }
    return true;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Split on ',', ';' and blanks, drop empties, sort and unify. */
static int split_list(const char *s, char ***ret, size_t *ret_n) {
    char **v = NULL;
    size_t n = 0;
    while (*s) {
        size_t k = strcspn(s, ",; \t");
        if (k > 0) {
            char *item = strndup(s, k);
            if (!item || push(&v, &n, item) < 0) {
                free(item);
                strv_free_n(v, n);
                return -ENOMEM;
            }
        }
        s += k;
        if (*s)
            s++;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_str);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o > 0 && streq(v[o - 1], v[i]))
            free(v[i]);
        else
            v[o++] = v[i];
    }
    *ret = v;
    *ret_n = o;
    return 0;
}

/* upstream normalize_path: "/" + path, "//+" -> "/", no trailing "/" */
static char *normalize_path(const char *path) {
    size_t n = strlen(path);
    char *out = malloc(n + 2);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = '/';
    for (size_t i = 0; i < n; i++)
        if (path[i] != '/' || out[o - 1] != '/')
            out[o++] = path[i];
    if (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = 0;
    return out;
}

/* ---- parser -------------------------------------------------------------------------------- */

typedef struct ParseCtx {
    UserCfg *cfg;
    unsigned line;
    char **msg;
    char *fields[MAX_FIELDS];
    size_t n_fields;
} ParseCtx;

_printf_(2, 3) static int fail(ParseCtx *p, const char *fmt, ...) {
    if (p->msg && !*p->msg) {
        va_list ap;
        va_start(ap, fmt);
        char *m = NULL;
        if (vasprintf(&m, fmt, ap) >= 0)
            *p->msg = m;
        va_end(ap);
    }
    return -EINVAL;
}

/* An inconsistent but well-formed entry (a reference to something undefined, an unknown
 * privilege or entry type): upstream ignores it with a warning, and so do we, so that any
 * user.cfg a real node accepts also loads here. Returns 0 (skip). */
_printf_(2, 3) static int warn(ParseCtx *p, const char *fmt, ...) {
    UserCfg *c = p->cfg;
    char *m = NULL, *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&m, fmt, ap);
    va_end(ap);
    if (r < 0)
        return 0;
    if (c->n_warnings < 256 && asprintf(&line, "line %u: %s", p->line, m) >= 0) {
        char **w = realloc(c->warnings, (c->n_warnings + 1) * sizeof *w);
        if (w) {
            c->warnings = w;
            c->warnings[c->n_warnings++] = TAKE_PTR(line);
        }
    }
    free(line);
    free(m);
    return 0;
}

static void strv_remove_at(char **v, size_t *n, size_t i) {
    free(v[i]);
    memmove(v + i, v + i + 1, (*n - i - 1) * sizeof *v);
    (*n)--;
}

static const char *field(const ParseCtx *p, size_t i) {
    return i < p->n_fields ? p->fields[i] : "";
}

static int parse_flag(ParseCtx *p, size_t i, const char *what, bool *ret) {
    const char *s = field(p, i);
    if (streq(s, "") || streq(s, "0"))
        *ret = false;
    else if (streq(s, "1"))
        *ret = true;
    else
        return fail(p, "invalid %s '%s' (expected 0 or 1)", what, s);
    return 0;
}

static int parse_expire(ParseCtx *p, size_t i, int64_t *ret) {
    const char *s = field(p, i);
    long long v = 0;
    if (*s && (safe_atoi64(s, &v) < 0 || v < 0 || !isdigit((unsigned char) *s)))
        return fail(p, "invalid expire '%s'", s);
    *ret = v;
    return 0;
}

static int text_field(ParseCtx *p, size_t i, const char *what, char **ret) {
    bool bad;
    char *s = decode_text(field(p, i), &bad);
    if (!s)
        return bad ? fail(p, "invalid %s: encoded NUL byte", what) : -ENOMEM;
    *ret = s;
    return 0;
}

static int raw_field(ParseCtx *p, size_t i, char **ret) {
    char *s = strdup(field(p, i));
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

static int check_max_fields(ParseCtx *p, size_t max) {
    if (p->n_fields > max)
        return fail(p, "too many fields for '%s' entry", p->fields[0]);
    return 0;
}

static int parse_user(ParseCtx *p) {
    UserCfg *c = p->cfg;
    const char *userid = field(p, 1);
    int r;

    if ((r = check_max_fields(p, 9)) < 0)
        return r;
    if (!userid_is_valid(userid))
        return fail(p, "invalid userid '%s'", userid);
    if (hashmap_get(c->user_map, userid))
        return fail(p, "duplicate user '%s'", userid);

    _cleanup_(user_freep) UserCfgUser *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    if ((r = raw_field(p, 1, &u->userid)) < 0 || (r = parse_flag(p, 2, "enable", &u->enable)) < 0 ||
        (r = parse_expire(p, 3, &u->expire)) < 0 ||
        (r = text_field(p, 4, "firstname", &u->firstname)) < 0 ||
        (r = text_field(p, 5, "lastname", &u->lastname)) < 0 ||
        (r = raw_field(p, 6, &u->email)) < 0 ||
        (r = text_field(p, 7, "comment", &u->comment)) < 0 || (r = raw_field(p, 8, &u->keys)) < 0)
        return r;
    if (hashmap_put(c->user_map, u->userid, u) < 0)
        return -ENOMEM;
    if (push(&c->users, &c->n_users, u) < 0) {
        hashmap_remove(c->user_map, u->userid);
        return -ENOMEM;
    }
    TAKE_PTR(u);
    return 0;
}

static int parse_token(ParseCtx *p) {
    UserCfg *c = p->cfg;
    const char *tokenid = field(p, 1), *name;
    int r;

    if ((r = check_max_fields(p, 5)) < 0)
        return r;
    if (!tokenid_is_valid(tokenid))
        return fail(p, "invalid token id '%s'", tokenid);
    _cleanup_free_ char *userid = tokenid_split(tokenid, &name);
    if (!userid)
        return -ENOMEM;
    UserCfgUser *u = hashmap_get(c->user_map, userid);
    if (!u)
        return warn(p, "ignoring token '%s' of undefined user '%s'", tokenid, userid);
    if (user_find_token(u, name))
        return fail(p, "duplicate token '%s'", tokenid);

    _cleanup_(token_freep) UserCfgToken *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->name = strdup(name);
    if (!t->name)
        return -ENOMEM;
    if ((r = parse_expire(p, 2, &t->expire)) < 0 ||
        (r = parse_flag(p, 3, "privsep", &t->privsep)) < 0 ||
        (r = text_field(p, 4, "comment", &t->comment)) < 0)
        return r;
    if (push(&u->tokens, &u->n_tokens, t) < 0)
        return -ENOMEM;
    TAKE_PTR(t);
    return 0;
}

static int parse_group(ParseCtx *p) {
    UserCfg *c = p->cfg;
    const char *groupid = field(p, 1);
    int r;

    if ((r = check_max_fields(p, 4)) < 0)
        return r;
    if (!id_valid(groupid))
        return fail(p, "invalid group id '%s'", groupid);
    if (hashmap_get(c->group_map, groupid))
        return fail(p, "duplicate group '%s'", groupid);

    _cleanup_(group_freep) UserCfgGroup *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    if ((r = raw_field(p, 1, &g->groupid)) < 0 ||
        (r = split_list(field(p, 2), &g->members, &g->n_members)) < 0 ||
        (r = text_field(p, 3, "comment", &g->comment)) < 0)
        return r;
    for (size_t i = 0; i < g->n_members; i++)
        if (!userid_is_valid(g->members[i]))
            return fail(p, "invalid group member '%s'", g->members[i]);
    if (hashmap_put(c->group_map, g->groupid, g) < 0)
        return -ENOMEM;
    if (push(&c->groups, &c->n_groups, g) < 0) {
        hashmap_remove(c->group_map, g->groupid);
        return -ENOMEM;
    }
    TAKE_PTR(g);
    return 0;
}

static int parse_pool(ParseCtx *p) {
    UserCfg *c = p->cfg;
    const char *poolid = field(p, 1);
    int r;

    if ((r = check_max_fields(p, 5)) < 0)
        return r;
    if (!user_cfg_poolid_is_valid(poolid))
        return fail(p, "invalid pool id '%s'", poolid);
    if (hashmap_get(c->pool_map, poolid))
        return fail(p, "duplicate pool '%s'", poolid);

    _cleanup_(pool_freep) UserCfgPool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return -ENOMEM;
    if ((r = raw_field(p, 1, &pool->poolid)) < 0 ||
        (r = text_field(p, 2, "comment", &pool->comment)) < 0 ||
        (r = split_list(field(p, 3), &pool->vms, &pool->n_vms)) < 0 ||
        (r = split_list(field(p, 4), &pool->storage, &pool->n_storage)) < 0)
        return r;
    for (size_t i = 0; i < pool->n_vms; i++) {
        unsigned v;
        const char *s = pool->vms[i];
        if (s[0] == '0' || safe_atou32(s, &v) < 0 || v < 100 || v > 999999999)
            return fail(p, "invalid vmid '%s' in pool '%s'", s, poolid);
        UserCfgPool *other = hashmap_get(c->vm_map, s);
        if (other) {
            (void) warn(
                p, "ignoring vm %s in pool '%s': already in pool '%s'", s, poolid, other->poolid
            );
            strv_remove_at(pool->vms, &pool->n_vms, i--);
        }
    }
    for (size_t i = 0; i < pool->n_storage; i++)
        if (!storage_id_valid(pool->storage[i]))
            return fail(p, "invalid storage id '%s' in pool '%s'", pool->storage[i], poolid);

    if (hashmap_reserve(c->vm_map, pool->n_vms) < 0 ||
        hashmap_put(c->pool_map, pool->poolid, pool) < 0)
        return -ENOMEM;
    if (push(&c->pools, &c->n_pools, pool) < 0) {
        hashmap_remove(c->pool_map, pool->poolid);
        return -ENOMEM;
    }
    for (size_t i = 0; i < pool->n_vms; i++)
        (void) hashmap_put(c->vm_map, pool->vms[i], pool); /* reserved above */
    TAKE_PTR(pool);
    return 0;
}

static int parse_role(ParseCtx *p) {
    UserCfg *c = p->cfg;
    const char *roleid = field(p, 1), *bad = NULL;
    int r;

    if ((r = check_max_fields(p, 3)) < 0)
        return r;
    if (!id_valid(roleid))
        return fail(p, "invalid role id '%s'", roleid);
    if (user_cfg_builtin_role(roleid, NULL) == 0)
        return warn(p, "ignoring redefinition of built-in role '%s'", roleid);
    if (hashmap_get(c->role_map, roleid))
        return fail(p, "duplicate role '%s'", roleid);

    _cleanup_(role_freep) UserCfgRole *role = calloc(1, sizeof *role);
    if (!role)
        return -ENOMEM;
    _cleanup_free_ char *list = NULL;
    if ((r = raw_field(p, 1, &role->roleid)) < 0 || (r = raw_field(p, 2, &list)) < 0)
        return r;
    /* the same separators as the other lists */
    for (char *s = list; *s; s++)
        if (*s == ';' || *s == ' ' || *s == '\t')
            *s = ',';
    while (privs_from_list(list, &role->privs, &bad) < 0) {
        size_t n = strcspn(bad, ",");
        (void) warn(p, "role '%s': ignoring invalid privilege '%.*s'", roleid, (int) n, bad);
        memmove((char *) bad, bad + n, strlen(bad + n) + 1); /* drop it, keep the rest */
    }
    if (hashmap_put(c->role_map, role->roleid, role) < 0)
        return -ENOMEM;
    if (push(&c->roles, &c->n_roles, role) < 0) {
        hashmap_remove(c->role_map, role->roleid);
        return -ENOMEM;
    }
    TAKE_PTR(role);
    return 0;
}

static int
acl_add(UserCfg *c, const char *path, const char *ugid, const char *role, bool propagate) {
    for (size_t i = 0; i < c->n_acls; i++) {
        UserCfgAcl *a = c->acls[i];
        if (streq(a->path, path) && streq(a->ugid, ugid) && streq(a->role, role)) {
            a->propagate = propagate; /* the later line wins, as in upstream's hash */
            return 0;
        }
    }
    _cleanup_(acl_freep) UserCfgAcl *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->path = strdup(path);
    a->ugid = strdup(ugid);
    a->role = strdup(role);
    a->propagate = propagate;
    if (!a->path || !a->ugid || !a->role || push(&c->acls, &c->n_acls, a) < 0)
        return -ENOMEM;
    TAKE_PTR(a);
    return 0;
}

static int parse_acl(ParseCtx *p) {
    UserCfg *c = p->cfg;
    bool propagate;
    char **ugids = NULL, **roles = NULL;
    size_t n_ugids = 0, n_roles = 0;
    int r;

    if ((r = check_max_fields(p, 5)) < 0)
        return r;
    const char *prop = field(p, 1);
    if (!streq(prop, "0") && !streq(prop, "1"))
        return fail(p, "invalid propagate flag '%s'", prop);
    propagate = streq(prop, "1");

    const char *rawpath = field(p, 2);
    if (!*rawpath)
        return fail(p, "missing ACL path");
    for (const char *s = rawpath; *s; s++)
        if (isspace((unsigned char) *s) || iscntrl((unsigned char) *s) ||
            (unsigned char) *s >= 0x7f)
            return fail(p, "invalid ACL path '%s'", rawpath);
    _cleanup_free_ char *path = normalize_path(rawpath);
    if (!path)
        return -ENOMEM;

    r = split_list(field(p, 3), &ugids, &n_ugids);
    if (r >= 0)
        r = split_list(field(p, 4), &roles, &n_roles);
    if (r < 0)
        goto finish;
    if (n_roles == 0) {
        r = fail(p, "ACL on '%s' without roles", path);
        goto finish;
    }
    for (size_t i = 0; i < n_roles; i++)
        if (!hashmap_get(c->role_map, roles[i])) {
            (void) warn(p, "ACL on '%s': ignoring undefined role '%s'", path, roles[i]);
            strv_remove_at(roles, &n_roles, i--);
        }
    for (size_t i = 0; i < n_ugids; i++) {
        const char *u = ugids[i];
        if (streq(u, ROOT_USERID))
            continue; /* root@pam is always Administrator; upstream does not store these */
        if (u[0] == '@') {
            if (!hashmap_get(c->group_map, u + 1)) {
                (void) warn(p, "ACL on '%s': ignoring undefined group '%s'", path, u + 1);
                continue;
            }
        } else if (strchr(u, '!')) {
            if (!tokenid_is_valid(u) || !user_cfg_get_token(c, u)) {
                (void) warn(p, "ACL on '%s': ignoring undefined token '%s'", path, u);
                continue;
            }
        } else if (!userid_is_valid(u) || !hashmap_get(c->user_map, u)) {
            (void) warn(p, "ACL on '%s': ignoring undefined user '%s'", path, u);
            continue;
        }
        for (size_t j = 0; j < n_roles; j++)
            if ((r = acl_add(c, path, u, roles[j], propagate)) < 0)
                goto finish;
    }
    r = 0;
finish:
    strv_free_n(ugids, n_ugids);
    strv_free_n(roles, n_roles);
    return r;
}

static int parse_line(ParseCtx *p) {
    const char *type = field(p, 0);
    if (streq(type, "user"))
        return parse_user(p);
    if (streq(type, "token"))
        return parse_token(p);
    if (streq(type, "group"))
        return parse_group(p);
    if (streq(type, "pool"))
        return parse_pool(p);
    if (streq(type, "role"))
        return parse_role(p);
    if (streq(type, "acl"))
        return parse_acl(p);
    return warn(p, "ignoring unknown entry type '%s'", type);
}

static int ensure_root(UserCfg *c) {
    if (hashmap_get(c->user_map, ROOT_USERID))
        return 0;
    _cleanup_(user_freep) UserCfgUser *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    u->userid = strdup(ROOT_USERID);
    u->firstname = strdup("");
    u->lastname = strdup("");
    u->email = strdup("");
    u->comment = strdup("");
    u->keys = strdup("");
    u->enable = true;
    if (!u->userid || !u->firstname || !u->lastname || !u->email || !u->comment || !u->keys)
        return -ENOMEM;
    if (hashmap_put(c->user_map, u->userid, u) < 0)
        return -ENOMEM;
    if (push(&c->users, &c->n_users, u) < 0) {
        hashmap_remove(c->user_map, u->userid);
        return -ENOMEM;
    }
    TAKE_PTR(u);
    return 0;
}

int user_cfg_parse(
    const char *text, size_t len, UserCfg **ret, unsigned *reterr_line, char **reterr_msg
) {
    _cleanup_(user_cfg_freep) UserCfg *c = NULL;
    ParseCtx p = {.msg = reterr_msg};
    int r = 0;

    assert(text || len == 0);
    assert(ret);
    if (reterr_msg)
        *reterr_msg = NULL;
    c = cfg_new();
    if (!c)
        return -ENOMEM;
    p.cfg = c;

    const char *end = text + len;
    for (const char *s = text; s < end;) {
        const char *nl = memchr(s, '\n', (size_t) (end - s));
        const char *eol = nl ? nl : end;
        p.line++;
        if (memchr(s, 0, (size_t) (eol - s))) {
            r = fail(&p, "NUL byte in line");
            break;
        }
        _cleanup_free_ char *line = strndup(s, (size_t) (eol - s));
        if (!line) {
            r = -ENOMEM;
            break;
        }
        s = eol + 1;
        trim_inplace(line);
        if (!*line)
            continue;

        /* split at ':' (Perl split: trailing empty fields vanish), trim each field */
        p.n_fields = 0;
        char *f = line;
        for (;;) {
            char *colon = strchr(f, ':');
            if (colon)
                *colon = 0;
            if (p.n_fields == MAX_FIELDS) {
                r = fail(&p, "too many fields");
                break;
            }
            trim_inplace(f);
            p.fields[p.n_fields++] = f;
            if (!colon)
                break;
            f = colon + 1;
        }
        if (r < 0)
            break;
        while (p.n_fields > 1 && !*p.fields[p.n_fields - 1])
            p.n_fields--;
        r = parse_line(&p);
        if (r < 0)
            break;
    }
    if (r >= 0)
        r = ensure_root(c);
    if (r < 0) {
        if (reterr_line)
            *reterr_line = p.line;
        if (r == -ENOMEM && reterr_msg) {
            free(*reterr_msg);
            *reterr_msg = NULL;
        }
        return r;
    }
    *ret = TAKE_PTR(c);
    return 0;
}

/* ---- printer ------------------------------------------------------------------------------- */

static int cmp_user(const void *a, const void *b) {
    return strcmp((*(UserCfgUser *const *) a)->userid, (*(UserCfgUser *const *) b)->userid);
}
static int cmp_token(const void *a, const void *b) {
    return strcmp((*(UserCfgToken *const *) a)->name, (*(UserCfgToken *const *) b)->name);
}
static int cmp_group(const void *a, const void *b) {
    return strcmp((*(UserCfgGroup *const *) a)->groupid, (*(UserCfgGroup *const *) b)->groupid);
}
static int cmp_pool(const void *a, const void *b) {
    return strcmp((*(UserCfgPool *const *) a)->poolid, (*(UserCfgPool *const *) b)->poolid);
}
static int cmp_role(const void *a, const void *b) {
    return strcmp((*(UserCfgRole *const *) a)->roleid, (*(UserCfgRole *const *) b)->roleid);
}

/* Sorted shallow copy of a pointer array (NULL and n=0 are fine). */
static void **sorted_copy(void *const *v, size_t n, int (*cmp)(const void *, const void *)) {
    void **copy = malloc(MAX(n, (size_t) 1) * sizeof(void *));
    if (!copy)
        return NULL;
    if (n > 0) {
        memcpy(copy, v, n * sizeof(void *));
        qsort(copy, n, sizeof(void *), cmp);
    }
    return copy;
}

static void append_list(StrBuf *b, char *const *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strbuf_append_char(b, ',');
        strbuf_append(b, v[i]);
    }
}

typedef struct AclLine {
    const char *path;
    bool propagate;
    char *roles; /* sorted comma list */
    const char *ugid;
} AclLine;

static int cmp_acl_entry(const void *x, const void *y) {
    const UserCfgAcl *a = *(UserCfgAcl *const *) x, *b = *(UserCfgAcl *const *) y;
    int d = strcmp(a->path, b->path);
    if (d == 0)
        d = strcmp(a->ugid, b->ugid);
    if (d == 0)
        d = (int) a->propagate - (int) b->propagate;
    if (d == 0)
        d = strcmp(a->role, b->role);
    return d;
}

static int cmp_acl_line(const void *x, const void *y) {
    const AclLine *a = x, *b = y;
    int d = strcmp(a->path, b->path);
    if (d == 0)
        d = (int) a->propagate - (int) b->propagate;
    if (d == 0)
        d = strcmp(a->roles, b->roles);
    if (d == 0)
        d = strcmp(a->ugid, b->ugid);
    return d;
}

/* Upstream groups ACL entries per path: for each user/group/token the roles with propagate=0 and
 * those with propagate=1 form a role list; holders of identical lists share one line. */
static int print_acls(const UserCfg *c, StrBuf *b) {
    _cleanup_free_ UserCfgAcl **e =
        (UserCfgAcl **) sorted_copy((void *const *) c->acls, c->n_acls, cmp_acl_entry);
    _cleanup_free_ AclLine *lines = calloc(MAX(c->n_acls, (size_t) 1), sizeof *lines);
    size_t n_lines = 0;
    int r = 0;

    if (!e || !lines)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_acls;) {
        _cleanup_strbuf_ StrBuf roles = STRBUF_INIT;
        size_t j = i;
        for (; j < c->n_acls && streq(e[j]->path, e[i]->path) && streq(e[j]->ugid, e[i]->ugid) &&
               e[j]->propagate == e[i]->propagate;
             j++) {
            if (j > i)
                strbuf_append_char(&roles, ',');
            strbuf_append(&roles, e[j]->role);
        }
        AclLine *l = &lines[n_lines];
        l->path = e[i]->path;
        l->ugid = e[i]->ugid;
        l->propagate = e[i]->propagate;
        r = strbuf_finish(&roles, &l->roles, NULL);
        if (r < 0)
            goto finish;
        n_lines++;
        i = j;
    }
    qsort(lines, n_lines, sizeof *lines, cmp_acl_line);
    for (size_t i = 0; i < n_lines;) {
        strbuf_printf(b, "acl:%d:%s:", lines[i].propagate, lines[i].path);
        size_t j = i;
        for (; j < n_lines && streq(lines[j].path, lines[i].path) &&
               lines[j].propagate == lines[i].propagate && streq(lines[j].roles, lines[i].roles);
             j++) {
            if (j > i)
                strbuf_append_char(b, ',');
            strbuf_append(b, lines[j].ugid);
        }
        strbuf_printf(b, ":%s:\n", lines[i].roles);
        i = j;
    }
finish:
    for (size_t i = 0; i < n_lines; i++)
        free(lines[i].roles);
    return r;
}

int user_cfg_print(const UserCfg *c, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    int r;

    assert(c);
    assert(ret);

    _cleanup_free_ UserCfgUser **users =
        (UserCfgUser **) sorted_copy((void *const *) c->users, c->n_users, cmp_user);
    if (!users)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_users; i++) {
        const UserCfgUser *u = users[i];
        strbuf_printf(&b, "user:%s:%d:%lld:", u->userid, u->enable, (long long) u->expire);
        encode_text(&b, u->firstname);
        strbuf_append_char(&b, ':');
        encode_text(&b, u->lastname);
        strbuf_printf(&b, ":%s:", u->email);
        encode_text(&b, u->comment);
        strbuf_printf(&b, ":%s:\n", u->keys);

        _cleanup_free_ UserCfgToken **tokens =
            (UserCfgToken **) sorted_copy((void *const *) u->tokens, u->n_tokens, cmp_token);
        if (!tokens)
            return -ENOMEM;
        for (size_t j = 0; j < u->n_tokens; j++) {
            const UserCfgToken *t = tokens[j];
            strbuf_printf(
                &b, "token:%s!%s:%lld:%d:", u->userid, t->name, (long long) t->expire, t->privsep
            );
            encode_text(&b, t->comment);
            strbuf_append(&b, ":\n");
        }
    }
    strbuf_append_char(&b, '\n');

    _cleanup_free_ UserCfgGroup **groups =
        (UserCfgGroup **) sorted_copy((void *const *) c->groups, c->n_groups, cmp_group);
    if (!groups)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_groups; i++) {
        strbuf_printf(&b, "group:%s:", groups[i]->groupid);
        append_list(&b, groups[i]->members, groups[i]->n_members);
        strbuf_append_char(&b, ':');
        encode_text(&b, groups[i]->comment);
        strbuf_append(&b, ":\n");
    }
    strbuf_append_char(&b, '\n');

    _cleanup_free_ UserCfgPool **pools =
        (UserCfgPool **) sorted_copy((void *const *) c->pools, c->n_pools, cmp_pool);
    if (!pools)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_pools; i++) {
        strbuf_printf(&b, "pool:%s:", pools[i]->poolid);
        encode_text(&b, pools[i]->comment);
        strbuf_append_char(&b, ':');
        append_list(&b, pools[i]->vms, pools[i]->n_vms);
        strbuf_append_char(&b, ':');
        append_list(&b, pools[i]->storage, pools[i]->n_storage);
        strbuf_append(&b, ":\n");
    }
    strbuf_append_char(&b, '\n');

    _cleanup_free_ UserCfgRole **roles =
        (UserCfgRole **) sorted_copy((void *const *) c->roles, c->n_roles, cmp_role);
    if (!roles)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_roles; i++) {
        strbuf_printf(&b, "role:%s:", roles[i]->roleid);
        bool first = true;
        for (unsigned k = 0; k < PRIV_COUNT; k++) /* priv_names is sorted */
            if (roles[i]->privs & (UINT64_C(1) << k)) {
                if (!first)
                    strbuf_append_char(&b, ',');
                strbuf_append(&b, priv_names[k]);
                first = false;
            }
        strbuf_append(&b, ":\n");
    }
    strbuf_append_char(&b, '\n');

    r = print_acls(c, &b);
    if (r < 0)
        return r;
    return strbuf_finish(&b, ret, NULL);
}

/* ---- permissions --------------------------------------------------------------------------- */

bool user_cfg_is_active(const UserCfg *c, const char *id, int64_t now) {
    const char *name = NULL;
    if (!c || !id)
        return false;
    _cleanup_free_ char *userid = strchr(id, '!') ? tokenid_split(id, &name) : strdup(id);
    if (!userid)
        return false;
    const UserCfgUser *u = user_cfg_get_user(c, userid);
    if (!u || !u->enable || (u->expire != 0 && u->expire < now))
        return false;
    if (name) {
        const UserCfgToken *t = user_find_token(u, name);
        if (!t || (t->expire != 0 && t->expire < now))
            return false;
    }
    return true;
}

typedef struct RoleEval {
    PrivSet privs;
    PrivSet propagate; /* the part of privs granted by propagating entries */
    bool noaccess;
} RoleEval;

static void add_role(const UserCfg *c, const char *role, bool propagate, RoleEval *e) {
    const UserCfgRole *r = hashmap_get(c->role_map, role);
    if (streq(role, "NoAccess"))
        e->noaccess = true;
    if (r) {
        e->privs |= r->privs;
        if (propagate)
            e->propagate |= r->privs;
    }
}

/* The roles of id on path (normalized), ignoring pools: upstream's PVE::AccessControl::roles(). */
static RoleEval eval_path(const UserCfg *c, const char *id, bool is_token, const char *path) {
    RoleEval cur = {0};
    size_t plen = strlen(path);

    for (size_t l = 1;;) {
        /* prefix path[0..l) is "/" or "/a", "/a/b", ... */
        bool final = l >= plen;
        RoleEval next = {0};
        bool found = false;

        for (size_t i = 0; i < c->n_acls; i++) {
            const UserCfgAcl *a = c->acls[i];
            if ((final || a->propagate) && strlen(a->path) == l && strneq(a->path, path, l) &&
                streq(a->ugid, id)) {
                add_role(c, a->role, a->propagate, &next);
                found = true;
            }
        }
        if (!found && !is_token)
            for (size_t i = 0; i < c->n_acls; i++) {
                const UserCfgAcl *a = c->acls[i];
                if ((final || a->propagate) && a->ugid[0] == '@' && strlen(a->path) == l &&
                    strneq(a->path, path, l) &&
                    group_has_member(hashmap_get(c->group_map, a->ugid + 1), id)) {
                    add_role(c, a->role, a->propagate, &next);
                    found = true;
                }
            }
        if (found)
            cur = next; /* a deeper level replaces what was inherited */
        if (final)
            break;
        const char *slash = strchr(path + l + 1, '/');
        l = slash ? (size_t) (slash - path) : plen;
    }
    return cur;
}

static bool pool_has_storage(const UserCfgPool *p, const char *id) {
    for (size_t i = 0; i < p->n_storage; i++)
        if (streq(p->storage[i], id))
            return true;
    return false;
}

static void
merge_pool(const UserCfg *c, const char *id, bool is_token, const UserCfgPool *pool, RoleEval *e) {
    _cleanup_free_ char *ppath = NULL;
    if (asprintf(&ppath, "/pool/%s", pool->poolid) < 0)
        return; /* OOM: pool privileges are only ever added, so missing them is safe */
    RoleEval pe = eval_path(c, id, is_token, ppath);
    if (e->noaccess)
        return;
    if (pe.noaccess)
        *e = (RoleEval){.noaccess = true};
    else {
        e->privs |= pe.privs;
        e->propagate |= pe.propagate;
    }
}

/* Roles plus what pool membership adds (upstream compile_acl_path). */
static RoleEval eval_privs(const UserCfg *c, const char *id, bool is_token, const char *path) {
    RoleEval e = eval_path(c, id, is_token, path);
    const char *rest;

    if ((rest = startswith(path, "/vms/")) && !strchr(rest, '/')) {
        const UserCfgPool *pool = hashmap_get(c->vm_map, rest);
        if (pool)
            merge_pool(c, id, is_token, pool, &e);
    } else if ((rest = startswith(path, "/storage/")) && !strchr(rest, '/')) {
        for (size_t i = 0; i < c->n_pools; i++)
            if (pool_has_storage(c->pools[i], rest))
                merge_pool(c, id, is_token, c->pools[i], &e);
    }
    if (e.noaccess)
        e.privs = e.propagate = 0;
    return e;
}

static RoleEval eval_id(const UserCfg *c, const char *id, const char *npath, int64_t now) {
    if (streq(id, ROOT_USERID))
        return (RoleEval){.privs = PRIVSET_ALL, .propagate = PRIVSET_ALL};
    if (!user_cfg_is_active(c, id, now))
        return (RoleEval){0};
    if (!strchr(id, '!'))
        return eval_privs(c, id, false, npath);

    const char *name;
    _cleanup_free_ char *userid = tokenid_split(id, &name);
    if (!userid)
        return (RoleEval){0};
    RoleEval user = eval_id(c, userid, npath, now);
    const UserCfgToken *t = user_find_token(user_cfg_get_user(c, userid), name);
    if (!t)
        return (RoleEval){0};
    if (!t->privsep)
        return user;
    RoleEval tok = eval_privs(c, id, true, npath);
    return (RoleEval){.privs = tok.privs & user.privs, .propagate = tok.propagate & user.propagate};
}

int user_cfg_permissions_ex(
    const UserCfg *c,
    const char *id,
    const char *path,
    int64_t now,
    PrivSet *ret_privs,
    PrivSet *ret_propagate
) {
    assert(c);
    assert(ret_privs);
    *ret_privs = 0;
    if (ret_propagate)
        *ret_propagate = 0;
    if (!id || !path)
        return 0;
    _cleanup_free_ char *npath = normalize_path(path);
    if (!npath)
        return 0; /* OOM: deny */
    RoleEval e = eval_id(c, id, npath, now);
    *ret_privs = e.privs;
    if (ret_propagate)
        *ret_propagate = e.propagate & e.privs;
    return 0;
}

int user_cfg_permissions_at(
    const UserCfg *c, const char *id, const char *path, int64_t now, PrivSet *ret_privs
) {
    return user_cfg_permissions_ex(c, id, path, now, ret_privs, NULL);
}

int user_cfg_permissions(const UserCfg *c, const char *id, const char *path, PrivSet *ret_privs) {
    return user_cfg_permissions_at(c, id, path, (int64_t) time(NULL), ret_privs);
}

int user_cfg_check(
    const UserCfg *c, const char *id, const char *path, const char *const *privs, bool any
) {
    PrivSet want = 0, have = 0;
    for (size_t i = 0; privs && privs[i]; i++) {
        int k = priv_from_name(privs[i]);
        if (k < 0)
            return -EINVAL;
        want |= UINT64_C(1) << k;
    }
    if (want == 0)
        return 0;
    (void) user_cfg_permissions(c, id, path, &have);
    if (any)
        return (have & want) ? 0 : -EACCES;
    return (have & want) == want ? 0 : -EACCES;
}

/* ---- helpers for callers ------------------------------------------------------------------- */

UserCfg *user_cfg_new(void) {
    _cleanup_(user_cfg_freep) UserCfg *c = cfg_new();
    if (!c || ensure_root(c) < 0)
        return NULL;
    return TAKE_PTR(c);
}

int user_cfg_privs_from_list(const char *list, PrivSet *ret, char **reterr_name) {
    _cleanup_free_ char *copy = strdup(list ? list : "");
    const char *bad = NULL;
    if (!copy)
        return -ENOMEM;
    for (char *s = copy; *s; s++)
        if (*s == ';' || *s == ' ' || *s == '\t')
            *s = ',';
    int r = privs_from_list(copy, ret, &bad);
    if (r < 0 && reterr_name)
        *reterr_name = bad ? strndup(bad, strcspn(bad, ",")) : NULL;
    return r;
}

char *user_cfg_privs_to_list(PrivSet s) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    char *out = NULL;
    for (unsigned k = 0; k < PRIV_COUNT; k++) /* priv_names is sorted */
        if (s & (UINT64_C(1) << k)) {
            if (b.len > 0)
                strbuf_append_char(&b, ',');
            strbuf_append(&b, priv_names[k]);
        }
    return strbuf_finish(&b, &out, NULL) < 0 ? NULL : out;
}

char *user_cfg_normalize_path(const char *path) {
    return normalize_path(path ? path : "");
}

char *user_cfg_encode_text(const char *s) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    char *out = NULL;
    encode_text(&b, s ? s : "");
    return strbuf_finish(&b, &out, NULL) < 0 ? NULL : out;
}

char *user_cfg_decode_text(const char *s) {
    bool bad;
    return decode_text(s ? s : "", &bad);
}

bool user_cfg_poolid_is_valid(const char *poolid) {
    size_t levels = 0;
    if (!poolid)
        return false;
    for (const char *s = poolid;; levels++) {
        size_t n = strcspn(s, "/");
        if (n == 0 || levels == 3 || *s == '.' || *s == '-')
            return false;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char) s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
                return false;
        if (!s[n])
            return true;
        s += n + 1;
    }
}

const UserCfgPool *user_cfg_vm_pool(const UserCfg *c, const char *vmid) {
    return c && vmid ? hashmap_get(c->vm_map, vmid) : NULL;
}

/* ---- editing ------------------------------------------------------------------------------- */

static void ptr_remove_at(void *arrayp, size_t *n, size_t i) {
    void **a = *(void ***) arrayp;
    memmove(a + i, a + i + 1, (*n - i - 1) * sizeof(void *));
    (*n)--;
}

/* Index of s in the sorted, unique v, or where it would go (*ret_found tells). */
static size_t strv_bsearch(char *const *v, size_t n, const char *s, bool *ret_found) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(v[mid], s);
        if (d == 0) {
            *ret_found = true;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ret_found = false;
    return lo;
}

/* Insert a copy of s into the sorted, unique v; -EEXIST if present. *ret_item: the copy. */
static int strv_insert_sorted(char ***v, size_t *n, const char *s, char **ret_item) {
    bool found;
    size_t at = strv_bsearch(*v, *n, s, &found);
    if (found)
        return -EEXIST;
    char *item = strdup(s);
    char **a = item ? reallocarray(*v, *n + 1, sizeof(char *)) : NULL;
    if (!a) {
        free(item);
        return -ENOMEM;
    }
    memmove(a + at + 1, a + at, (*n - at) * sizeof(char *));
    a[at] = item;
    (*n)++;
    *v = a;
    if (ret_item)
        *ret_item = item;
    return 0;
}

static int strv_remove_sorted(char **v, size_t *n, const char *s) {
    bool found;
    size_t at = strv_bsearch(v, *n, s, &found);
    if (!found)
        return -ENOENT;
    strv_remove_at(v, n, at);
    return 0;
}

/* Trimmed copy of a text value (the parser trims fields, so this is what reads back). */
static int text_value(const char *value, char **ret) {
    char *s = strdup(value ? value : "");
    if (!s)
        return -ENOMEM;
    trim_inplace(s);
    *ret = s;
    return 0;
}

/* Fields written without encoding (email, keys) must not contain ':' or control bytes. */
static int raw_value(const char *value, char **ret) {
    for (const unsigned char *p = (const unsigned char *) (value ? value : ""); *p; p++)
        if (*p == ':' || *p < 0x20 || *p == 0x7f)
            return -EINVAL;
    return text_value(value, ret);
}

static void replace_str(char **field, char *value) {
    free(*field);
    *field = value;
}

static int parse_bool_value(const char *value, bool *ret) {
    if (streq(value, "0") || streq(value, "1")) {
        *ret = streq(value, "1");
        return 0;
    }
    return -EINVAL;
}

static int parse_expire_value(const char *value, int64_t *ret) {
    long long v;
    if (!isdigit((unsigned char) value[0]) || safe_atoi64(value, &v) < 0 || v < 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Drop every ACL entry for which match() is true. */
static void
acl_remove_if(UserCfg *c, bool (*match)(const UserCfgAcl *, const void *), const void *arg) {
    size_t o = 0;
    for (size_t i = 0; i < c->n_acls; i++) {
        if (match(c->acls[i], arg))
            acl_free(c->acls[i]);
        else
            c->acls[o++] = c->acls[i];
    }
    c->n_acls = o;
}

static bool acl_is_ugid(const UserCfgAcl *a, const void *ugid) {
    return streq(a->ugid, ugid);
}

static bool acl_is_user_or_token(const UserCfgAcl *a, const void *userid) {
    const char *rest = startswith(a->ugid, userid);
    return rest && (*rest == 0 || *rest == '!');
}

static bool acl_is_role(const UserCfgAcl *a, const void *role) {
    return streq(a->role, role);
}

static bool acl_is_path(const UserCfgAcl *a, const void *path) {
    return streq(a->path, path);
}

static UserCfgUser *get_user_mut(UserCfg *c, const char *userid) {
    return userid ? hashmap_get(c->user_map, userid) : NULL;
}

int user_cfg_add_user(UserCfg *c, const char *userid) {
    assert(c);
    if (!userid || !userid_is_valid(userid))
        return -EINVAL;
    if (hashmap_get(c->user_map, userid))
        return -EEXIST;
    _cleanup_(user_freep) UserCfgUser *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    u->enable = true;
    u->userid = strdup(userid);
    u->firstname = strdup("");
    u->lastname = strdup("");
    u->email = strdup("");
    u->comment = strdup("");
    u->keys = strdup("");
    if (!u->userid || !u->firstname || !u->lastname || !u->email || !u->comment || !u->keys ||
        hashmap_put(c->user_map, u->userid, u) < 0)
        return -ENOMEM;
    if (push(&c->users, &c->n_users, u) < 0) {
        hashmap_remove(c->user_map, u->userid);
        return -ENOMEM;
    }
    TAKE_PTR(u);
    return 0;
}

int user_cfg_remove_user(UserCfg *c, const char *userid) {
    assert(c);
    UserCfgUser *u = get_user_mut(c, userid);
    if (!u)
        return -ENOENT;
    (void) user_cfg_user_leave_groups(c, userid);
    acl_remove_if(c, acl_is_user_or_token, userid);
    for (size_t i = 0; i < c->n_users; i++)
        if (c->users[i] == u) {
            ptr_remove_at(&c->users, &c->n_users, i);
            break;
        }
    hashmap_remove(c->user_map, u->userid);
    user_free(u);
    return 0;
}

int user_cfg_user_set(UserCfg *c, const char *userid, const char *key, const char *value) {
    assert(c);
    UserCfgUser *u = get_user_mut(c, userid);
    char *s = NULL;
    int r;
    if (!u)
        return -ENOENT;
    if (!key || !value)
        return -EINVAL;
    if (streq(key, "enable"))
        return parse_bool_value(value, &u->enable);
    if (streq(key, "expire"))
        return parse_expire_value(value, &u->expire);
    char **field = streq(key, "firstname")  ? &u->firstname
                   : streq(key, "lastname") ? &u->lastname
                   : streq(key, "comment")  ? &u->comment
                   : streq(key, "email")    ? &u->email
                   : streq(key, "keys")     ? &u->keys
                                            : NULL;
    if (!field)
        return -EINVAL;
    r = field == &u->email || field == &u->keys ? raw_value(value, &s) : text_value(value, &s);
    if (r < 0)
        return r;
    replace_str(field, s);
    return 0;
}

static int token_lookup(UserCfg *c, const char *tokenid, UserCfgUser **ret_user, size_t *ret_i) {
    const char *name;
    if (!tokenid || !tokenid_is_valid(tokenid))
        return -EINVAL;
    _cleanup_free_ char *userid = tokenid_split(tokenid, &name);
    if (!userid)
        return -ENOMEM;
    UserCfgUser *u = get_user_mut(c, userid);
    if (!u)
        return -ENOENT;
    *ret_user = u;
    for (size_t i = 0; i < u->n_tokens; i++)
        if (streq(u->tokens[i]->name, name)) {
            *ret_i = i;
            return 0;
        }
    *ret_i = u->n_tokens;
    return -ESRCH; /* user exists, token does not */
}

int user_cfg_add_token(
    UserCfg *c, const char *tokenid, int64_t expire, bool privsep, const char *comment
) {
    UserCfgUser *u;
    size_t i;
    assert(c);
    int r = token_lookup(c, tokenid, &u, &i);
    if (r == 0)
        return -EEXIST;
    if (r != -ESRCH)
        return r;
    if (expire < 0)
        return -EINVAL;
    _cleanup_(token_freep) UserCfgToken *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->name = strdup(strrchr(tokenid, '!') + 1);
    t->expire = expire;
    t->privsep = privsep;
    if (!t->name || text_value(comment, &t->comment) < 0 || push(&u->tokens, &u->n_tokens, t) < 0)
        return -ENOMEM;
    TAKE_PTR(t);
    return 0;
}

int user_cfg_remove_token(UserCfg *c, const char *tokenid) {
    UserCfgUser *u;
    size_t i;
    assert(c);
    int r = token_lookup(c, tokenid, &u, &i);
    if (r < 0)
        return r == -ESRCH ? -ENOENT : r;
    acl_remove_if(c, acl_is_ugid, tokenid);
    token_free(u->tokens[i]);
    ptr_remove_at(&u->tokens, &u->n_tokens, i);
    return 0;
}

int user_cfg_token_set(UserCfg *c, const char *tokenid, const char *key, const char *value) {
    UserCfgUser *u;
    size_t i;
    assert(c);
    int r = token_lookup(c, tokenid, &u, &i);
    if (r < 0)
        return r == -ESRCH ? -ENOENT : r;
    UserCfgToken *t = u->tokens[i];
    if (!key || !value)
        return -EINVAL;
    if (streq(key, "expire"))
        return parse_expire_value(value, &t->expire);
    if (streq(key, "privsep"))
        return parse_bool_value(value, &t->privsep);
    if (!streq(key, "comment"))
        return -EINVAL;
    char *s = NULL;
    if (text_value(value, &s) < 0)
        return -ENOMEM;
    replace_str(&t->comment, s);
    return 0;
}

static UserCfgGroup *get_group_mut(UserCfg *c, const char *groupid) {
    return groupid ? hashmap_get(c->group_map, groupid) : NULL;
}

int user_cfg_add_group(UserCfg *c, const char *groupid, const char *comment) {
    assert(c);
    if (!groupid || !id_valid(groupid))
        return -EINVAL;
    if (hashmap_get(c->group_map, groupid))
        return -EEXIST;
    _cleanup_(group_freep) UserCfgGroup *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->groupid = strdup(groupid);
    if (!g->groupid || text_value(comment, &g->comment) < 0 ||
        hashmap_put(c->group_map, g->groupid, g) < 0)
        return -ENOMEM;
    if (push(&c->groups, &c->n_groups, g) < 0) {
        hashmap_remove(c->group_map, g->groupid);
        return -ENOMEM;
    }
    TAKE_PTR(g);
    return 0;
}

int user_cfg_remove_group(UserCfg *c, const char *groupid) {
    assert(c);
    UserCfgGroup *g = get_group_mut(c, groupid);
    if (!g)
        return -ENOENT;
    _cleanup_free_ char *ugid = NULL;
    if (asprintf(&ugid, "@%s", groupid) < 0)
        return -ENOMEM;
    acl_remove_if(c, acl_is_ugid, ugid);
    for (size_t i = 0; i < c->n_groups; i++)
        if (c->groups[i] == g) {
            ptr_remove_at(&c->groups, &c->n_groups, i);
            break;
        }
    hashmap_remove(c->group_map, g->groupid);
    group_free(g);
    return 0;
}

int user_cfg_group_set_comment(UserCfg *c, const char *groupid, const char *comment) {
    assert(c);
    UserCfgGroup *g = get_group_mut(c, groupid);
    char *s = NULL;
    if (!g)
        return -ENOENT;
    if (text_value(comment, &s) < 0)
        return -ENOMEM;
    replace_str(&g->comment, s);
    return 0;
}

int user_cfg_group_add_member(UserCfg *c, const char *groupid, const char *userid) {
    assert(c);
    UserCfgGroup *g = get_group_mut(c, groupid);
    if (!g || !get_user_mut(c, userid))
        return -ENOENT;
    int r = strv_insert_sorted(&g->members, &g->n_members, userid, NULL);
    return r == -EEXIST ? 0 : r;
}

int user_cfg_group_remove_member(UserCfg *c, const char *groupid, const char *userid) {
    assert(c);
    UserCfgGroup *g = get_group_mut(c, groupid);
    if (!g || !userid)
        return -ENOENT;
    return strv_remove_sorted(g->members, &g->n_members, userid);
}

int user_cfg_user_leave_groups(UserCfg *c, const char *userid) {
    assert(c);
    for (size_t i = 0; userid && i < c->n_groups; i++)
        (void) strv_remove_sorted(c->groups[i]->members, &c->groups[i]->n_members, userid);
    return 0;
}

static UserCfgPool *get_pool_mut(UserCfg *c, const char *poolid) {
    return poolid ? hashmap_get(c->pool_map, poolid) : NULL;
}

int user_cfg_add_pool(UserCfg *c, const char *poolid, const char *comment) {
    assert(c);
    if (!user_cfg_poolid_is_valid(poolid))
        return -EINVAL;
    if (hashmap_get(c->pool_map, poolid))
        return -EEXIST;
    const char *slash = strrchr(poolid, '/');
    if (slash) {
        _cleanup_free_ char *parent = strndup(poolid, (size_t) (slash - poolid));
        if (!parent)
            return -ENOMEM;
        if (!hashmap_get(c->pool_map, parent))
            return -ENOENT;
    }
    _cleanup_(pool_freep) UserCfgPool *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->poolid = strdup(poolid);
    if (!p->poolid || text_value(comment, &p->comment) < 0 ||
        hashmap_put(c->pool_map, p->poolid, p) < 0)
        return -ENOMEM;
    if (push(&c->pools, &c->n_pools, p) < 0) {
        hashmap_remove(c->pool_map, p->poolid);
        return -ENOMEM;
    }
    TAKE_PTR(p);
    return 0;
}

int user_cfg_remove_pool(UserCfg *c, const char *poolid) {
    assert(c);
    UserCfgPool *p = get_pool_mut(c, poolid);
    if (!p)
        return -ENOENT;
    size_t n = strlen(poolid);
    for (size_t i = 0; i < c->n_pools; i++)
        if (strneq(c->pools[i]->poolid, poolid, n) && c->pools[i]->poolid[n] == '/')
            return -EBUSY;
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/pool/%s", poolid) < 0)
        return -ENOMEM;
    acl_remove_if(c, acl_is_path, path);
    for (size_t i = 0; i < p->n_vms; i++)
        hashmap_remove(c->vm_map, p->vms[i]);
    for (size_t i = 0; i < c->n_pools; i++)
        if (c->pools[i] == p) {
            ptr_remove_at(&c->pools, &c->n_pools, i);
            break;
        }
    hashmap_remove(c->pool_map, p->poolid);
    pool_free(p);
    return 0;
}

int user_cfg_pool_set_comment(UserCfg *c, const char *poolid, const char *comment) {
    assert(c);
    UserCfgPool *p = get_pool_mut(c, poolid);
    char *s = NULL;
    if (!p)
        return -ENOENT;
    if (text_value(comment, &s) < 0)
        return -ENOMEM;
    replace_str(&p->comment, s);
    return 0;
}

static bool vmid_valid(const char *s) {
    unsigned v;
    return s && s[0] != '0' && safe_atou32(s, &v) >= 0 && v >= 100 && v <= 999999999;
}

int user_cfg_pool_add_vm(UserCfg *c, const char *poolid, const char *vmid) {
    assert(c);
    UserCfgPool *p = get_pool_mut(c, poolid);
    char *item = NULL;
    if (!p)
        return -ENOENT;
    if (!vmid_valid(vmid))
        return -EINVAL;
    UserCfgPool *other = hashmap_get(c->vm_map, vmid);
    if (other)
        return other == p ? -EEXIST : -EBUSY;
    if (hashmap_reserve(c->vm_map, 1) < 0)
        return -ENOMEM;
    int r = strv_insert_sorted(&p->vms, &p->n_vms, vmid, &item);
    if (r < 0)
        return r;
    (void) hashmap_put(c->vm_map, item, p); /* reserved above */
    return 0;
}

int user_cfg_pool_remove_vm(UserCfg *c, const char *poolid, const char *vmid) {
    assert(c);
    UserCfgPool *p = get_pool_mut(c, poolid);
    if (!p || !vmid || hashmap_get(c->vm_map, vmid) != p)
        return -ENOENT;
    hashmap_remove(c->vm_map, vmid);
    return strv_remove_sorted(p->vms, &p->n_vms, vmid);
}

int user_cfg_pool_add_storage(UserCfg *c, const char *poolid, const char *storeid) {
    assert(c);
    UserCfgPool *p = get_pool_mut(c, poolid);
    if (!p)
        return -ENOENT;
    if (!storeid || !storage_id_valid(storeid))
        return -EINVAL;
    return strv_insert_sorted(&p->storage, &p->n_storage, storeid, NULL);
}

int user_cfg_pool_remove_storage(UserCfg *c, const char *poolid, const char *storeid) {
    assert(c);
    UserCfgPool *p = get_pool_mut(c, poolid);
    if (!p || !storeid)
        return -ENOENT;
    return strv_remove_sorted(p->storage, &p->n_storage, storeid);
}

static UserCfgRole *get_custom_role(UserCfg *c, const char *roleid, size_t *ret_i) {
    for (size_t i = 0; roleid && i < c->n_roles; i++)
        if (streq(c->roles[i]->roleid, roleid)) {
            if (ret_i)
                *ret_i = i;
            return c->roles[i];
        }
    return NULL;
}

int user_cfg_add_role(UserCfg *c, const char *roleid, PrivSet privs) {
    assert(c);
    if (!roleid || !id_valid(roleid) || (privs & ~PRIVSET_ALL))
        return -EINVAL;
    if (hashmap_get(c->role_map, roleid))
        return -EEXIST;
    _cleanup_(role_freep) UserCfgRole *role = calloc(1, sizeof *role);
    if (!role)
        return -ENOMEM;
    role->roleid = strdup(roleid);
    role->privs = privs;
    if (!role->roleid || hashmap_put(c->role_map, role->roleid, role) < 0)
        return -ENOMEM;
    if (push(&c->roles, &c->n_roles, role) < 0) {
        hashmap_remove(c->role_map, role->roleid);
        return -ENOMEM;
    }
    TAKE_PTR(role);
    return 0;
}

int user_cfg_role_set_privs(UserCfg *c, const char *roleid, PrivSet privs) {
    assert(c);
    if (roleid && user_cfg_builtin_role(roleid, NULL) == 0)
        return -EPERM;
    UserCfgRole *role = get_custom_role(c, roleid, NULL);
    if (!role)
        return -ENOENT;
    if (privs & ~PRIVSET_ALL)
        return -EINVAL;
    role->privs = privs;
    return 0;
}

int user_cfg_remove_role(UserCfg *c, const char *roleid) {
    size_t i;
    assert(c);
    if (roleid && user_cfg_builtin_role(roleid, NULL) == 0)
        return -EPERM;
    UserCfgRole *role = get_custom_role(c, roleid, &i);
    if (!role)
        return -ENOENT;
    acl_remove_if(c, acl_is_role, roleid);
    hashmap_remove(c->role_map, role->roleid);
    ptr_remove_at(&c->roles, &c->n_roles, i);
    role_free(role);
    return 0;
}

/* Normalized ACL path with only the characters upstream allows in one. */
static int acl_path(const char *path, char **ret) {
    if (!path || !*path)
        return -EINVAL;
    for (const char *s = path; *s; s++)
        if (!isalnum((unsigned char) *s) && !strchr("._-/", *s))
            return -EINVAL;
    *ret = normalize_path(path);
    return *ret ? 0 : -ENOMEM;
}

static int acl_ugid_exists(const UserCfg *c, const char *ugid) {
    if (!ugid || !*ugid)
        return -EINVAL;
    if (ugid[0] == '@')
        return hashmap_get(c->group_map, ugid + 1) ? 0 : -ENOENT;
    if (strchr(ugid, '!')) {
        if (!tokenid_is_valid(ugid))
            return -EINVAL;
        return user_cfg_get_token(c, ugid) ? 0 : -ENOENT;
    }
    if (!userid_is_valid(ugid))
        return -EINVAL;
    return hashmap_get(c->user_map, ugid) ? 0 : -ENOENT;
}

int user_cfg_acl_set(
    UserCfg *c, const char *path, const char *ugid, const char *role, bool propagate
) {
    _cleanup_free_ char *npath = NULL;
    assert(c);
    int r = acl_path(path, &npath);
    if (r < 0)
        return r;
    r = acl_ugid_exists(c, ugid);
    if (r < 0)
        return r;
    if (!role || !hashmap_get(c->role_map, role))
        return -ENOENT;
    if (streq(ugid, ROOT_USERID))
        return 0;
    return acl_add(c, npath, ugid, role, propagate);
}

int user_cfg_acl_remove(UserCfg *c, const char *path, const char *ugid, const char *role) {
    _cleanup_free_ char *npath = NULL;
    assert(c);
    int r = acl_path(path, &npath);
    if (r < 0)
        return r;
    if (!ugid || !role)
        return -EINVAL;
    for (size_t i = 0; i < c->n_acls; i++) {
        UserCfgAcl *a = c->acls[i];
        if (streq(a->path, npath) && streq(a->ugid, ugid) && streq(a->role, role)) {
            acl_free(a);
            ptr_remove_at(&c->acls, &c->n_acls, i);
            break;
        }
    }
    return 0;
}
