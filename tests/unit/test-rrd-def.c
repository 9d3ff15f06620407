/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the RRD layout (rrd-def.h: keys, update strings, create arguments, rrddata
 * window and rows) and the file store (rrd-file.h): create/update/fetch round trip in a tmp
 * directory with librrd, checked with librrd's info API (DS names/types, RRAs).
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

#include <math.h>
#include <rrd.h>
#include <unistd.h>

#include "pve/json-util.h"
#include "pve/rrd-def.h"
#include "pve/rrd-file.h"

static void test_keys(void **state) {
    (void) state;
    RrdTarget t;
    assert_int_equal(rrd_key_parse("pve2-node/n1", &t), 0);
    assert_int_equal(t.def->kind, RRD_KIND_NODE);
    assert_int_equal(t.skip, 2);
    assert_string_equal(t.path, "pve2-node/n1");
    rrd_target_done(&t);
    assert_int_equal(rrd_key_parse("pve2.3-vm/100", &t), 0);
    assert_int_equal(t.def->kind, RRD_KIND_VM);
    assert_int_equal(t.skip, 4);
    assert_string_equal(t.path, "pve2-vm/100"); /* the key says 2.3, the directory does not */
    rrd_target_done(&t);
    assert_int_equal(rrd_key_parse("pve2-storage/n1/local-lvm", &t), 0);
    assert_int_equal(t.def->kind, RRD_KIND_STORAGE);
    assert_int_equal(t.skip, 0);
    assert_string_equal(t.path, "pve2-storage/n1/local-lvm");
    rrd_target_done(&t);
    assert_int_equal(rrd_key_parse("pve-node-9.0/n1", &t), 0);
    assert_string_equal(t.path, "pve2-node/n1");
    rrd_target_done(&t);

    const char *bad[] = {
        "pve2-node/",          "pve2-node/..",         "pve2-node/a/b",   "pve2-node/.hidden",
        "pve2.3-vm/abc",       "pve2.3-vm/0100",       "pve2-storage/n1", "pve2-storage/n1/a/b",
        "pve2-storage/../x/y", "pve2-node/a b",        "other/n1",        "pve2-node",
        "pve2-storage//x",     "pve2.3-vm/1234567890",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        if (rrd_key_parse(bad[i], &t) != -EINVAL)
            fail_msg("key '%s' accepted", bad[i]);
}

static void check_update(const char *key, const char *value, const char *want) {
    RrdTarget t;
    assert_int_equal(rrd_key_parse(key, &t), 0);
    char *u = NULL;
    time_t ctime = 0;
    int r = rrd_value_to_update(&t, value, &u, &ctime);
    rrd_target_done(&t);
    if (!want) {
        if (r != -EINVAL)
            fail_msg("value '%s' accepted as '%s'", value, u);
        return;
    }
    assert_int_equal(r, 0);
    assert_string_equal(u, want);
    assert_int_equal(ctime, 1700000000);
    free(u);
}

static void test_update_strings(void **state) {
    (void) state;
    /* node: uptime and sublevel are live-only; an empty sublevel is fine */
    check_update(
        "pve2-node/n1", "4711::1700000000:0.5:8:0.25:0.01:100:50:10:0:1000:500:123:456",
        "1700000000:0.5:8:0.25:0.01:100:50:10:0:1000:500:123:456"
    );
    /* PVE 9 node values are longer: cut to the pve2 columns */
    check_update(
        "pve-node-9.0/n1",
        "4711:c:1700000000:0.5:8:0.25:0.01:100:50:10:0:1000:500:123:456:77:88:0.1:0.2:0.3:0.4:0.5",
        "1700000000:0.5:8:0.25:0.01:100:50:10:0:1000:500:123:456"
    );
    /* vm: four live-only fields; stopped guests send U */
    check_update(
        "pve2.3-vm/100", "0:vm1:stopped:0:1700000000:2:U:2048:U:4096:U:U:U:U:U",
        "1700000000:2:U:2048:U:4096:U:U:U:U:U"
    );
    /* short values are padded with U, empty fields are U */
    check_update("pve2-storage/n1/local", "1700000000:100", "1700000000:100:U");
    check_update("pve2-storage/n1/local", "1700000000::5e3", "1700000000:U:5e3");
    check_update("pve2-storage/n1/local", "1700000000:1.5:-2", "1700000000:1.5:-2");

    check_update("pve2-storage/n1/local", "", NULL);
    check_update("pve2-storage/n1/local", "abc:1:2", NULL);
    check_update("pve2-storage/n1/local", "0:1:2", NULL);
    check_update("pve2-storage/n1/local", "1700000000:x:2", NULL);
    check_update("pve2-storage/n1/local", "1700000000:nan:2", NULL);
    check_update("pve2-storage/n1/local", "1700000000:inf:2", NULL);
    check_update("pve2-storage/n1/local", "1700000000:1 :2", NULL);
    check_update("pve2-node/n1", "4711:", NULL); /* no ctime */
    check_update("pve2-node/n1", "4711", NULL);
}

static void test_create_args(void **state) {
    (void) state;
    char **a;
    size_t n;
    assert_int_equal(rrd_def_create_args(rrd_def_get(RRD_KIND_STORAGE), &a, &n), 0);
    const char *want[] = {
        "DS:total:GAUGE:120:0:U",   "DS:used:GAUGE:120:0:U",  "RRA:AVERAGE:0.5:1:70",
        "RRA:AVERAGE:0.5:30:70",    "RRA:AVERAGE:0.5:180:70", "RRA:AVERAGE:0.5:720:70",
        "RRA:AVERAGE:0.5:10080:70", "RRA:MAX:0.5:1:70",       "RRA:MAX:0.5:30:70",
        "RRA:MAX:0.5:180:70",       "RRA:MAX:0.5:720:70",     "RRA:MAX:0.5:10080:70",
    };
    assert_int_equal(n, ELEMENTSOF(want));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(a[i], want[i]);
    assert_null(a[n]);
    rrd_args_free(a);

    assert_int_equal(rrd_def_create_args(rrd_def_get(RRD_KIND_NODE), &a, &n), 0);
    assert_int_equal(n, 12 + 10);
    assert_string_equal(a[0], "DS:loadavg:GAUGE:120:0:U");
    assert_string_equal(a[10], "DS:netin:DERIVE:120:0:U");
    assert_string_equal(a[11], "DS:netout:DERIVE:120:0:U");
    rrd_args_free(a);
    assert_int_equal(rrd_def_get(RRD_KIND_VM)->n_ds, 10);
    assert_string_equal(rrd_def_get(RRD_KIND_VM)->ds[9].name, "diskwrite");
    assert_null(rrd_def_get(_RRD_KIND_MAX));

    time_t now = 1700000000;
    time_t st = rrd_create_start(now);
    assert_true(st < now && now - st <= 86400 + 3600);
}

static void test_timeframes(void **state) {
    (void) state;
    unsigned reso, rows;
    struct {
        const char *name;
        unsigned reso, rows;
    } t[] = {{"hour", 60, 60},     {"day", 1800, 70},    {"week", 10800, 70},
             {"month", 43200, 70}, {"year", 604800, 70}, {"decade", 604800, 70}};
    for (size_t i = 0; i < ELEMENTSOF(t); i++) {
        assert_int_equal(rrd_timeframe(t[i].name, &reso, &rows), 0);
        assert_int_equal(reso, t[i].reso);
        assert_int_equal(rows, t[i].rows);
    }
    assert_int_equal(rrd_timeframe("minute", &reso, &rows), -EINVAL);
    assert_int_equal(rrd_timeframe(NULL, &reso, &rows), -EINVAL);

    time_t start, end;
    rrd_fetch_window(1700000030, 60, 60, &start, &end);
    assert_int_equal(end, 1699999979);
    assert_int_equal(start, 1700000040 - 60 - 3600);
}

static void test_rows_to_json(void **state) {
    (void) state;
    const char *names[] = {"total", "used"};
    double data[] = {10, 2.5, NAN, 3, NAN, NAN};
    json_t *j = rrd_rows_to_json(1000, 60, 3, 2, names, data);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    /* NaN left out, the trailing empty row dropped, whole numbers as integers */
    assert_string_equal(
        s, "[{\"time\":1060,\"total\":10,\"used\":2.5},{\"time\":1120,\"used\":3}]"
    );
    free(s);
    json_decref(j);
    double empty_mid[] = {NAN, NAN, 1, 1};
    j = rrd_rows_to_json(0, 60, 2, 2, names, empty_mid);
    assert_int_equal(json_array_size(j), 2); /* only a trailing empty row goes */
    json_decref(j);
}

/* ---- round trip through librrd -------------------------------------------------------------- */

static char *info_value(rrd_info_t *info, const char *key) {
    char *r = NULL;
    for (rrd_info_t *i = info; i; i = i->next) {
        if (!streq(i->key, key))
            continue;
        if (i->type == RD_I_STR)
            r = strdup(i->value.u_str);
        else if (i->type == RD_I_CNT)
            (void) asprintf(&r, "%lu", i->value.u_cnt);
        else if (i->type == RD_I_VAL)
            (void) asprintf(&r, "%g", i->value.u_val);
        else if (i->type == RD_I_INT)
            (void) asprintf(&r, "%d", i->value.u_int);
    }
    return r;
}

static void assert_info(rrd_info_t *info, const char *key, const char *want) {
    char *v = info_value(info, key);
    if (!v || !streq(v, want))
        fail_msg("%s: got '%s', want '%s'", key, v ? v : "(none)", want);
    free(v);
}

static void test_round_trip(void **state) {
    (void) state;
    char dir[] = "/tmp/test-rrd.XXXXXX";
    assert_non_null(mkdtemp(dir));
    RrdStore *s;
    assert_int_equal(rrd_store_new(dir, NULL, &s), 0);

    time_t now = time(NULL);
    time_t base = now - now % 60 - 20 * 60;
    for (int k = 0; k <= 20; k++) {
        char v[256];
        snprintf(
            v, sizeof v, "%d::%lld:1.5:4:0.25:0.125:8000:%d:100:0:5000:2500:%d:%d", 1000 + k,
            (long long) (base + k * 60), 4000 + 0 * k, k * 6000, k * 600
        );
        assert_int_equal(rrd_store_update(s, "pve2-node/n1", v), 0);
        snprintf(v, sizeof v, "%lld:1000:%d", (long long) (base + k * 60), 250);
        assert_int_equal(rrd_store_update(s, "pve2-storage/n1/local", v), 0);
    }
    /* a repeated timestamp is dropped quietly, a bad key or value is refused */
    char again[64];
    snprintf(again, sizeof again, "%lld:1000:250", (long long) (base + 20 * 60));
    assert_int_equal(rrd_store_update(s, "pve2-storage/n1/local", again), 0);
    assert_int_equal(rrd_store_update(s, "pve2-storage/n1/../x", again), -EINVAL);
    assert_int_equal(rrd_store_update(s, "pve2-storage/n1/local", "x:1:2"), -EINVAL);

    char path[512];
    snprintf(path, sizeof path, "%s/pve2-node/n1", dir);
    rrd_info_t *info = rrd_info_r(path);
    assert_non_null(info);
    assert_info(info, "step", "60");
    const RrdDef *d = rrd_def_get(RRD_KIND_NODE);
    for (size_t i = 0; i < d->n_ds; i++) {
        char k[128];
        snprintf(k, sizeof k, "ds[%s].type", d->ds[i].name);
        assert_info(info, k, d->ds[i].type);
        snprintf(k, sizeof k, "ds[%s].minimal_heartbeat", d->ds[i].name);
        assert_info(info, k, "120");
        snprintf(k, sizeof k, "ds[%s].min", d->ds[i].name);
        assert_info(info, k, "0");
    }
    assert_info(info, "rra[0].cf", "AVERAGE");
    assert_info(info, "rra[0].pdp_per_row", "1");
    assert_info(info, "rra[0].rows", "70");
    assert_info(info, "rra[0].xff", "0.5");
    assert_info(info, "rra[4].pdp_per_row", "10080");
    assert_info(info, "rra[5].cf", "MAX");
    assert_info(info, "rra[9].pdp_per_row", "10080");
    char *none = info_value(info, "rra[10].cf");
    assert_null(none);
    char *last = info_value(info, "last_update");
    char want_last[32];
    snprintf(want_last, sizeof want_last, "%lld", (long long) (base + 20 * 60));
    assert_string_equal(last, want_last);
    free(last);
    rrd_info_free(info);

    json_t *rows = NULL;
    char *err = NULL;
    assert_int_equal(rrd_store_fetch(s, "pve2-node/n1", "hour", "AVERAGE", &rows, &err), 0);
    size_t with_cpu = 0, i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        assert_non_null(json_object_get(row, "time"));
        json_t *cpu = json_object_get(row, "cpu");
        if (!cpu)
            continue;
        with_cpu++;
        assert_true(fabs(json_number_value(cpu) - 0.25) < 1e-9);
        assert_true(fabs(json_number_value(json_object_get(row, "memused")) - 4000) < 1e-6);
        json_t *netin = json_object_get(row, "netin");
        if (netin) /* DERIVE: 6000 per 60 s */
            assert_true(fabs(json_number_value(netin) - 100) < 1e-6);
        assert_null(json_object_get(row, "uptime"));
    }
    assert_true(with_cpu >= 15);
    json_decref(rows);

    assert_int_equal(rrd_store_fetch(s, "pve2-storage/n1/local", "day", "MAX", &rows, &err), 0);
    assert_int_equal(json_array_size(rows) <= 70, true);
    json_decref(rows);

    assert_int_equal(rrd_store_fetch(s, "pve2-node/nope", "hour", NULL, &rows, &err), -EIO);
    assert_non_null(strstr(err, "RRD error: "));
    free(err);
    assert_int_equal(rrd_store_fetch(s, "pve2-node/n1", "minute", NULL, &rows, &err), -EINVAL);

    rrd_store_free(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),         cmocka_unit_test(test_update_strings),
        cmocka_unit_test(test_create_args),  cmocka_unit_test(test_timeframes),
        cmocka_unit_test(test_rows_to_json), cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
