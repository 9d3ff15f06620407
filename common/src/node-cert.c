/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node-cert: generation and loading of the cluster CA and node certificates (see node-cert.h),
 * with OpenSSL's EVP/X509 API.
 */
#include "pve/node-cert.h"

#include <sys/stat.h>

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/cfs-file.h"
#include "pve/string-util.h"

#define CA_CERT  "pve-root-ca.pem"
#define CA_KEY   "priv/pve-root-ca.key"
#define KEY_BITS 2048

DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(EVP_PKEY *, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(X509 *, X509_free);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(BIO *, BIO_free);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(X509_EXTENSION *, X509_EXTENSION_free);

static EVP_PKEY *new_key(void) {
    return EVP_RSA_gen(KEY_BITS);
}

static int pem_of_key(EVP_PKEY *k, char **ret) {
    _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
        return -EIO;
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    *ret = strndup(p, (size_t) n);
    return *ret ? 0 : -ENOMEM;
}

static int pem_of_cert(X509 *c, char **ret) {
    _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_X509(b, c) != 1)
        return -EIO;
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    *ret = strndup(p, (size_t) n);
    return *ret ? 0 : -ENOMEM;
}

static X509 *cert_of_pem(const char *pem) {
    _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, -1);
    return b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
}

static EVP_PKEY *key_of_pem(const char *pem) {
    _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, -1);
    return b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
}

static int random_serial(X509 *c) {
    uint8_t raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    raw[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    if (!bn)
        return -ENOMEM;
    int ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != NULL;
    BN_free(bn);
    return ok ? 0 : -EIO;
}

static int add_ext(X509 *c, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
    _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e || X509_add_ext(c, e, -1) != 1)
        return -EIO;
    return 0;
}

static X509 *new_cert(EVP_PKEY *key, unsigned days) {
    X509 *c = X509_new();
    if (!c)
        return NULL;
    if (X509_set_version(c, 2) != 1 || random_serial(c) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(c), -60 * 60) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), (long) days * 24 * 60 * 60) ||
        X509_set_pubkey(c, key) != 1) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static int make_ca(char **msg) {
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = new_key();
    if (!key)
        return set_error_message(msg, -EIO, "unable to generate the CA key");
    _cleanup_(X509_freep) X509 *c = new_cert(key, NODE_CERT_CA_DAYS);
    if (!c)
        return set_error_message(msg, -EIO, "unable to create the CA certificate");
    uint8_t id[8];
    char ou[17];
    (void) RAND_bytes(id, sizeof(id));
    for (size_t i = 0; i < sizeof(id); i++)
        snprintf(ou + 2 * i, 3, "%02x", id[i]);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(
        n, "CN", MBSTRING_ASC, (const uint8_t *) "Proxmox Virtual Environment", -1, -1, 0
    );
    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const uint8_t *) ou, -1, -1, 0);
    X509_NAME_add_entry_by_txt(
        n, "O", MBSTRING_ASC, (const uint8_t *) "PVE Cluster Manager CA", -1, -1, 0
    );
    if (X509_set_issuer_name(c, n) != 1 ||
        add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(c, c, NID_subject_key_identifier, "hash") < 0 ||
        X509_sign(c, key, EVP_sha256()) <= 0)
        return set_error_message(msg, -EIO, "unable to sign the CA certificate");
    _cleanup_free_ char *kpem = NULL, *cpem = NULL;
    int r = pem_of_key(key, &kpem);
    if (r >= 0)
        r = pem_of_cert(c, &cpem);
    if (r < 0)
        return set_error_message(msg, r, "unable to encode the CA");
    r = cfs_file_write(CA_KEY, kpem, strlen(kpem));
    explicit_bzero(kpem, strlen(kpem));
    if (r < 0)
        return set_error_message(msg, r, "unable to write '%s': %s", CA_KEY, strerror(-r));
    r = cfs_file_write(CA_CERT, cpem, strlen(cpem));
    if (r < 0)
        return set_error_message(msg, r, "unable to write '%s': %s", CA_CERT, strerror(-r));
    return 0;
}

static int node_path(const char *node, const char *file, char **ret) {
    return asprintf(ret, "nodes/%s/%s", node, file) < 0 ? -ENOMEM : 0;
}

