/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * proxy-config: /etc/default/pveproxy (api.md §4), read by pveproxy and spiceproxy. The file
 * is a shell fragment upstream sources with bash; we accept the assignments admins write
 * (`KEY=value`, `KEY="value"`, `KEY='value'`, optional `export `, comments, blank lines) and
 * reject anything that would need a shell to evaluate (command substitution, variable
 * expansion) with an error naming the line, instead of silently misreading it.
 *
 * Unknown keys are kept out of the model but do not fail (the file is shared with other
 * settings); invalid values of known keys fail like upstream's startup check.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/ip-acl.h"
#include "pve/macro.h"

#define PROXY_DEFAULT_CIPHERS                                                                  \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" \
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"   \
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:"             \
    "ECDHE-RSA-AES128-SHA256"
#define PROXY_DEFAULT_MAX_WORKERS 3

typedef struct ProxyConfig {
    char *listen_ip;         /* NULL: "::" with 0.0.0.0 fallback */
    IpAcl *allow_from;       /* NULL when unset */
    IpAcl *deny_from;        /* NULL when unset */
    bool policy_allow;       /* POLICY, default allow */
    char *ciphers;           /* never NULL (default list) */
    char *ciphersuites;      /* NULL: library default */
    bool honor_cipher_order; /* default 1 */
    bool compression;        /* default 1 */
    char *dhparams;          /* NULL: built-in */
    bool disable_tls_1_2;
    bool disable_tls_1_3;
    char *tls_key_file;              /* NULL: default key path */
    char *proxy_real_ip_header;      /* NULL: none */
    IpAcl *proxy_real_ip_allow_from; /* NULL: any peer */
    unsigned max_workers;            /* 1..127, default 3 */
    bool max_workers_set;            /* MAX_WORKERS given in the file */
} ProxyConfig;

/*
 * How many workers to run on a host with ncpus CPUs: MAX_WORKERS when the file sets it, else
 * one per CPU between 2 and PROXY_DEFAULT_MAX_WORKERS (upstream's fixed default of 3, which
 * hosts with 3 or more CPUs keep). A worker is one event loop; more of them than CPUs only
 * take turns on the same CPUs, and every connection of a worker that waits for a CPU waits
 * with it (bench/pveproxy: p99 12.6 ms with 3 workers against 9.5 ms with 2 on 2 CPUs). Two
 * at least, so that one busy worker never holds up every client.
 */
unsigned proxy_config_workers(const ProxyConfig *c, long ncpus);

/* Defaults only. */
int proxy_config_defaults(ProxyConfig **ret);
/*
 * Parse the file's text (len bytes). On error -EINVAL (or -ENOMEM) with the 1-based line in
 * *reterr_line (0 for whole-file errors such as both TLS versions disabled) and a malloc'd
 * message in *reterr_msg.
 */
int proxy_config_parse(
    const char *text, size_t len, ProxyConfig **ret, unsigned *reterr_line, char **reterr_msg
);
/* Read and parse path; a missing file gives the defaults. Errors as above. */
int proxy_config_load(
    const char *path, ProxyConfig **ret, unsigned *reterr_line, char **reterr_msg
);
ProxyConfig *proxy_config_free(ProxyConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProxyConfig *, proxy_config_free);

/* POLICY decision for a client address (text form, v4-mapped IPv6 accepted): allow-only match
 * allows, deny-only match denies, none or both -> policy. */
bool proxy_config_client_allowed(const ProxyConfig *c, const char *address);
