/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-guest: what the QEMU (api-qemu*.c) and LXC (api-lxc.c) handler modules share (private
 * to common/src): the vmid parameter, loading this node's guest for a call, skiplock and the
 * `lock` property, config values between JSON and text, volumes allocated by a call (freed
 * again when it fails), reverting pending changes, reserving a VMID, and the volumes of a
 * destroyed guest.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pve/api-router.h"
#include "pve/api-schema.h"
#include "pve/guest-config.h"

/* The call's vmid parameter. */
uint32_t api_guest_vmid(const ApiCall *call);

/*
 * This node's guest of the call: api_node_check_local(), then read and parse its config (500
 * "Configuration file 'nodes/<node>/<dir>/<vmid>.conf' does not exist" when missing).
 * *ret_raw (may be NULL) gets the file text for digest checks.
 */
int api_guest_load(ApiCall *call, GuestType type, uint32_t vmid, GuestConfig **ret, char **ret_raw);

/* skiplock is for root@pam only (403 otherwise); then the config's lock unless skipped (500
 * "VM is locked (<lock>)" / "CT is locked (<lock>)"). */
int api_guest_check_lock(ApiCall *call, const GuestConfig *c);

/* A JSON parameter as the config text it becomes (malloc'd; NULL for objects/arrays/OOM). */
char *api_guest_param_text(const json_t *v);
/* A config value as the API returns it: numbers for integer/number/boolean schemas (s may be
 * NULL: a string). */
json_t *api_guest_typed_value(const ApiSchema *s, const char *value);

/* The "digest" parameter against the raw config: -ESTALE with upstream's text on mismatch. */
int api_guest_check_digest(const json_t *params, const char *raw, char **err);

/* Free one volume "<storage>:<volname>"; failures are printed (task log) and returned. */
int api_guest_free_volume(const char *volid);

/* Volumes allocated by one call, freed again if the call fails. */
typedef struct ApiGuestAllocations {
    char **volids;
    size_t n;
} ApiGuestAllocations;
int api_guest_allocations_add(ApiGuestAllocations *a, const char *volid);
void api_guest_allocations_done(ApiGuestAllocations *a, bool free_volumes);

/* First free unusedN key (N < max) into ret; -E2BIG when all are taken. */
int api_guest_next_unused_key(const GuestSection *m, unsigned max, char ret[static 24]);

/*
 * Store key=value: in the pending section when pending (created if needed), else in the main
 * section (dropping a pending value for key). Either way a pending delete of key is dropped.
 * 0, -EINVAL with "<key>: invalid value" in *err, -ENOMEM.
 */
int api_guest_store_value(
    GuestConfig *c, const char *key, const char *value, bool pending, char **err
);

/* Drop the listed keys (",; " separated) from the pending values and the pending delete list;
 * an emptied pending section goes. */
void api_guest_apply_reverts(GuestConfig *c, const char *list);

/* Reserve vmid for a new guest: a config holding just `lock: create`, written only if no guest
 * has the id anywhere (500 "<VM|CT> <vmid> already exists on node '<node>'"). */
int api_guest_reserve(ApiCall *call, GuestType type, uint32_t vmid);

/* Free every image of vmid on the storages enabled on node (destroy-unreferenced-disks). */
void api_guest_free_unreferenced(const char *node, uint32_t vmid);

/* The schema of a config key (for value types), NULL when unknown. */
typedef const ApiSchema *(*ApiGuestSchemaLookup)(const char *key);

/* GET .../config: the config with pending values applied (unless current=1) or a snapshot
 * (snapshot=<name>), typed values, raw lxc.* lines as "lxc", and the file's digest. */
int api_guest_config_get(ApiCall *call, GuestType type, ApiGuestSchemaLookup lookup);

/* Sort a JSON array of objects by their "vmid" member (in place). 0 or -ENOMEM. */
int api_guest_sort_by_vmid(json_t *list);
