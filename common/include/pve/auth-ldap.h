/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth-ldap: password checks against an `ldap` realm of domains.cfg, as upstream's LDAP plugin
 * does them: connect to server1 (then server2) in the realm's mode (ldap, ldaps,
 * ldap+starttls; port 389 or 636 unless `port`), bind as `bind_dn` with the password stored in
 * priv/realm/<realm>.pw (anonymously without bind_dn), search `base_dn` (subtree) for exactly
 * one entry with `<user_attr>=<user>` (plus `filter` when set), then bind as that entry with
 * the user's password. Empty passwords are refused before any network traffic (an LDAP bind
 * with an empty password is an anonymous bind that "succeeds").
 * An `ad` realm (Active Directory) is simpler, as upstream's AD plugin: connect the same way
 * (server1/server2, mode, port, verify) and bind directly as the user principal name
 * `<user>@<domain>` (the user as given when it already contains an `@` or the realm has no
 * `domain`); no search.
 */
#pragma once

#include <stdbool.h>

#include "pve/section-config.h"

/* The RFC 4515 escaped form of an assertion value (for a search filter); NULL on ENOMEM. */
char *ldap_filter_escape(const char *value);

/*
 * Check user's password in the realm (an `ldap` section of domains.cfg; bind_password is the
 * content of priv/realm/<realm>.pw or NULL). 0 when it is right, -EACCES when it is wrong or
 * the user is unknown, -EHOSTUNREACH when no server answered, -EINVAL for a realm that lacks
 * what it needs. Failures are logged with the reason (never the password).
 */
int auth_ldap_check(
    const SectionConfigSection *realm,
    const char *bind_password,
    const char *user,
    const char *password
);

/* Check user's password against an `ad` section of domains.cfg; returns as auth_ldap_check. */
int auth_ad_check(const SectionConfigSection *realm, const char *user, const char *password);
