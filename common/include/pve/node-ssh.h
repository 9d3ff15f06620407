/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node-ssh: the SSH trust between cluster nodes that migration relies on, as upstream's
 * `pvecm updatecerts` keeps it:
 *     /root/.ssh/id_rsa(.pub)            root's key, generated when missing (RSA 4096)
 *     priv/authorized_keys               every node's root key (this node's appended once);
 *                                        /root/.ssh/authorized_keys becomes a symlink to it,
 *                                        after its own lines were merged in
 *     nodes/<node>/ssh_known_hosts       "<node> <type> <key>" of the node's host key
 *                                        (ssh_host_rsa_key.pub, else ed25519), which the
 *                                        other nodes check with HostKeyAlias=<node>
 * cfs paths are relative to the cfs mount. $PVE_ROOT_SSH_DIR and $PVE_SSH_HOST_KEY_DIR
 * replace /root/.ssh and /etc/ssh (tests). Needs root and a quorate /etc/pve.
 */
#pragma once

/* Set everything up that is missing; 0 or a negative errno with *reterr (malloc'd). */
int node_ssh_ensure(const char *node, char **reterr);
