/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the inputs the cluster join handles from elsewhere: corosync.conf text given
 * to add/remove node (the result must parse again and keep the node), corosync link strings,
 * the authkey's JSON form and the HTTP responses of the existing node's API. The first byte
 * picks the parser, the rest is its input.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/api-client.h"
#include "pve/cluster-setup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void conf_add_remove(const char *text, size_t len) {
    ClusterNodeAdd a = {.name = "fuzznode", .votes = -1, .new_node_ip = "192.0.2.77"};
    _cleanup_free_ char *out = NULL, *msg = NULL;
    if (cluster_conf_add_node(text, len, &a, &out, NULL, &msg) < 0)
        return;
    _cleanup_(corosync_conf_freep) CorosyncConf *c = NULL;
    if (corosync_conf_parse(out, strlen(out), &c, NULL) < 0 ||
        !corosync_conf_find_node(c, "fuzznode"))
        abort();
    _cleanup_free_ char *out2 = NULL, *msg2 = NULL;
    uint32_t id = 0;
    if (cluster_conf_remove_node(out, strlen(out), "fuzznode", &out2, &id, &msg2) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 65536)
        return 0;
    const char *text = (const char *) data + 1;
    size_t len = size - 1;
    _cleanup_free_ char *s = strndup(text, len);
    if (!s)
        return 0;
    switch (data[0] % 4) {
    case 0:
        conf_add_remove(text, len);
        break;
    case 1: {
        ClusterLink l = {.priority = -1};
        _cleanup_free_ char *msg = NULL;
        if (cluster_link_parse(s, &l, &msg) == 0 && (!l.address || l.priority > 255))
            abort();
        free(l.address);
        break;
    }
    case 2: {
        _cleanup_free_ uint8_t *raw = NULL;
        size_t n = 0;
        if (cluster_authkey_decode(text, len, &raw, &n) == 0) {
            _cleanup_free_ char *enc = NULL;
            size_t elen = 0;
            if (cluster_authkey_encode(raw, n, &enc, &elen) < 0 || elen != len ||
                memcmp(enc, text, len) != 0)
                abort();
        }
        break;
    }
    case 3: {
        int status = 0;
        json_t *body = NULL;
        if (api_client_parse_response(text, len, &status, &body) == 0)
            json_decref(body);
        break;
    }
    }
    return 0;
}
