/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-auth: authentication and method permission checks per api.md §2, shared by pvedaemon
 * and pveproxy: key material under the cfs mount (authkey pair with 24 h rotation,
 * pve-www.key), ticket verification, API tokens (secret checked by pmxcfs, VERIFY_TOKEN),
 * password checks for the pam realm (libpam, service "proxmox-ve-auth", in a forked child)
 * and the pve realm (priv/shadow.cfg), and the evaluation of a method's permission
 * descriptor (perm, and, or, userid-param, userid-group, perm-modify, allowtoken).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pve/api-router.h"
#include "pve/user-cfg.h"

#define API_AUTH_PAM_SERVICE "proxmox-ve-auth"

/* Create priv/authkey.key + authkey.pub and pve-www.key when missing. */
int api_auth_keys_ensure(void);

/* When authkey.pub is older than AUTHKEY_LIFETIME, rotate it under the cluster "authkey" lock:
 * the current public key becomes authkey.pub.old, a new pair is written. 0 (also when nothing
 * was due), or a negative errno. */
int api_auth_rotate_key(void);

/* Verify a ticket against authkey.pub (and authkey.pub.old): 0 and the userid. */
int api_auth_verify_ticket(const char *ticket, char **ret_userid);

/* Verify a ticket signed with associated data (a "!tfa!" half ticket bound to a userid): 0 and
 * the ticket's data, unchecked. Not cached. */
int api_auth_verify_ticket_aad(const char *ticket, const char *aad, char **ret_data);

/*
 * Authenticate a request from its Cookie and Authorization headers (either may be NULL):
 * PVEAuthCookie (cookie, then Authorization) or "PVEAPIToken=<tokenid>=<secret>".
 * 0 with *ret_id = userid or tokenid (malloc'd) and *ret_is_token; otherwise a negative errno
 * and *ret_reason: "No ticket" (nothing sent), "Authentication failed!" (bad ticket/token).
 */
int api_auth_request(
    const char *cookie,
    const char *authorization,
    char **ret_id,
    bool *ret_is_token,
    const char **ret_reason
);

/* Check a password for userid in its realm (pam or pve; other realms fail). rhost may be NULL.
 * 0 on success, -EACCES on a wrong password or unknown user, other negative errno. */
int api_auth_password(const char *userid, const char *password, const char *rhost);

/*
 * Check call->user (NULL = root@pam, as pvesh) against call->method's permission descriptor
 * and `allowtoken` with call->params (already resolved, not yet validated). cfg may be NULL
 * (loaded when needed). 0 when allowed; otherwise the call holds the 403 (or 500) and a
 * negative errno is returned.
 */
int api_auth_check_method(ApiCall *call, UserCfg *cfg, bool is_token);

/* Who may change permissions on path (upstream check_perm_modify), any one privilege suffices:
 * privs[0] is Permissions.Modify, privs[1] the allocate privilege of the object the path names
 * (Datastore.Allocate on /storage/<id>, VM.Allocate on /vms/<id>, Pool.Allocate on /pool/<id>,
 * Mapping.Modify on /mapping/<type>/<id>) or NULL, privs[2] NULL. */
void api_auth_perm_modify_privs(const char *path, const char *privs[static 3]);

/* Fill the ticket answer's "cap" object (vms, access, storage, nodes, sdn, dc, mapping). */
int api_auth_caps(const UserCfg *cfg, const char *userid, json_t *cap);
