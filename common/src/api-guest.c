/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-guest: helpers the QEMU and LXC API modules share (see api-guest.h).
 */
#include "api-guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/section-config.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"

uint32_t api_guest_vmid(const ApiCall *call) {
    long long v = 0;
    (void) api_call_param_int(call, "vmid", &v);
    return (uint32_t) v;
}

int api_guest_load(
    ApiCall *call, GuestType type, uint32_t vmid, GuestConfig **ret, char **ret_raw
) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ char *err = NULL;
    r = guest_config_read(type, api_env(call)->nodename, vmid, ret, ret_raw, &err);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", err ?: strerror(-r));
    return 0;
}

int api_guest_check_lock(ApiCall *call, const GuestConfig *c) {
    bool skiplock = false;
    (void) api_call_param_bool(call, "skiplock", &skiplock);
    if (skiplock && !streq(api_user(call), "root@pam"))
        return api_call_fail(call, 403, NULL, "Only root may use this option.");
    _cleanup_free_ char *err = NULL;
    if (!skiplock && guest_config_check_lock(c, &err) < 0)
        return api_call_fail(call, 500, NULL, "%s", err ?: "guest is locked");
    return 0;
}

char *api_guest_param_text(const json_t *v) {
    char buf[64];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long) json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof buf, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, sizeof buf, "%d", json_is_true(v) ? 1 : 0);
    else
        return NULL;
    return strdup(buf);
}

json_t *api_guest_typed_value(const ApiSchema *s, const char *value) {
    char *end;
    if (s && (s->type == API_TYPE_INTEGER || s->type == API_TYPE_BOOLEAN)) {
        long long n = strtoll(value, &end, 10);
        if (*value && !*end)
            return json_integer(n);
        if (s->type == API_TYPE_BOOLEAN)
            return json_integer(guest_config_bool(value, false));
    } else if (s && s->type == API_TYPE_NUMBER) {
        double d = strtod(value, &end);
        if (*value && !*end)
            return json_real(d);
    }
    return json_string(value);
}

int api_guest_check_digest(const json_t *params, const char *raw, char **err) {
    const char *digest = json_string_value(json_object_get(params, "digest"));
    if (!digest)
        return 0;
    char cur[41];
    api_digest(raw, strlen(raw), cur);
    if (strcasecmp(cur, digest) == 0)
        return 0;
    if (asprintf(err, "detected modified configuration - file changed by other user? Try again.") <
        0)
        *err = NULL;
    return -ESTALE;
}

int api_guest_free_volume(const char *volid) {
    _cleanup_free_ char *sid = NULL, *err = NULL;
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    const SectionConfigSection *s;
    const char *volname;
    int r = storage_volid_split(volid, &sid, &volname);
    if (r < 0 || (r = storage_cfg_load(&cfg, &err)) < 0 ||
        (r = storage_find(cfg, sid, &s, &err)) < 0 ||
        (r = storage_volume_free(s, volname, &err)) < 0) {
        fprintf(stderr, "unable to free '%s' - %s\n", volid, err ?: strerror(-r));
        return r;
    }
    printf("removed volume '%s'\n", volid);
    return 0;
}

