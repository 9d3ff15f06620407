/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for tls-credentials: real TLS handshakes between a GnuTLS client and a GnuTLS
 * server that takes its certificate and key from tls_credentials_get(), over a socketpair,
 * for every way the server key is used (TLS 1.3 RSA-PSS, TLS 1.2 PKCS#1 v1.5 and RSA-PSS,
 * TLS 1.2 RSA key exchange = decryption), with an RSA key (signed by OpenSSL) and an ECDSA
 * key (GnuTLS's own). The client verifies the chain and the handshake signature, so a wrong
 * signature or padding fails the handshake. Keys and certificates come from `openssl req`.
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pve/fileio.h"
#include "pve/tls-credentials.h"

static char tmpdir[] = "/tmp/test-tls-credentials.XXXXXX";
static char *rsa_cert, *rsa_key, *ec_cert, *ec_key, *other_key;
static TlsCredentials *server_creds; /* what the server's callback hands out */

static char *make_pair(const char *name, const char *newkey, char **ret_key) {
    char cmd[1024];
    snprintf(
        cmd, sizeof cmd,
        "cd %s && openssl req -x509 -newkey %s -nodes -subj /CN=%s -addext "
        "subjectAltName=DNS:%s -days 2 -keyout %s.key -out %s.pem >/dev/null 2>&1",
        tmpdir, newkey, name, name, name, name
    );
    if (system(cmd) != 0)
        return NULL;
    char path[512];
    char *cert = NULL;
    snprintf(path, sizeof path, "%s/%s.key", tmpdir, name);
    if (read_full_file(path, 1 << 20, ret_key, NULL) < 0)
        return NULL;
    snprintf(path, sizeof path, "%s/%s.pem", tmpdir, name);
    if (read_full_file(path, 1 << 20, &cert, NULL) < 0)
        return NULL;
    return cert;
}

static int setup(void **state) {
    (void) state;
    if (!mkdtemp(tmpdir))
        return -1;
    rsa_cert = make_pair("rsa.test", "rsa:2048", &rsa_key);
    ec_cert = make_pair("ec.test", "ec -pkeyopt ec_paramgen_curve:P-256", &ec_key);
    char *c = make_pair("other.test", "rsa:2048", &other_key);
    free(c);
    return rsa_cert && ec_cert && other_key ? 0 : -1;
}

static int teardown(void **state) {
    (void) state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    (void) !system(cmd);
    free(rsa_cert), free(rsa_key), free(ec_cert), free(ec_key), free(other_key);
    return 0;
}

static int retrieve(
    gnutls_session_t session,
    const gnutls_datum_t *req_ca_dn,
    int n_req,
    const gnutls_pk_algorithm_t *pk_algos,
    int n_pk_algos,
    gnutls_pcert_st **ret_certs,
    unsigned *ret_n,
    gnutls_privkey_t *ret_key
) {
    (void) session, (void) req_ca_dn, (void) n_req, (void) pk_algos, (void) n_pk_algos;
    tls_credentials_get(server_creds, ret_certs, ret_n, ret_key);
    return 0;
}

typedef struct Server {
    int fd;
    int result;
    char echo[16];
} Server;

static void *server_main(void *arg) {
    Server *sv = arg;
    gnutls_certificate_credentials_t xcred = NULL;
    gnutls_session_t s = NULL;
    int r = gnutls_certificate_allocate_credentials(&xcred);
    if (r >= 0) {
        gnutls_certificate_set_retrieve_function2(xcred, retrieve);
        r = gnutls_init(&s, GNUTLS_SERVER);
    }
    if (r >= 0)
        r = gnutls_priority_set_direct(s, "NORMAL:+RSA", NULL);
    if (r >= 0)
        r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, xcred);
    if (r >= 0) {
        gnutls_transport_set_int(s, sv->fd);
        do
            r = gnutls_handshake(s);
        while (r < 0 && !gnutls_error_is_fatal(r));
    }
    if (r >= 0) { /* echo one record so that both directions carry data */
        ssize_t n = gnutls_record_recv(s, sv->echo, sizeof sv->echo - 1);
        r = n > 0 ? (int) gnutls_record_send(s, sv->echo, (size_t) n) : -1;
    }
    sv->result = r < 0 ? r : 0;
    if (s) {
        (void) gnutls_bye(s, GNUTLS_SHUT_WR);
        gnutls_deinit(s);
    }
    gnutls_certificate_free_credentials(xcred);
    close(sv->fd);
    return NULL;
}

/* One handshake with the given client priorities; the negotiated signature algorithm in
 * *ret_sign (GNUTLS_SIGN_UNKNOWN with RSA key exchange) and cipher suite kx in *ret_kx. */
