/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the Prometheus text rendering of /cluster/resources + the .rrd dump. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pve/metrics-prometheus.h"

static const char resources[] =
    "["
    "{\"id\":\"node/n1\",\"type\":\"node\",\"node\":\"n1\",\"status\":\"online\",\"uptime\":3600,"
    "\"cpu\":0.25,\"maxcpu\":4,\"mem\":1073741824,\"maxmem\":4294967296,\"disk\":1000,"
    "\"maxdisk\":5000,\"level\":\"\"},"
    "{\"id\":\"node/n2\",\"type\":\"node\",\"node\":\"n2\",\"status\":\"offline\"},"
    "{\"id\":\"qemu/"
    "100\",\"type\":\"qemu\",\"vmid\":100,\"node\":\"n1\",\"name\":\"a\\\"b\\\\c\\nd\","
    "\"status\":\"running\",\"uptime\":60,\"cpu\":0.5,\"maxcpu\":2,\"mem\":100,\"maxmem\":200,"
    "\"disk\":0,\"maxdisk\":300,\"netin\":11,\"netout\":12,\"diskread\":13,\"diskwrite\":14},"
    "{\"id\":\"lxc/200\",\"type\":\"lxc\",\"vmid\":200,\"node\":\"n2\",\"name\":\"box\","
    "\"status\":\"stopped\",\"uptime\":0,\"maxcpu\":1,\"maxmem\":268435456},"
    "{\"id\":\"storage/n1/local\",\"type\":\"storage\",\"node\":\"n1\",\"storage\":\"local\","
    "\"plugintype\":\"dir\",\"status\":\"available\",\"disk\":10,\"maxdisk\":20},"
    "{\"id\":\"pool/p\",\"type\":\"pool\",\"pool\":\"p\"}"
    "]";

static const char rrd[] =
    "{\"pve2-node/n1\":[\"3600\",\"\",\"1700000000\",\"0.50\",\"4\",\"0.25\",\"0.01\","
    "\"4294967296\",\"1073741824\",\"2048\",\"1024\",\"5000\",\"1000\",\"777\",\"888\"],"
    "\"pve2-node/n2\":[\"1\",\"\",\"1700000000\",\"9.00\",\"4\",\"0\",\"0\",\"1\",\"1\",\"1\","
    "\"1\",\"1\",\"1\",\"1\",\"1\"]}";

#define N1 "{id=\"node/n1\",node=\"n1\",status=\"online\"}"
#define N2 "{id=\"node/n2\",node=\"n2\",status=\"offline\"}"
#define VM                                                                                     \
    "{id=\"qemu/100\",node=\"n1\",vmid=\"100\",name=\"a\\\"b\\\\c\\nd\",type=\"qemu\",status=" \
    "\"running\"}"
#define CT "{id=\"lxc/200\",node=\"n2\",vmid=\"200\",name=\"box\",type=\"lxc\",status=\"stopped\"}"
#define ST \
    "{id=\"storage/n1/local\",node=\"n1\",storage=\"local\",type=\"dir\",status=\"available\"}"
#define HT(n, t, h) "# HELP " n " " h "\n# TYPE " n " " t "\n"

