/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for pvecm's texts: the corosync.conf of `pvecm create`, byte for byte against
 * files in PVE's layout (tests/data/pvecm), and the `status` / `nodes` tables against the
 * layout corosync-quorumtool prints for the same data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/corosync-conf.h"
#include "pvecm-format.h"

static char *read_data(const char *name) {
    const char *dir = getenv("PVE_TEST_DATA");
    char path[4096];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/pvecm/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_create_conf(void **state) {
    (void) state;
    char *text = NULL, *want;
    size_t len;

    /* defaults: nodeid 1, one vote */
    PvecmCreateParams p = {.cluster_name = "homelab", .nodename = "pve1", .link0 = "192.168.1.11"};
    assert_int_equal(pvecm_format_create_conf(&p, &text, &len), 0);
    want = read_data("create-homelab.conf");
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));

    /* what corosync and pmxcfs read back from it */
    CorosyncConf *c = NULL;
    CorosyncNode *nodes = NULL;
    size_t n;
    uint64_t v;
    assert_int_equal(corosync_conf_parse(text, len, &c, NULL), 0);
    assert_string_equal(corosync_conf_get_cluster_name(c), "homelab");
    assert_int_equal(corosync_conf_extract_config_version(text, len, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(corosync_conf_get_nodes(c, &nodes, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(nodes[0].nodeid, 1);
    assert_string_equal(nodes[0].ring_addr[0], "192.168.1.11");
    corosync_nodes_free(nodes, n);
    corosync_conf_free(c);
    free(text);
    free(want);

    p = (PvecmCreateParams){
        .cluster_name = "prod-east-01",
        .nodename = "hv07",
        .link0 = "fd00:10::7",
        .nodeid = 7,
        .votes = 2,
    };
    assert_int_equal(pvecm_format_create_conf(&p, &text, &len), 0);
    want = read_data("create-v6-nodeid7.conf");
    assert_string_equal(text, want);
    free(text);
    free(want);
}

static void test_create_conf_invalid(void **state) {
    (void) state;
    char *text = NULL;
    static const char *const bad_names[] = {"", "a_b", "with space", "sixteen-chars-xx", "x.y"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        PvecmCreateParams p = {.cluster_name = bad_names[i], .nodename = "n", .link0 = "10.0.0.1"};
        assert_false(pvecm_cluster_name_valid(bad_names[i]));
        assert_int_equal(pvecm_format_create_conf(&p, &text, NULL), -EINVAL);
    }
    assert_true(pvecm_cluster_name_valid("fifteen-chars-x"));
    assert_true(pvecm_cluster_name_valid("0-a"));
    PvecmCreateParams p = {.cluster_name = "c", .nodename = "n", .link0 = NULL};
    assert_int_equal(pvecm_format_create_conf(&p, &text, NULL), -EINVAL);
    p.link0 = "10.0.0.1 {";
    assert_int_equal(pvecm_format_create_conf(&p, &text, NULL), -EINVAL);
    p.link0 = "10.0.0.1";
    p.nodename = "";
    assert_int_equal(pvecm_format_create_conf(&p, &text, NULL), -EINVAL);
    assert_null(text);
}

static char *render(const PvecmStatus *st, int which) {
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (which == 0)
        assert_int_equal(pvecm_format_status(st, f), 0);
    else
        assert_int_equal(pvecm_format_members(st, which == 2, f), 0);
    fclose(f);
    return buf;
}

static void test_status(void **state) {
    (void) state;
    setenv("TZ", "UTC", 1);
    tzset();

    const PvecmMember three[] = {
        {1, 1, "10.177.211.1"},
        {2, 1, "10.177.211.2"},
        {3, 1, "10.177.211.3"},
    };
    PvecmStatus st = {
        .cluster_name = "probe",
        .config_version = 4,
        .secauth = "on",
        .date = 1795320431, /* Sun Nov 22 04:07:11 2026 UTC */
        .quorum_provider = "corosync_votequorum",
        .local_nodeid = 1,
        .ring_nodeid = 1,
        .ring_seq = 0xd,
        .quorate = true,
        .have_votequorum = true,
        .expected_votes = 3,
        .highest_expected = 3,
        .total_votes = 3,
        .quorum = 2,
        .flags = PVECM_VQ_QUORATE,
        .members = three,
        .n_members = 3,
    };
    char *got = render(&st, 0), *want = read_data("status-quorate.txt");
    assert_string_equal(got, want);
    free(got);
    free(want);

    /* an isolated node: no quorum, "Activity blocked", no flags; day of month < 10 */
    const PvecmMember one[] = {{3, 1, "10.177.211.3"}};
    st.date = 1793628434; /* Mon Nov  2 14:07:14 2026 UTC */
    st.local_nodeid = 3;
    st.ring_nodeid = 3;
    st.ring_seq = 0x11;
    st.quorate = false;
    st.total_votes = 1;
    st.flags = 0;
    st.members = one;
    st.n_members = 1;
    got = render(&st, 0);
    want = read_data("status-blocked.txt");
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void test_nodes(void **state) {
    (void) state;
    const PvecmMember m[] = {{1, 1, "node1"}, {2, 3, "node2"}, {4000000000u, 1, NULL}};
    PvecmStatus st = {.local_nodeid = 2, .members = m, .n_members = 3};
    char *got = render(&st, 1);
    assert_string_equal(
        got,
        "Membership information\n"
        "----------------------\n"
        "    Nodeid      Votes Name\n"
        "         1          1 node1\n"
        "         2          3 node2 (local)\n"
        "4000000000          1 4000000000\n"
    );
    free(got);
    got = render(&st, 2);
    assert_string_equal(
        got,
        "Membership information\n"
        "----------------------\n"
        "    Nodeid      Votes Name\n"
        "0x00000001          1 node1\n"
        "0x00000002          3 node2 (local)\n"
        "0xee6b2800          1 4000000000\n"
    );
    free(got);

    /* flags in corosync-quorumtool's order; no votequorum section without the library */
    st.have_votequorum = true;
    st.flags = PVECM_VQ_QUORATE | PVECM_VQ_TWONODE | PVECM_VQ_WAIT_FOR_ALL;
    got = render(&st, 0);
    assert_non_null(strstr(got, "\nFlags:            2Node Quorate WaitForAll \n"));
    assert_non_null(strstr(got, "\nTransport:        knet\nSecure auth:      off\n"));
    free(got);
    st.have_votequorum = false;
    got = render(&st, 0);
    assert_null(strstr(got, "Votequorum"));
    free(got);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_conf),
        cmocka_unit_test(test_create_conf_invalid),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
