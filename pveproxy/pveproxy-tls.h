/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-tls: /etc/default/pveproxy's OpenSSL-style TLS settings (CIPHERS, CIPHERSUITES,
 * HONOR_CIPHER_ORDER, DISABLE_TLS_1_2/1_3) as a GnuTLS priority string for libmicrohttpd.
 * GnuTLS selects ciphers, key exchanges and MACs as separate lists, so an OpenSSL suite list
 * becomes the union of its parts; TLS 1.0/1.1 are never offered.
 */
#pragma once

#include "pve/proxy-config.h"

/* 0 and a malloc'd priority string, or -EINVAL with *reterr_msg naming the unknown cipher. */
int pveproxy_tls_priorities(const ProxyConfig *c, char **ret, char **reterr_msg);