/* SAN list "DNS:localhost,DNS:node,...,IP:127.0.0.1,..." */
static int san_list(const char *node, const char *fqdn, const char *const *ips, char **ret) {
    size_t n = 64 + strlen(node) + (fqdn ? strlen(fqdn) : 0);
    for (const char *const *i = ips; i && *i; i++)
        n += strlen(*i) + 5;
    char *s = malloc(n);
    if (!s)
        return -ENOMEM;
    int o = snprintf(s, n, "IP:127.0.0.1,IP:::1,DNS:localhost,DNS:%s", node);
    if (fqdn && *fqdn && !streq(fqdn, node))
        o += snprintf(s + o, n - (size_t) o, ",DNS:%s", fqdn);
    for (const char *const *i = ips; i && *i; i++)
        if (!streq(*i, "127.0.0.1") && !streq(*i, "::1"))
            o += snprintf(s + o, n - (size_t) o, ",IP:%s", *i);
    *ret = s;
    return 0;
}

/* The node cert exists, verifies against the CA and covers every wanted name. */
static bool node_cert_ok(const char *node, const char *san, X509 *ca) {
    _cleanup_free_ char *path = NULL, *pem = NULL;
    if (node_path(node, "pve-ssl.pem", &path) < 0 || cfs_file_read(path, &pem, NULL) < 0)
        return false;
    free(path);
    path = NULL;
    _cleanup_free_ char *kpem = NULL;
    if (node_path(node, "pve-ssl.key", &path) < 0 || cfs_file_read(path, &kpem, NULL) < 0)
        return false;
    _cleanup_(X509_freep) X509 *c = cert_of_pem(pem);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *cakey = X509_get_pubkey(ca);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_of_pem(kpem);
    explicit_bzero(kpem, strlen(kpem));
    if (!c || !cakey || !key || X509_verify(c, cakey) != 1 || X509_check_private_key(c, key) != 1)
        return false;
    if (X509_cmp_current_time(X509_get0_notAfter(c)) <= 0)
        return false;
    /* every wanted SAN entry must be present */
    _cleanup_free_ char *copy = strdup(san);
    char *save = NULL;
    for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        if (startswith(e, "DNS:") &&
            X509_check_host(c, e + 4, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
            return false;
        if (startswith(e, "IP:") && X509_check_ip_asc(c, e + 3, 0) != 1)
            return false;
    }
    return true;
}

static int make_node_cert(
    const char *node, const char *fqdn, const char *san, X509 *ca, EVP_PKEY *cakey, char **msg
) {
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = new_key();
    if (!key)
        return set_error_message(msg, -EIO, "unable to generate the node key");
    _cleanup_(X509_freep) X509 *c = new_cert(key, NODE_CERT_NODE_DAYS);
    if (!c)
        return set_error_message(msg, -EIO, "unable to create the node certificate");
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(
        n, "OU", MBSTRING_ASC, (const uint8_t *) "PVE Cluster Node", -1, -1, 0
    );
    X509_NAME_add_entry_by_txt(
        n, "O", MBSTRING_ASC, (const uint8_t *) "Proxmox Virtual Environment", -1, -1, 0
    );
    X509_NAME_add_entry_by_txt(
        n, "CN", MBSTRING_ASC, (const uint8_t *) (fqdn && *fqdn ? fqdn : node), -1, -1, 0
    );
    if (X509_set_issuer_name(c, X509_get_subject_name(ca)) != 1 ||
        add_ext(c, ca, NID_basic_constraints, "CA:FALSE") < 0 ||
        add_ext(c, ca, NID_key_usage, "digitalSignature,nonRepudiation,keyEncipherment") < 0 ||
        add_ext(c, ca, NID_ext_key_usage, "serverAuth") < 0 ||
        add_ext(c, ca, NID_subject_alt_name, san) < 0 || X509_sign(c, cakey, EVP_sha256()) <= 0)
        return set_error_message(msg, -EIO, "unable to sign the node certificate");
    _cleanup_free_ char *kpem = NULL, *cpem = NULL, *kpath = NULL, *cpath = NULL;
    int r = pem_of_key(key, &kpem);
    if (r >= 0)
        r = pem_of_cert(c, &cpem);
    if (r >= 0)
        r = node_path(node, "pve-ssl.key", &kpath);
    if (r >= 0)
        r = node_path(node, "pve-ssl.pem", &cpath);
    if (r < 0)
        return set_error_message(msg, r, "unable to encode the node certificate");
    r = cfs_file_write(kpath, kpem, strlen(kpem));
    explicit_bzero(kpem, strlen(kpem));
    if (r < 0)
        return set_error_message(msg, r, "unable to write '%s': %s", kpath, strerror(-r));
    r = cfs_file_write(cpath, cpem, strlen(cpem));
    if (r < 0)
        return set_error_message(msg, r, "unable to write '%s': %s", cpath, strerror(-r));
    return 0;
}

int node_cert_ensure(
    const char *node, const char *fqdn, const char *const *ips, char **reterr_msg
) {
    _cleanup_free_ char *capem = NULL, *cakeypem = NULL, *san = NULL;
    int r = cfs_file_read(CA_CERT, &capem, NULL);
    if (r == -ENOENT || cfs_file_read(CA_KEY, &cakeypem, NULL) == -ENOENT) {
        r = make_ca(reterr_msg);
        if (r < 0)
            return r;
        free(capem);
        free(cakeypem);
        capem = cakeypem = NULL;
        r = cfs_file_read(CA_CERT, &capem, NULL);
        if (r >= 0)
            r = cfs_file_read(CA_KEY, &cakeypem, NULL);
    }
    if (r < 0 || !cakeypem)
        return set_error_message(
            reterr_msg, r < 0 ? r : -EIO, "unable to read the cluster CA: %s",
            strerror(r < 0 ? -r : EIO)
        );
    _cleanup_(X509_freep) X509 *ca = cert_of_pem(capem);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *cakey = key_of_pem(cakeypem);
    explicit_bzero(cakeypem, strlen(cakeypem));
    if (!ca || !cakey)
        return set_error_message(
            reterr_msg, -EINVAL, "'%s' or '%s' is not a valid PEM file", CA_CERT, CA_KEY
        );
    r = san_list(node, fqdn, ips, &san);
    if (r < 0)
        return r;
    /* the node's directory tree, as upstream's setup_dirs makes it */
    static const char *const dirs[] = {"nodes",         "nodes/%s",
                                       "nodes/%s/priv", "nodes/%s/qemu-server",
                                       "nodes/%s/lxc",  "nodes/%s/openvz"};
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
        _cleanup_free_ char *dir = NULL, *full = NULL;
        if (asprintf(&dir, dirs[i], node) < 0 || cfs_file_path(dir, &full) < 0)
            return -ENOMEM;
        if (mkdir(full, 0755) < 0 && errno != EEXIST)
            return set_error_message(reterr_msg, -errno, "unable to create '%s': %m", dir);
    }
    if (node_cert_ok(node, san, ca))
        return 0;
    return make_node_cert(node, fqdn, san, ca, cakey, reterr_msg);
}