static int handshake(
    const char *cert,
    const char *host,
    const char *priorities,
    gnutls_sign_algorithm_t *ret_sign,
    gnutls_kx_algorithm_t *ret_kx
) {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
    Server sv = {.fd = sp[1], .result = -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, server_main, &sv), 0);

    gnutls_certificate_credentials_t xcred = NULL;
    gnutls_session_t s = NULL;
    gnutls_datum_t ca = {(unsigned char *) cert, (unsigned) strlen(cert)};
    int r = gnutls_certificate_allocate_credentials(&xcred);
    if (r >= 0)
        r = gnutls_certificate_set_x509_trust_mem(xcred, &ca, GNUTLS_X509_FMT_PEM);
    if (r >= 0)
        r = gnutls_init(&s, GNUTLS_CLIENT);
    if (r >= 0)
        r = gnutls_priority_set_direct(s, priorities, NULL);
    if (r >= 0)
        r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, xcred);
    if (r >= 0) {
        gnutls_session_set_verify_cert(s, host, 0);
        gnutls_transport_set_int(s, sp[0]);
        do
            r = gnutls_handshake(s);
        while (r < 0 && !gnutls_error_is_fatal(r));
    }
    char buf[16] = "";
    if (r >= 0 && gnutls_record_send(s, "ping", 4) != 4)
        r = -1;
    if (r >= 0 && (gnutls_record_recv(s, buf, sizeof buf - 1) != 4 || strcmp(buf, "ping") != 0))
        r = -1;
    if (r >= 0) {
        *ret_sign = gnutls_sign_algorithm_get(s);
        *ret_kx = gnutls_kx_get(s);
    }
    if (r < 0)
        fprintf(stderr, "# client: %s\n", r == -1 ? "echo failed" : gnutls_strerror(r));
    if (s) {
        (void) gnutls_bye(s, GNUTLS_SHUT_WR);
        gnutls_deinit(s);
    }
    gnutls_certificate_free_credentials(xcred);
    close(sp[0]);
    pthread_join(t, NULL);
    if (sv.result < 0)
        fprintf(stderr, "# server: %s\n", gnutls_strerror(sv.result));
    return r < 0 ? r : sv.result;
}

typedef struct Case {
    const char *priorities;
    gnutls_sign_algorithm_t sign; /* expected; GNUTLS_SIGN_UNKNOWN: none (RSA kx) */
    gnutls_kx_algorithm_t kx;
} Case;

static const Case rsa_cases[] = {
    {"NORMAL:-VERS-ALL:+VERS-TLS1.3", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, GNUTLS_KX_ECDHE_RSA},
    {"NORMAL:-VERS-ALL:+VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA512",
     GNUTLS_SIGN_RSA_PSS_RSAE_SHA512, GNUTLS_KX_ECDHE_RSA},
    {"NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA256", GNUTLS_SIGN_RSA_SHA256,
     GNUTLS_KX_ECDHE_RSA},
    {"NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA384", GNUTLS_SIGN_RSA_SHA384,
     GNUTLS_KX_ECDHE_RSA},
    {"NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA384",
     GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, GNUTLS_KX_ECDHE_RSA},
    {"NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA", GNUTLS_SIGN_UNKNOWN, GNUTLS_KX_RSA},
};

static void test_rsa_handshakes_sign_with_openssl(void **state) {
    (void) state;
    char *err = NULL;
    assert_int_equal(tls_credentials_new(rsa_cert, rsa_key, &server_creds, &err), 0);
    assert_string_equal(tls_credentials_signer(server_creds), "openssl");
    for (size_t i = 0; i < sizeof rsa_cases / sizeof rsa_cases[0]; i++) {
        const Case *c = &rsa_cases[i];
        gnutls_sign_algorithm_t sign = GNUTLS_SIGN_UNKNOWN;
        gnutls_kx_algorithm_t kx = GNUTLS_KX_UNKNOWN;
        fprintf(stderr, "# %s\n", c->priorities);
        assert_int_equal(handshake(rsa_cert, "rsa.test", c->priorities, &sign, &kx), 0);
        assert_int_equal(kx, c->kx);
        if (c->sign != GNUTLS_SIGN_UNKNOWN)
            assert_int_equal(sign, c->sign);
    }
    server_creds = tls_credentials_free(server_creds);
}

static void test_ecdsa_stays_with_gnutls(void **state) {
    (void) state;
    assert_int_equal(tls_credentials_new(ec_cert, ec_key, &server_creds, NULL), 0);
    assert_string_equal(tls_credentials_signer(server_creds), "gnutls");
    gnutls_sign_algorithm_t sign = GNUTLS_SIGN_UNKNOWN;
    gnutls_kx_algorithm_t kx = GNUTLS_KX_UNKNOWN;
    assert_int_equal(handshake(ec_cert, "ec.test", "NORMAL:-VERS-ALL:+VERS-TLS1.3", &sign, &kx), 0);
    assert_int_equal(sign, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256);
    server_creds = tls_credentials_free(server_creds);
}

static void test_wrong_key_or_cert_is_refused(void **state) {
    (void) state;
    TlsCredentials *c = NULL;
    char *err = NULL;
    assert_int_equal(tls_credentials_new(rsa_cert, other_key, &c, &err), -EINVAL);
    assert_null(c);
    assert_string_equal(err, "the private key does not belong to the certificate");
    free(err);
    assert_int_equal(tls_credentials_new(rsa_cert, "garbage", &c, &err), -EINVAL);
    assert_non_null(strstr(err, "private key: "));
    free(err);
    assert_int_equal(tls_credentials_new("no pem here", rsa_key, &c, &err), -EINVAL);
    assert_non_null(strstr(err, "certificate: "));
    free(err);
    assert_int_equal(tls_credentials_new(ec_cert, rsa_key, &c, &err), -EINVAL);
    free(err);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN); /* a failed handshake closes one end early */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_handshakes_sign_with_openssl),
        cmocka_unit_test(test_ecdsa_stays_with_gnutls),
        cmocka_unit_test(test_wrong_key_or_cert_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
