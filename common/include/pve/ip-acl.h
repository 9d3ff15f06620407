/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ip-acl: address lists as /etc/default/pveproxy writes them (ALLOW_FROM, DENY_FROM): comma or
 * space separated single addresses, CIDR prefixes (10.0.0.0/8, 2001:db8::/32), ranges
 * (10.0.0.1-10.0.0.9) and `all` (0.0.0.0/0 plus ::/0), IPv4 and IPv6. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) match IPv4 entries. Pure, no I/O.
 */
#pragma once

#include <stdbool.h>

#include "pve/macro.h"

typedef struct IpAcl IpAcl;

/* Parse a list; -EINVAL with a malloc'd message naming the bad entry, -ENOMEM. */
int ip_acl_parse(const char *text, IpAcl **ret, char **reterr_msg);
IpAcl *ip_acl_free(IpAcl *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(IpAcl *, ip_acl_free);

/* true when the textual address falls in any entry; false for unparseable addresses. */
bool ip_acl_match(const IpAcl *a, const char *address);