int node_cert_load(
    const char *node, const char *key_override, char **ret_cert_pem, char **ret_key_pem
) {
    _cleanup_free_ char *cpath = NULL, *kpath = NULL, *cert = NULL, *key = NULL;
    int r = node_path(node, "pveproxy-ssl.pem", &cpath);
    if (r < 0)
        return r;
    if (key_override)
        kpath = strdup(key_override);
    else
        r = node_path(node, "pveproxy-ssl.key", &kpath);
    if (r < 0 || !kpath)
        return -ENOMEM;
    if (cfs_file_read(cpath, &cert, NULL) < 0 || cfs_file_read(kpath, &key, NULL) < 0) {
        free(cert);
        free(key);
        cert = key = NULL;
        free(cpath);
        free(kpath);
        cpath = kpath = NULL;
        if (node_path(node, "pve-ssl.pem", &cpath) < 0 ||
            node_path(node, "pve-ssl.key", &kpath) < 0)
            return -ENOMEM;
        r = cfs_file_read(cpath, &cert, NULL);
        if (r < 0)
            return r;
        r = cfs_file_read(kpath, &key, NULL);
        if (r < 0)
            return r;
    }
    *ret_cert_pem = TAKE_PTR(cert);
    *ret_key_pem = TAKE_PTR(key);
    return 0;
}

int node_cert_fingerprint(const char *pem, char **ret) {
    _cleanup_(X509_freep) X509 *c = cert_of_pem(pem);
    if (!c)
        return -EINVAL;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(c, EVP_sha256(), md, &n) != 1)
        return -EIO;
    char *s = malloc(n * 3 + 1);
    if (!s)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++)
        snprintf(s + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
    *ret = s;
    return 0;
}