static const char expected[] = HT(
    "pve_node_up", "gauge", "1 when the node is online"
) "pve_node_up" N1
  " 1\n"
  "pve_node_up" N2 " 0\n" HT(
      "pve_node_uptime_seconds", "gauge", "Node uptime"
  ) "pve_node_uptime_seconds" N1
    " 3600\n" HT(
        "pve_node_cpu_usage_ratio", "gauge", "Node CPU usage (0..1)"
    ) "pve_node_cpu_usage_ratio" N1
      " 0.25\n" HT("pve_node_cpus", "gauge", "Number of node CPUs") "pve_node_cpus" N1 " 4\n" HT(
          "pve_node_iowait_ratio", "gauge", "Node CPU time waiting for I/O (0..1)"
      ) "pve_node_iowait_ratio" N1
        " 0.01\n" HT(
            "pve_node_load1", "gauge", "Node load average over 1 minute"
        ) "pve_node_load1" N1
          " 0.5\n" HT(
              "pve_node_memory_used_bytes", "gauge", "Node memory in use"
          ) "pve_node_memory_used_bytes" N1
            " 1073741824\n" HT(
                "pve_node_memory_total_bytes", "gauge", "Node memory size"
            ) "pve_node_memory_total_bytes" N1
              " 4294967296\n" HT(
                  "pve_node_swap_used_bytes", "gauge", "Node swap in use"
              ) "pve_node_swap_used_bytes" N1
                " 1024\n" HT(
                    "pve_node_swap_total_bytes", "gauge", "Node swap size"
                ) "pve_node_swap_total_bytes" N1
                  " 2048\n" HT(
                      "pve_node_rootfs_used_bytes", "gauge", "Node root file system use"
                  ) "pve_node_rootfs_used_bytes" N1
                    " 1000\n" HT(
                        "pve_node_rootfs_total_bytes", "gauge", "Node root file system size"
                    ) "pve_node_rootfs_total_bytes" N1
                      " 5000\n" HT(
                          "pve_node_network_receive_bytes_total",
                          "counter",
                          "Bytes received on the node's physical interfaces"
                      ) "pve_node_network_receive_bytes_total" N1
                        " 777\n" HT(
                            "pve_node_network_transmit_bytes_total",
                            "counter",
                            "Bytes sent on the node's physical interfaces"
                        ) "pve_node_network_transmit_bytes_total" N1
                          " 888\n" HT(
                              "pve_guest_up", "gauge", "1 when the guest is running"
                          ) "pve_guest_up" VM
                            " 1\n"
                            "pve_guest_up" CT " 0\n" HT(
                                "pve_guest_uptime_seconds", "gauge", "Guest uptime"
                            ) "pve_guest_uptime_seconds" VM
                              " 60\n"
                              "pve_guest_uptime_seconds" CT " 0\n" HT(
                                  "pve_guest_cpu_usage_ratio",
                                  "gauge",
                                  "Guest CPU usage (0..1 of its CPUs)"
                              ) "pve_guest_cpu_usage_ratio" VM
                                " 0.5\n" HT(
                                    "pve_guest_cpus", "gauge", "Guest CPUs"
                                ) "pve_guest_cpus" VM
                                  " 2\n"
                                  "pve_guest_cpus" CT " 1\n" HT(
                                      "pve_guest_memory_used_bytes", "gauge", "Guest memory in use"
                                  ) "pve_guest_memory_used_bytes" VM
                                    " 100\n" HT(
                                        "pve_guest_memory_total_bytes", "gauge", "Guest memory size"
                                    ) "pve_guest_memory_total_bytes" VM
                                      " 200\n"
                                      "pve_guest_memory_total_bytes" CT " 268435456\n" HT(
                                          "pve_guest_disk_used_bytes", "gauge", "Guest disk use"
                                      ) "pve_guest_disk_used_bytes" VM
                                        " 0\n" HT(
                                            "pve_guest_disk_total_bytes", "gauge", "Guest disk size"
                                        ) "pve_guest_disk_total_bytes" VM
                                          " 300\n" HT(
                                              "pve_guest_network_receive_bytes_total",
                                              "counter",
                                              "Guest bytes received"
                                          ) "pve_guest_network_receive_bytes_total" VM
                                            " 11\n" HT(
                                                "pve_guest_network_transmit_bytes_total",
                                                "counter",
                                                "Guest bytes sent"
                                            ) "pve_guest_network_transmit_bytes_total" VM
                                              " 12\n" HT(
                                                  "pve_guest_disk_read_bytes_total",
                                                  "counter",
                                                  "Guest bytes read"
                                              ) "pve_guest_disk_read_bytes_total" VM
                                                " 13\n" HT(
                                                    "pve_guest_disk_write_bytes_total",
                                                    "counter",
                                                    "Guest bytes written"
                                                ) "pve_guest_disk_write_bytes_total" VM
                                                  " 14\n" HT(
                                                      "pve_storage_up",
                                                      "gauge",
                                                      "1 when the storage is available"
                                                  ) "pve_storage_up" ST
                                                    " 1\n" HT(
                                                        "pve_storage_used_bytes",
                                                        "gauge",
                                                        "Storage space in use"
                                                    ) "pve_storage_used_bytes" ST
                                                      " 10\n" HT(
                                                          "pve_storage_total_bytes",
                                                          "gauge",
                                                          "Storage size"
                                                      ) "pve_storage_total_bytes" ST " 20\n";

static void test_render_exact(void **state) {
    (void) state;
    json_t *res = json_loads(resources, 0, NULL), *dump = json_loads(rrd, 0, NULL);
    assert_non_null(res);
    assert_non_null(dump);
    char *text = NULL;
    assert_int_equal(metrics_prometheus_render(res, dump, &text), 0);
    assert_string_equal(text, expected);
    free(text);
    json_decref(res);
    json_decref(dump);
}

static void test_render_empty(void **state) {
    (void) state;
    json_t *res = json_array();
    char *text = NULL;
    assert_int_equal(metrics_prometheus_render(res, NULL, &text), 0);
    /* only HELP/TYPE lines, no samples */
    for (const char *l = text; *l; l = strchr(l, '\n') + 1)
        assert_int_equal(l[0], '#');
    assert_non_null(strstr(text, "# TYPE pve_guest_up gauge\n"));
    free(text);
    json_decref(res);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_render_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
