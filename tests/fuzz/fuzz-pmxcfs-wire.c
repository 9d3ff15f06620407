/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for everything pmxcfs parses from the network: dcdb operation messages, UPDATE
 * entries, memdb indexes, cluster-log entries and cluster-log STATE buffers (merged into a
 * log). The first byte selects the parser (and the dcdb message type); a successful decode
 * is re-encoded where an encoder exists and must decode to the same operation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clusterlog.h"
#include "dcdb.h"
#include "memdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_op(uint16_t type, const uint8_t *data, size_t size) {
    MemdbOp op;
    if (dcdb_decode_op(type, data, size, &op) < 0)
        return;
    void *again = NULL;
    size_t len = 0;
    if (dcdb_encode_op(&op, &again, &len) < 0)
        abort();
    MemdbOp op2;
    if (dcdb_decode_op(type, again, len, &op2) < 0 || !streq(op.path, op2.path) ||
        (op.to == NULL) != (op2.to == NULL) || (op.to && !streq(op.to, op2.to)) ||
        op.offset != op2.offset || op.size != op2.size || op.flags != op2.flags ||
        (op.size && memcmp(op.data, op2.data, op.size) != 0))
        abort();
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 1024 * 1024)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    switch (sel % 5) {
    case 0:
        check_op((uint16_t) (1 + (sel / 5) % 8), data, size);
        break;
    case 1: {
        DatabaseRow row;
        if (memdb_decode_entry(data, size, &row) == 0 && (!row.name || strlen(row.name) == 0))
            abort();
        break;
    }
    case 2: {
        MemdbIndexHeader h;
        const uint8_t *entries;
        if (memdb_index_parse(data, size, &h, &entries) == 0 &&
            MEMDB_INDEX_HEADER_SIZE + (size_t) h.count * MEMDB_INDEX_ENTRY_SIZE != size)
            abort();
        break;
    }
    case 3: {
        ClusterLogEntry e;
        (void) clusterlog_entry_decode(data, size, &e);
        break;
    }
    case 4: {
        ClusterLog *l = clusterlog_new();
        if (!l)
            return 0;
        const void *states[1] = {data};
        size_t lens[1] = {size};
        if (clusterlog_state_check(data, size) == 0)
            (void) clusterlog_merge(l, states, lens, 1);
        clusterlog_free(l);
        break;
    }
    }
    return 0;
}
