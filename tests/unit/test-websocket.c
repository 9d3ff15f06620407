/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for websocket.c (RFC 6455 examples, header parsing limits, encode/parse round
 * trip) and the PVEVNC console tickets of auth-ticket.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pve/auth-ticket.h"
#include "pve/websocket.h"

static void test_accept_key(void **state) {
    (void) state;
    char out[WS_ACCEPT_LEN + 1];
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ws_accept_key(NULL, out), -EINVAL);
    assert_int_equal(ws_accept_key("", out), -EINVAL);
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -EINVAL);
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25j!Q==", out), -EINVAL);
    /* 24 base64 chars but 17 bytes */
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZXg=", out), -EINVAL);
}

static void test_parse_rfc_examples(void **state) {
    (void) state;
    /* "Hello", single masked text frame */
    uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    WsFrame f;
    assert_int_equal(ws_frame_parse(masked, sizeof(masked), WS_MAX_FRAME, &f), 0);
    assert_true(f.fin);
    assert_true(f.masked);
    assert_int_equal(f.opcode, WS_OP_TEXT);
    assert_int_equal(f.header_len, 6);
    assert_int_equal(f.payload_len, 5);
    ws_mask(masked + 6, 5, f.mask, 0);
    assert_memory_equal(masked + 6, "Hello", 5);
    /* unmasked */
    uint8_t plain[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(ws_frame_parse(plain, sizeof(plain), WS_MAX_FRAME, &f), 0);
    assert_false(f.masked);
    assert_int_equal(f.header_len, 2);
    /* 256 bytes binary, 16-bit length */
    uint8_t b256[] = {0x82, 0x7E, 0x01, 0x00};
    assert_int_equal(ws_frame_parse(b256, sizeof(b256), WS_MAX_FRAME, &f), 0);
    assert_int_equal(f.payload_len, 256);
    assert_int_equal(f.header_len, 4);
    /* 64 KiB, 64-bit length */
    uint8_t b64k[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    assert_int_equal(ws_frame_parse(b64k, sizeof(b64k), WS_MAX_FRAME, &f), 0);
    assert_int_equal(f.payload_len, 65536);
    assert_int_equal(f.header_len, 10);
}

static void test_parse_incomplete_and_bad(void **state) {
    (void) state;
    WsFrame f;
    uint8_t m[] = {0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4};
    for (size_t n = 0; n < sizeof(m); n++)
        assert_int_equal(ws_frame_parse(m, n, WS_MAX_FRAME, &f), -EAGAIN);
    assert_int_equal(ws_frame_parse(m, sizeof(m), WS_MAX_FRAME, &f), 0);
    assert_int_equal(f.header_len, 8);
    uint8_t rsv[] = {0xC2, 0x00};
    assert_int_equal(ws_frame_parse(rsv, 2, WS_MAX_FRAME, &f), -EBADMSG);
    uint8_t op3[] = {0x83, 0x00};
    assert_int_equal(ws_frame_parse(op3, 2, WS_MAX_FRAME, &f), -EBADMSG);
    uint8_t frag_ping[] = {0x09, 0x00};
    assert_int_equal(ws_frame_parse(frag_ping, 2, WS_MAX_FRAME, &f), -EBADMSG);
    uint8_t big_ping[] = {0x89, 0x7E, 0x00, 0x7E};
    assert_int_equal(ws_frame_parse(big_ping, 4, WS_MAX_FRAME, &f), -EBADMSG);
    uint8_t topbit[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ws_frame_parse(topbit, 10, WS_MAX_FRAME, &f), -EBADMSG);
    uint8_t huge[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x02, 0x00, 0x01};
    assert_int_equal(ws_frame_parse(huge, 10, WS_MAX_FRAME, &f), -E2BIG);
    uint8_t limit[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x02, 0x00, 0x00};
    assert_int_equal(ws_frame_parse(limit, 10, WS_MAX_FRAME, &f), 0);
}

static void test_header_roundtrip(void **state) {
    (void) state;
    const uint64_t lens[] = {0, 1, 125, 126, 65535, 65536, WS_MAX_FRAME};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t h[WS_MAX_HEADER];
        size_t n = ws_frame_header(h, true, WS_OP_BINARY, lens[i]);
        assert_int_equal(n, lens[i] < 126 ? 2 : lens[i] <= 65535 ? 4 : 10);
        WsFrame f;
        assert_int_equal(ws_frame_parse(h, n, WS_MAX_FRAME, &f), 0);
        assert_int_equal(f.payload_len, lens[i]);
        assert_int_equal(f.header_len, n);
        assert_int_equal(f.opcode, WS_OP_BINARY);
        assert_true(f.fin);
        assert_false(f.masked);
    }
    /* masking is its own inverse, also when split at an odd offset */
    uint8_t data[] = "abcdefghij", mask[4] = {1, 2, 3, 4};
    ws_mask(data, 3, mask, 0);
    ws_mask(data + 3, 7, mask, 3);
    ws_mask(data, 10, mask, 0);
    assert_memory_equal(data, "abcdefghij", 10);
}

static void test_vnc_ticket(void **state) {
    (void) state;
    char *priv = NULL, *pub = NULL, *priv2 = NULL, *pub2 = NULL, *t = NULL;
    assert_int_equal(auth_key_generate(&priv, &pub), 0);
    assert_int_equal(auth_key_generate(&priv2, &pub2), 0);
    int64_t now = 1700000000;
    assert_int_equal(vnc_ticket_create(priv, "root@pam", "/vms/100", 5900, now, &t), 0);
    assert_true(strncmp(t, "PVEVNC:6553F100::", 17) == 0);
    assert_null(strstr(t, "root@pam"));
    TicketKeys k = {.public_pem = pub};
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/vms/100", 5900, now + 10), 0);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/vms/100", 5900, now - 19), 0);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/vms/100", 5900, now + 40), -ETIME);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/vms/100", 5900, now - 20), -ETIME);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/vms/100", 5901, now), -EACCES);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/vms/101", 5900, now), -EACCES);
    assert_int_equal(vnc_ticket_verify(t, &k, "user@pve", "/vms/100", 5900, now), -EACCES);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/vms/100", 0, now), -EACCES);
    TicketKeys other = {.public_pem = pub2};
    assert_int_equal(vnc_ticket_verify(t, &other, "root@pam", "/vms/100", 5900, now), -EACCES);
    TicketKeys rotated = {.public_pem = pub2, .old_public_pem = pub};
    assert_int_equal(vnc_ticket_verify(t, &rotated, "root@pam", "/vms/100", 5900, now), 0);
    assert_int_equal(
        vnc_ticket_verify("PVE:root@pam:6553F100::AAAA", &k, "root@pam", "/vms/100", 5900, now),
        -EBADMSG
    );
    assert_int_equal(
        vnc_ticket_verify("PVEVNC:6553F10::AAAA", &k, "root@pam", "/vms/100", 5900, now), -EBADMSG
    );
    assert_int_equal(
        vnc_ticket_verify("PVEVNC:6553F100::!!", &k, "root@pam", "/vms/100", 5900, now), -EBADMSG
    );
    free(t);
    t = NULL;
    /* port 0: signed without a port */
    assert_int_equal(vnc_ticket_create(priv, "root@pam", "/nodes/n1", 0, now, &t), 0);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/nodes/n1", 0, now), 0);
    assert_int_equal(vnc_ticket_verify(t, &k, "root@pam", "/nodes/n1", 5900, now), -EACCES);
    free(t);
    free(priv);
    free(pub);
    free(priv2);
    free(pub2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_parse_rfc_examples),
        cmocka_unit_test(test_parse_incomplete_and_bad),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_vnc_ticket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
