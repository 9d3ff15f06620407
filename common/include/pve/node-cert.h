/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node-cert: the cluster CA and the node certificates under /etc/pve, as upstream's
 * `pvecm updatecerts` keeps them (api.md §4):
 *     pve-root-ca.pem, priv/pve-root-ca.key      cluster CA (10 years)
 *     nodes/<node>/pve-ssl.pem, pve-ssl.key      node certificate signed by the CA (2 years)
 *                                                with DNS localhost, <node>, <fqdn> and IPs
 *                                                127.0.0.1, ::1 and the node's addresses
 *     nodes/<node>/pveproxy-ssl.pem, .key        admin-supplied override, never generated
 * Files are written through the cfs mount (paths relative to it). The CA key lives in priv/,
 * so generating needs root; reading the node certificate and key works as www-data.
 */
#pragma once

#include <stddef.h>

#include "pve/macro.h"

#define NODE_CERT_CA_DAYS   3650
#define NODE_CERT_NODE_DAYS 730

/*
 * Create the CA when missing, and the node certificate when missing, not signed by the
 * current CA or lacking one of the given names/addresses (ips: NULL-terminated list, may be
 * NULL). 0, or a negative errno with *reterr_msg (malloc'd) saying what failed.
 */
int node_cert_ensure(const char *node, const char *fqdn, const char *const *ips, char **reterr_msg);

/* The certificate and key pveproxy serves: pveproxy-ssl.{pem,key} of the node when both exist
 * (key_override replaces the key path when not NULL), else pve-ssl.{pem,key}. PEM text. */
int node_cert_load(
    const char *node, const char *key_override, char **ret_cert_pem, char **ret_key_pem
);

/* "AB:CD:..." SHA-256 fingerprint of the first certificate in pem (upstream's pve_fp). */
int node_cert_fingerprint(const char *pem, char **ret);