int api_guest_allocations_add(ApiGuestAllocations *a, const char *volid) {
    char **v = realloc(a->volids, (a->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    a->volids = v;
    return (a->volids[a->n] = strdup(volid)) ? (a->n++, 0) : -ENOMEM;
}

void api_guest_allocations_done(ApiGuestAllocations *a, bool free_volumes) {
    for (size_t i = 0; i < a->n; i++) {
        if (free_volumes)
            (void) api_guest_free_volume(a->volids[i]);
        free(a->volids[i]);
    }
    free(a->volids);
    *a = (ApiGuestAllocations){0};
}

int api_guest_next_unused_key(const GuestSection *m, unsigned max, char ret[static 24]) {
    for (unsigned i = 0; i < max; i++) {
        snprintf(ret, 24, "unused%u", i);
        if (!guest_section_get(m, ret))
            return 0;
    }
    return -E2BIG;
}

int api_guest_store_value(
    GuestConfig *c, const char *key, const char *value, bool pending, char **err
) {
    GuestSection *target = guest_config_main(c);
    GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    int r;
    if (pending) {
        if (!p && (r = guest_config_add_section(c, GUEST_SECTION_PENDING, NULL, &p)) < 0)
            return r;
        target = p;
    } else if (p)
        (void) guest_section_delete(p, key);
    (void) guest_config_pending_delete_remove(c, key);
    if ((r = guest_section_set(target, key, value)) < 0) {
        if (r != -ENOMEM && asprintf(err, "%s: invalid value", key) < 0)
            *err = NULL;
        return r;
    }
    return 0;
}

void api_guest_apply_reverts(GuestConfig *c, const char *list) {
    _cleanup_free_ char *copy = list ? strdup(list) : NULL;
    for (char *save = NULL, *k = copy ? strtok_r(copy, ",; ", &save) : NULL; k;
         k = strtok_r(NULL, ",; ", &save)) {
        GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
        if (p)
            (void) guest_section_delete(p, k);
        (void) guest_config_pending_delete_remove(c, k);
    }
    GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    if (p && p->n_entries == 0 && !p->description)
        (void) guest_config_remove_section(c, GUEST_SECTION_PENDING, NULL);
}

int api_guest_reserve(ApiCall *call, GuestType type, uint32_t vmid) {
    const char *node = api_env(call)->nodename, *noun = guest_type_noun(type);
    _cleanup_free_ char *where = NULL, *err = NULL;
    GuestType existing;
    if (guest_locate(vmid, &existing, &where) >= 0)
        return api_call_fail(
            call, 500, NULL, "%s %u already exists on node '%s'", noun, vmid, where
        );
    _cleanup_(guest_config_freep) GuestConfig *c = guest_config_new(type);
    if (!c || guest_section_set(guest_config_main(c), "lock", "create") < 0)
        return -ENOMEM;
    int r = guest_config_write(type, node, vmid, c, true, &err);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "unable to create %s %u - %s", noun, vmid, err ?: strerror(-r)
        );
    return 0;
}

void api_guest_free_unreferenced(const char *node, uint32_t vmid) {
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    if (storage_cfg_load(&cfg, NULL) < 0)
        return;
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const SectionConfigSection *s = cfg->sections[i];
        char **vols = NULL;
        if (!storage_cfg_enabled_on(s, node) || storage_vmid_volumes(s, vmid, &vols) < 0)
            continue;
        for (char **v = vols; v && *v; v++)
            (void) api_guest_free_volume(*v);
        strv_free(vols);
    }
}

/* A section as GET config shows it: typed values, description, raw lxc.* lines as "lxc". */
static int section_to_json(const GuestSection *s, ApiGuestSchemaLookup lookup, json_t *o) {
    _cleanup_json_ json_t *raw = json_array();
    if (!raw)
        return -ENOMEM;
    for (size_t i = 0; i < s->n_entries; i++) {
        const GuestEntry *e = &s->entries[i];
        int r =
            e->raw
                ? json_array_append_new(raw, json_pack("[ss]", e->key, e->value))
                : json_object_set_new(o, e->key, api_guest_typed_value(lookup(e->key), e->value));
        if (r < 0)
            return -ENOMEM;
    }
    if (s->description && json_util_set_string(o, "description", s->description) < 0)
        return -ENOMEM;
    if (json_array_size(raw) > 0 && json_object_set(o, "lxc", raw) < 0)
        return -ENOMEM;
    return 0;
}

int api_guest_config_get(ApiCall *call, GuestType type, ApiGuestSchemaLookup lookup) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *raw = NULL;
    int r = api_guest_load(call, type, vmid, &c, &raw);
    if (r < 0)
        return r;
    const char *snap = NULL;
    bool current = false;
    (void) api_call_param_string(call, "snapshot", &snap);
    (void) api_call_param_bool(call, "current", &current);
    const GuestSection *s = guest_config_main(c);
    if (snap && !streq(snap, "current")) {
        if (!(s = guest_config_find_section(c, GUEST_SECTION_SNAPSHOT, snap)))
            return api_call_fail(call, 500, NULL, "snapshot '%s' does not exist", snap);
    } else if (!current) {
        /* by default the answer shows the pending values, as upstream */
        if ((r = guest_config_apply_pending(c)) < 0)
            return r;
        s = guest_config_main(c);
    }
    _cleanup_json_ json_t *o = json_object();
    char digest[41];
    api_digest(raw, strlen(raw), digest);
    if (!o || section_to_json(s, lookup, o) < 0 || json_util_set_string(o, "digest", digest) < 0)
        return -ENOMEM;
    return api_call_set_result(call, TAKE_PTR(o));
}

static int vmid_cmp(const void *a, const void *b) {
    long long x = json_integer_value(json_object_get(*(json_t *const *) a, "vmid"));
    long long y = json_integer_value(json_object_get(*(json_t *const *) b, "vmid"));
    return (x > y) - (x < y);
}

int api_guest_sort_by_vmid(json_t *list) {
    size_t n = json_array_size(list);
    _cleanup_free_ json_t **items = calloc(n + 1, sizeof *items);
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(list, i));
    qsort(items, n, sizeof *items, vmid_cmp);
    json_array_clear(list);
    int r = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(list, items[i]) < 0)
            r = -ENOMEM;
    return r;
}
