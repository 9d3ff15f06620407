/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-config: meaning of QEMU guest config keys — drive and network property strings with
 * upstream's checks and texts, random MAC addresses, and the API schema of the config keys
 * (see qemu-config.h).
 */
#include "pve/qemu-config.h"

#include <sys/random.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/string-util.h"
#include "pve/ui-enums.h"

/* ---- property-string field tables (from POST /nodes/{node}/qemu in api-schema.json) ------- */

#define QEMU_DRIVE_COMMON_FIELDS                                                                \
    {.key = "aio",                                                                              \
     .type = PROPERTY_STRING_TYPE_ENUM,                                                         \
     .enum_values = API_ENUM("native", "threads", "io_uring")},                                 \
        {.key = "backup", .type = PROPERTY_STRING_TYPE_BOOLEAN},                                \
        {.key = "bps", .type = PROPERTY_STRING_TYPE_INTEGER},                                   \
        {.key = "bps_max_length",                                                               \
         .type = PROPERTY_STRING_TYPE_INTEGER,                                                  \
         .has_min = true,                                                                       \
         .min = 1},                                                                             \
        {.key = "bps_rd", .type = PROPERTY_STRING_TYPE_INTEGER},                                \
        {.key = "bps_rd_length", .alias = "bps_rd_max_length"},                                 \
        {.key = "bps_rd_max_length",                                                            \
         .type = PROPERTY_STRING_TYPE_INTEGER,                                                  \
         .has_min = true,                                                                       \
         .min = 1},                                                                             \
        {.key = "bps_wr", .type = PROPERTY_STRING_TYPE_INTEGER},                                \
        {.key = "bps_wr_length", .alias = "bps_wr_max_length"},                                 \
        {.key = "bps_wr_max_length",                                                            \
         .type = PROPERTY_STRING_TYPE_INTEGER,                                                  \
         .has_min = true,                                                                       \
         .min = 1},                                                                             \
        {.key = "cache",                                                                        \
         .type = PROPERTY_STRING_TYPE_ENUM,                                                     \
         .enum_values = API_ENUM("none", "writethrough", "writeback", "unsafe", "directsync")}, \
        {.key = "detect_zeroes", .type = PROPERTY_STRING_TYPE_BOOLEAN},                         \
        {.key = "discard",                                                                      \
         .type = PROPERTY_STRING_TYPE_ENUM,                                                     \
         .enum_values = API_ENUM("ignore", "on")},                                              \
        {.key = "file", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true},              \
        {.key = "format",                                                                       \
         .type = PROPERTY_STRING_TYPE_ENUM,                                                     \
         .enum_values = API_ENUM("raw", "qcow", "qed", "qcow2", "vmdk", "cloop")},              \
        {.key = "import-from", .type = PROPERTY_STRING_TYPE_STRING},                            \
        {.key = "iops", .type = PROPERTY_STRING_TYPE_INTEGER},                                  \
        {.key = "iops_max", .type = PROPERTY_STRING_TYPE_INTEGER},                              \
        {.key = "iops_max_length",                                                              \
         .type = PROPERTY_STRING_TYPE_INTEGER,                                                  \
         .has_min = true,                                                                       \
         .min = 1},                                                                             \
        {.key = "iops_rd", .type = PROPERTY_STRING_TYPE_INTEGER},                               \
        {.key = "iops_rd_length", .alias = "iops_rd_max_length"},                               \
        {.key = "iops_rd_max", .type = PROPERTY_STRING_TYPE_INTEGER},                           \
        {.key = "iops_rd_max_length",                                                           \
         .type = PROPERTY_STRING_TYPE_INTEGER,                                                  \
         .has_min = true,                                                                       \
         .min = 1},                                                                             \
        {.key = "iops_wr", .type = PROPERTY_STRING_TYPE_INTEGER},                               \
        {.key = "iops_wr_length", .alias = "iops_wr_max_length"},                               \
        {.key = "iops_wr_max", .type = PROPERTY_STRING_TYPE_INTEGER},                           \
        {.key = "iops_wr_max_length",                                                           \
         .type = PROPERTY_STRING_TYPE_INTEGER,                                                  \
         .has_min = true,                                                                       \
         .min = 1},                                                                             \
        {.key = "mbps", .type = PROPERTY_STRING_TYPE_NUMBER},                                   \
        {.key = "mbps_max", .type = PROPERTY_STRING_TYPE_NUMBER},                               \
        {.key = "mbps_rd", .type = PROPERTY_STRING_TYPE_NUMBER},                                \
        {.key = "mbps_rd_max", .type = PROPERTY_STRING_TYPE_NUMBER},                            \
        {.key = "mbps_wr", .type = PROPERTY_STRING_TYPE_NUMBER},                                \
        {.key = "mbps_wr_max", .type = PROPERTY_STRING_TYPE_NUMBER},                            \
        {.key = "media",                                                                        \
         .type = PROPERTY_STRING_TYPE_ENUM,                                                     \
         .enum_values = API_ENUM("cdrom", "disk")},                                             \
        {.key = "replicate", .type = PROPERTY_STRING_TYPE_BOOLEAN},                             \
        {.key = "rerror",                                                                       \
         .type = PROPERTY_STRING_TYPE_ENUM,                                                     \
         .enum_values = API_ENUM("ignore", "report", "stop")},                                  \
        {.key = "serial", .type = PROPERTY_STRING_TYPE_STRING, .max_length = 60},               \
        {.key = "shared", .type = PROPERTY_STRING_TYPE_BOOLEAN},                                \
        {.key = "size", .type = PROPERTY_STRING_TYPE_STRING},                                   \
        {.key = "snapshot", .type = PROPERTY_STRING_TYPE_BOOLEAN},                              \
        {.key = "volume", .alias = "file"},                                                     \
        {.key = "werror",                                                                       \
         .type = PROPERTY_STRING_TYPE_ENUM,                                                     \
         .enum_values = API_ENUM("enospc", "ignore", "report", "stop")},

static const PropertyStringField agent_fields[] = {
    {.key = "enabled", .type = PROPERTY_STRING_TYPE_BOOLEAN, .default_key = true},
    {.key = "freeze-fs", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "freeze-fs-on-backup", .alias = "freeze-fs"},
    {.key = "fstrim_cloned_disks", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "guest-fsfreeze", .alias = "freeze-fs"},
    {.key = "type", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = API_ENUM("virtio", "isa")},
};

static const PropertyStringField audio0_fields[] = {
    {.key = "device",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .required = true,
     .enum_values = API_ENUM("ich9-intel-hda", "intel-hda", "AC97")},
    {.key = "driver", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = API_ENUM("spice", "none")},
};

static const PropertyStringField efidisk0_fields[] = {
    {.key = "efitype", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = API_ENUM("2m", "4m")},
    {.key = "file", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true},
    {.key = "format",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .enum_values = API_ENUM("raw", "qcow", "qed", "qcow2", "vmdk", "cloop")},
    {.key = "import-from", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "ms-cert",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .enum_values = API_ENUM("2011", "2023", "2023w", "2023k")},
    {.key = "pre-enrolled-keys", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "size", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "volume", .alias = "file"},
};

static const PropertyStringField ide_fields[] = {
    QEMU_DRIVE_COMMON_FIELDS{
        .key = "model", .type = PROPERTY_STRING_TYPE_STRING, .max_length = 120},
    {.key = "ssd", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "wwn", .type = PROPERTY_STRING_TYPE_STRING},
};

static const PropertyStringField ivshmem_fields[] = {
    {.key = "name", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "size",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .required = true,
     .has_min = true,
     .min = 1},
};

static const PropertyStringField machine_fields[] = {
    {.key = "aw-bits",
     .type = PROPERTY_STRING_TYPE_NUMBER,
     .has_min = true,
     .min = 32,
     .has_max = true,
     .max = 64},
    {.key = "enable-s3", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "enable-s4", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "type", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true, .max_length = 40},
    {.key = "viommu",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .enum_values = API_ENUM("intel", "virtio")},
};

static const PropertyStringField memory_fields[] = {
    {.key = "current",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .default_key = true,
     .has_min = true,
     .min = 16},
};

static const PropertyStringField net_fields[] = {
    {.key = "bridge", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "e1000", .alias = "macaddr"},
    {.key = "e1000-82540em", .alias = "macaddr"},
    {.key = "e1000-82544gc", .alias = "macaddr"},
    {.key = "e1000-82545em", .alias = "macaddr"},
    {.key = "e1000e", .alias = "macaddr"},
    {.key = "firewall", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "i82551", .alias = "macaddr"},
    {.key = "i82557b", .alias = "macaddr"},
    {.key = "i82559er", .alias = "macaddr"},
    {.key = "link_down", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "macaddr", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "model",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .default_key = true,
     .enum_values = API_ENUM(
         "e1000",
         "e1000-82540em",
         "e1000-82544gc",
         "e1000-82545em",
         "e1000e",
         "i82551",
         "i82557b",
         "i82559er",
         "ne2k_isa",
         "ne2k_pci",
         "pcnet",
         "rtl8139",
         "virtio",
         "vmxnet3"
     )},
    {.key = "mtu",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 65520},
    {.key = "ne2k_isa", .alias = "macaddr"},
    {.key = "ne2k_pci", .alias = "macaddr"},
    {.key = "pcnet", .alias = "macaddr"},
    {.key = "queues",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 64},
    {.key = "rate", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
    {.key = "rtl8139", .alias = "macaddr"},
    {.key = "tag",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4094},
    {.key = "trunks", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "virtio", .alias = "macaddr"},
    {.key = "vmxnet3", .alias = "macaddr"},
};

static const PropertyStringField numa_fields[] = {
    {.key = "cpus", .type = PROPERTY_STRING_TYPE_STRING, .required = true},
    {.key = "hostnodes", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "memory", .type = PROPERTY_STRING_TYPE_NUMBER},
    {.key = "policy",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .enum_values = API_ENUM("preferred", "bind", "interleave")},
};

static const PropertyStringField sata_fields[] = {
    QEMU_DRIVE_COMMON_FIELDS{.key = "ssd", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "wwn", .type = PROPERTY_STRING_TYPE_STRING},
};

static const PropertyStringField scsi_fields[] = {
    QEMU_DRIVE_COMMON_FIELDS{.key = "iothread", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "product", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "queues", .type = PROPERTY_STRING_TYPE_INTEGER, .has_min = true, .min = 2},
    {.key = "ro", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "scsiblock", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "ssd", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "vendor", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "wwn", .type = PROPERTY_STRING_TYPE_STRING},
};

static const PropertyStringField spice_enhancements_fields[] = {
    {.key = "foldersharing", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "videostreaming",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .enum_values = API_ENUM("off", "all", "filter")},
};

static const PropertyStringField tpmstate0_fields[] = {
    {.key = "file", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true},
    {.key = "format",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .enum_values = API_ENUM("raw", "qcow2", "vmdk")},
    {.key = "import-from", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "size", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "version", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = API_ENUM("v1.2", "v2.0")},
    {.key = "volume", .alias = "file"},
};

static const PropertyStringField unused_fields[] = {
    {.key = "file", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true},
    {.key = "volume", .alias = "file"},
};

static const PropertyStringField usb_fields[] = {
    {.key = "host", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true},
    {.key = "mapping", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "usb3", .type = PROPERTY_STRING_TYPE_BOOLEAN},
};

static const PropertyStringField vga_fields[] = {
    {.key = "clipboard", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = API_ENUM("vnc")},
    {.key = "memory",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 4,
     .has_max = true,
     .max = 512},
    {.key = "type",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .default_key = true,
     .enum_values = API_ENUM(
         "cirrus",
         "qxl",
         "qxl2",
         "qxl3",
         "qxl4",
         "none",
         "serial0",
         "serial1",
         "serial2",
         "serial3",
         "std",
         "virtio",
         "virtio-gl",
         "vmware"
     )},
};

static const PropertyStringField virtio_fields[] = {
    QEMU_DRIVE_COMMON_FIELDS{.key = "iothread", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "ro", .type = PROPERTY_STRING_TYPE_BOOLEAN},
};

static const PropertyStringField virtiofs_fields[] = {
    {.key = "cache",
     .type = PROPERTY_STRING_TYPE_ENUM,
     .enum_values = API_ENUM("auto", "always", "metadata", "never")},
    {.key = "direct-io", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "dirid", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true},
    {.key = "expose-acl", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "expose-xattr", .type = PROPERTY_STRING_TYPE_BOOLEAN},
};

/* ---- the config key schema ------------------------------------------------------------------ */

/* Repeat a macro M(n) for n = 0 .. count-1 (the expanded keys ide0..ide3, unused0..255, ...). */
#define QEMU_REP10(M, t) \
    M(t##0) M(t##1) M(t##2) M(t##3) M(t##4) M(t##5) M(t##6) M(t##7) M(t##8) M(t##9)
#define QEMU_REP_3(M)  M(0) M(1) M(2)
#define QEMU_REP_4(M)  QEMU_REP_3(M) M(3)
#define QEMU_REP_6(M)  QEMU_REP_4(M) M(4) M(5)
#define QEMU_REP_8(M)  QEMU_REP_6(M) M(6) M(7)
#define QEMU_REP_10(M) QEMU_REP10(M, )
#define QEMU_REP_14(M) QEMU_REP10(M, ) M(10) M(11) M(12) M(13)
#define QEMU_REP_16(M) QEMU_REP_14(M) M(14) M(15)
#define QEMU_REP_31(M) QEMU_REP10(M, ) QEMU_REP10(M, 1) QEMU_REP10(M, 2) M(30)
#define QEMU_REP_32(M) QEMU_REP_31(M) M(31)
/* clang-format does not settle on one layout for this one */
/* clang-format off */
#define QEMU_REP_256(M) \
    QEMU_REP10(M, ) QEMU_REP10(M, 1) QEMU_REP10(M, 2) QEMU_REP10(M, 3) QEMU_REP10(M, 4) \
    QEMU_REP10(M, 5) QEMU_REP10(M, 6) QEMU_REP10(M, 7) QEMU_REP10(M, 8) QEMU_REP10(M, 9) \
    QEMU_REP10(M, 10) QEMU_REP10(M, 11) QEMU_REP10(M, 12) QEMU_REP10(M, 13) QEMU_REP10(M, 14) \
    QEMU_REP10(M, 15) QEMU_REP10(M, 16) QEMU_REP10(M, 17) QEMU_REP10(M, 18) QEMU_REP10(M, 19) \
    QEMU_REP10(M, 20) QEMU_REP10(M, 21) QEMU_REP10(M, 22) QEMU_REP10(M, 23) QEMU_REP10(M, 24) \
    M(250) M(251) M(252) M(253) M(254) M(255)
/* clang-format on */

/* Config keys without the create-only parameters (archive, storage, pool, start, ...). */
#define QEMU_P_HOSTPCI(n)                                                                         \
    API_PARAM_STRING(                                                                             \
        "hostpci" #n, .optional = true, .format = "pve-qm-hostpci",                               \
        .typetext =                                                                               \
            "[[host=]<HOSTPCIID[;HOSTPCIID2...]>] [,device-id=<hex id>] [,driver=<vfio|keep>] "   \
            "[,legacy-igd=<1|0>] [,mapping=<mapping-id>] [,mdev=<string>] [,pcie=<1|0>] "         \
            "[,rombar=<1|0>] [,romfile=<string>] [,sub-device-id=<hex id>] [,sub-vendor-id=<hex " \
            "id>] [,vendor-id=<hex id>] [,x-vga=<1|0>]"                                           \
    ),
#define QEMU_P_IDE(n)                                                                              \
    API_PARAM_STRING(                                                                              \
        "ide" #n, .optional = true, API_FORMAT_FIELDS(ide_fields),                                 \
        .typetext =                                                                                \
            "[file=]<volume> [,aio=<native|threads|io_uring>] [,backup=<1|0>] [,bps=<bps>] "       \
            "[,bps_max_length=<seconds>] [,bps_rd=<bps>] [,bps_rd_max_length=<seconds>] "          \
            "[,bps_wr=<bps>] [,bps_wr_max_length=<seconds>] [,cache=<enum>] "                      \
            "[,detect_zeroes=<1|0>] [,discard=<ignore|on>] [,format=<enum>] "                      \
            "[,import-from=<source volume>] [,iops=<iops>] [,iops_max=<iops>] "                    \
            "[,iops_max_length=<seconds>] [,iops_rd=<iops>] [,iops_rd_max=<iops>] "                \
            "[,iops_rd_max_length=<seconds>] [,iops_wr=<iops>] [,iops_wr_max=<iops>] "             \
            "[,iops_wr_max_length=<seconds>] [,mbps=<mbps>] [,mbps_max=<mbps>] [,mbps_rd=<mbps>] " \
            "[,mbps_rd_max=<mbps>] [,mbps_wr=<mbps>] [,mbps_wr_max=<mbps>] [,media=<cdrom|disk>] " \
            "[,model=<model>] [,replicate=<1|0>] [,rerror=<ignore|report|stop>] "                  \
            "[,serial=<serial>] [,shared=<1|0>] [,size=<DiskSize>] [,snapshot=<1|0>] "             \
            "[,ssd=<1|0>] [,werror=<enum>] [,wwn=<wwn>]"                                           \
    ),
#define QEMU_P_IPCONFIG(n)                                                     \
    API_PARAM_STRING(                                                          \
        "ipconfig" #n, .optional = true, .format = "pve-qm-ipconfig",          \
        .typetext =                                                            \
            "[gw=<GatewayIPv4>] [,gw6=<GatewayIPv6>] [,ip=<IPv4Format/CIDR>] " \
            "[,ip6=<IPv6Format/CIDR>]"                                         \
    ),
#define QEMU_P_NET(n)                                                                 \
    API_PARAM_STRING(                                                                 \
        "net" #n, .optional = true, API_FORMAT_FIELDS(net_fields),                    \
        .typetext =                                                                   \
            "[model=]<enum> [,bridge=<bridge>] [,firewall=<1|0>] [,link_down=<1|0>] " \
            "[,macaddr=<XX:XX:XX:XX:XX:XX>] [,mtu=<integer>] [,queues=<integer>] "    \
            "[,rate=<number>] [,tag=<integer>] [,trunks=<vlanid[;vlanid...]>] "       \
            "[,<model>=<macaddr>]"                                                    \
    ),
#define QEMU_P_NUMA(n)                                                          \
    API_PARAM_STRING(                                                           \
        "numa" #n, .optional = true, API_FORMAT_FIELDS(numa_fields),            \
        .typetext =                                                             \
            "cpus=<id[-id];...> [,hostnodes=<id[-id];...>] [,memory=<number>] " \
            "[,policy=<preferred|bind|interleave>]"                             \
    ),
#define QEMU_P_PARALLEL(n)                                                             \
    API_PARAM_STRING(                                                                  \
        "parallel" #n, .optional = true, .pattern = "/dev/parport\\d+|/dev/usb/lp\\d+" \
    ),
#define QEMU_P_SATA(n)                                                                             \
    API_PARAM_STRING(                                                                              \
        "sata" #n, .optional = true, API_FORMAT_FIELDS(sata_fields),                               \
        .typetext =                                                                                \
            "[file=]<volume> [,aio=<native|threads|io_uring>] [,backup=<1|0>] [,bps=<bps>] "       \
            "[,bps_max_length=<seconds>] [,bps_rd=<bps>] [,bps_rd_max_length=<seconds>] "          \
            "[,bps_wr=<bps>] [,bps_wr_max_length=<seconds>] [,cache=<enum>] "                      \
            "[,detect_zeroes=<1|0>] [,discard=<ignore|on>] [,format=<enum>] "                      \
            "[,import-from=<source volume>] [,iops=<iops>] [,iops_max=<iops>] "                    \
            "[,iops_max_length=<seconds>] [,iops_rd=<iops>] [,iops_rd_max=<iops>] "                \
            "[,iops_rd_max_length=<seconds>] [,iops_wr=<iops>] [,iops_wr_max=<iops>] "             \
            "[,iops_wr_max_length=<seconds>] [,mbps=<mbps>] [,mbps_max=<mbps>] [,mbps_rd=<mbps>] " \
            "[,mbps_rd_max=<mbps>] [,mbps_wr=<mbps>] [,mbps_wr_max=<mbps>] [,media=<cdrom|disk>] " \
            "[,replicate=<1|0>] [,rerror=<ignore|report|stop>] [,serial=<serial>] "                \
            "[,shared=<1|0>] [,size=<DiskSize>] [,snapshot=<1|0>] [,ssd=<1|0>] [,werror=<enum>] "  \
            "[,wwn=<wwn>]"                                                                         \
    ),
#define QEMU_P_SCSI(n)                                                                             \
    API_PARAM_STRING(                                                                              \
        "scsi" #n, .optional = true, API_FORMAT_FIELDS(scsi_fields),                               \
        .typetext =                                                                                \
            "[file=]<volume> [,aio=<native|threads|io_uring>] [,backup=<1|0>] [,bps=<bps>] "       \
            "[,bps_max_length=<seconds>] [,bps_rd=<bps>] [,bps_rd_max_length=<seconds>] "          \
            "[,bps_wr=<bps>] [,bps_wr_max_length=<seconds>] [,cache=<enum>] "                      \
            "[,detect_zeroes=<1|0>] [,discard=<ignore|on>] [,format=<enum>] "                      \
            "[,import-from=<source volume>] [,iops=<iops>] [,iops_max=<iops>] "                    \
            "[,iops_max_length=<seconds>] [,iops_rd=<iops>] [,iops_rd_max=<iops>] "                \
            "[,iops_rd_max_length=<seconds>] [,iops_wr=<iops>] [,iops_wr_max=<iops>] "             \
            "[,iops_wr_max_length=<seconds>] [,iothread=<1|0>] [,mbps=<mbps>] [,mbps_max=<mbps>] " \
            "[,mbps_rd=<mbps>] [,mbps_rd_max=<mbps>] [,mbps_wr=<mbps>] [,mbps_wr_max=<mbps>] "     \
            "[,media=<cdrom|disk>] [,product=<product>] [,queues=<integer>] [,replicate=<1|0>] "   \
            "[,rerror=<ignore|report|stop>] [,ro=<1|0>] [,scsiblock=<1|0>] [,serial=<serial>] "    \
            "[,shared=<1|0>] [,size=<DiskSize>] [,snapshot=<1|0>] [,ssd=<1|0>] "                   \
            "[,vendor=<vendor>] [,werror=<enum>] [,wwn=<wwn>]"                                     \
    ),
#define QEMU_P_SERIAL(n) \
    API_PARAM_STRING("serial" #n, .optional = true, .pattern = "(/dev/.+|socket)"),
#define QEMU_P_UNUSED(n)                                                 \
    API_PARAM_STRING(                                                    \
        "unused" #n, .optional = true, API_FORMAT_FIELDS(unused_fields), \
        .typetext = "[file=]<volume>"                                    \
    ),
#define QEMU_P_USB(n)                                                                      \
    API_PARAM_STRING(                                                                      \
        "usb" #n, .optional = true, API_FORMAT_FIELDS(usb_fields),                         \
        .typetext = "[[host=]<HOSTUSBDEVICE|spice>] [,mapping=<mapping-id>] [,usb3=<1|0>]" \
    ),
#define QEMU_P_VIRTIO(n)                                                                           \
    API_PARAM_STRING(                                                                              \
        "virtio" #n, .optional = true, API_FORMAT_FIELDS(virtio_fields),                           \
        .typetext =                                                                                \
            "[file=]<volume> [,aio=<native|threads|io_uring>] [,backup=<1|0>] [,bps=<bps>] "       \
            "[,bps_max_length=<seconds>] [,bps_rd=<bps>] [,bps_rd_max_length=<seconds>] "          \
            "[,bps_wr=<bps>] [,bps_wr_max_length=<seconds>] [,cache=<enum>] "                      \
            "[,detect_zeroes=<1|0>] [,discard=<ignore|on>] [,format=<enum>] "                      \
            "[,import-from=<source volume>] [,iops=<iops>] [,iops_max=<iops>] "                    \
            "[,iops_max_length=<seconds>] [,iops_rd=<iops>] [,iops_rd_max=<iops>] "                \
            "[,iops_rd_max_length=<seconds>] [,iops_wr=<iops>] [,iops_wr_max=<iops>] "             \
            "[,iops_wr_max_length=<seconds>] [,iothread=<1|0>] [,mbps=<mbps>] [,mbps_max=<mbps>] " \
            "[,mbps_rd=<mbps>] [,mbps_rd_max=<mbps>] [,mbps_wr=<mbps>] [,mbps_wr_max=<mbps>] "     \
            "[,media=<cdrom|disk>] [,replicate=<1|0>] [,rerror=<ignore|report|stop>] [,ro=<1|0>] " \
            "[,serial=<serial>] [,shared=<1|0>] [,size=<DiskSize>] [,snapshot=<1|0>] "             \
            "[,werror=<enum>]"                                                                     \
    ),
#define QEMU_P_VIRTIOFS(n)                                                                 \
    API_PARAM_STRING(                                                                      \
        "virtiofs" #n, .optional = true, API_FORMAT_FIELDS(virtiofs_fields),               \
        .typetext =                                                                        \
            "[dirid=]<mapping-id> [,cache=<enum>] [,direct-io=<1|0>] [,expose-acl=<1|0>] " \
            "[,expose-xattr=<1|0>]"                                                        \
    ),

const ApiSchema qemu_config_properties[] = {
    API_PARAM_BOOL("acpi", .optional = true, API_DEFAULT_INT(1)),
    API_PARAM_STRING("affinity", .optional = true, .format = "pve-cpuset", .typetext = "<string>"),
    API_PARAM_STRING(
        "agent",
        .optional = true,
        API_FORMAT_FIELDS(agent_fields),
        .typetext =
            "[enabled=]<1|0> [,freeze-fs=<1|0>] [,fstrim_cloned_disks=<1|0>] [,type=<virtio|isa>]"
    ),
    API_PARAM_BOOL("allow-ksm", .optional = true, API_DEFAULT_INT(1)),
    API_PARAM_STRING(
        "amd-sev",
        .optional = true,
        .format = "pve-qemu-sev-fmt",
        .typetext = "[type=]<sev-type> [,allow-smt=<1|0>] [,kernel-hashes=<1|0>] [,no-debug=<1|0>] "
                    "[,no-key-sharing=<1|0>]"
    ),
    API_PARAM_STRING("arch", .optional = true, .enum_values = API_ENUM("x86_64", "aarch64")),
    API_PARAM_STRING("args", .optional = true, .typetext = "<string>"),
    API_PARAM_STRING(
        "audio0",
        .optional = true,
        API_FORMAT_FIELDS(audio0_fields),
        .typetext = "device=<ich9-intel-hda|intel-hda|AC97> [,driver=<spice|none>]"
    ),
    API_PARAM_BOOL("autostart", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_INTEGER("balloon", .optional = true, API_MIN(0), .typetext = "<integer> (0 - N)"),
    API_PARAM_STRING(
        "bios",
        .optional = true,
        API_DEFAULT_STR("seabios"),
        .enum_values = API_ENUM("seabios", "ovmf")
    ),
    API_PARAM_STRING(
        "boot",
        .optional = true,
        .format = "pve-qm-boot",
        .typetext = "[[legacy=]<[acdn]{1,4}>] [,order=<device[;device...]>]"
    ),
    API_PARAM_STRING(
        "bootdisk",
        .optional = true,
        .pattern = "(ide|sata|scsi|virtio)\\d+",
        .format = "pve-qm-bootdisk"
    ),
    API_PARAM_STRING("cdrom", .optional = true, .format = "pve-qm-ide", .typetext = "<volume>"),
    API_PARAM_STRING(
        "cicustom",
        .optional = true,
        .format = "pve-qm-cicustom",
        .typetext = "[meta=<volume>] [,network=<volume>] [,user=<volume>] [,vendor=<volume>]"
    ),
    API_PARAM_STRING("cipassword", .optional = true, .typetext = "<string>"),
    API_PARAM_STRING(
        "citype", .optional = true, .enum_values = API_ENUM("configdrive2", "nocloud", "opennebula")
    ),
    API_PARAM_BOOL("ciupgrade", .optional = true, API_DEFAULT_INT(1)),
    API_PARAM_STRING("ciuser", .optional = true, .typetext = "<string>"),
    API_PARAM_INTEGER(
        "cores", .optional = true, API_DEFAULT_INT(1), API_MIN(1), .typetext = "<integer> (1 - N)"
    ),
    API_PARAM_STRING(
        "cpu",
        .optional = true,
        .format = "pve-vm-cpu-conf",
        .typetext = "[[cputype=]<string>] [,flags=<+FLAG[;-FLAG...]>] [,guest-phys-bits=<integer>] "
                    "[,hidden=<1|0>] [,hv-vendor-id=<vendor-id>] [,phys-bits=<8-64|host>] "
                    "[,reported-model=<enum>]"
    ),
    API_PARAM_NUMBER(
        "cpulimit",
        .optional = true,
        API_DEFAULT_INT(0),
        API_MIN(0),
        API_MAX(128),
        .typetext = "<number> (0 - 128)"
    ),
    API_PARAM_INTEGER(
        "cpuunits",
        .optional = true,
        API_MIN(1),
        API_MAX(262144),
        .typetext = "<integer> (1 - 262144)"
    ),
    API_PARAM_STRING("description", .optional = true, .max_length = 8192, .typetext = "<string>"),
    API_PARAM_STRING(
        "efidisk0",
        .optional = true,
        API_FORMAT_FIELDS(efidisk0_fields),
        .typetext = "[file=]<volume> [,efitype=<2m|4m>] [,format=<enum>] [,import-from=<source "
                    "volume>] [,ms-cert=<enum>] [,pre-enrolled-keys=<1|0>] [,size=<DiskSize>]"
    ),
    API_PARAM_BOOL("freeze", .optional = true),
    API_PARAM_STRING(
        "hookscript", .optional = true, .format = "pve-volume-id", .typetext = "<string>"
    ),
    QEMU_REP_16(QEMU_P_HOSTPCI) API_PARAM_STRING(
        "hotplug",
        .optional = true,
        API_DEFAULT_STR("network,disk,usb"),
        .format = "pve-hotplug-features",
        .typetext = "<string>"
    ),
    API_PARAM_STRING("hugepages", .optional = true, .enum_values = API_ENUM("any", "2", "1024")),
    QEMU_REP_4(QEMU_P_IDE) API_PARAM_STRING(
        "intel-tdx",
        .optional = true,
        .format = "pve-qemu-tdx-fmt",
        .typetext =
            "[type=]<tdx-type> ,attestation=<1|0> [,vsock-cid=<integer>] [,vsock-port=<integer>]"
    ),
    QEMU_REP_32(QEMU_P_IPCONFIG) API_PARAM_STRING(
        "ivshmem",
        .optional = true,
        API_FORMAT_FIELDS(ivshmem_fields),
        .typetext = "size=<integer> [,name=<string>]"
    ),
    API_PARAM_BOOL("keephugepages", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_STRING("keyboard", .optional = true, .enum_values = API_ENUM(PVE_KEYBOARD_LAYOUTS)),
    API_PARAM_BOOL("kvm", .optional = true, API_DEFAULT_INT(1)),
    API_PARAM_BOOL("localtime", .optional = true),
    API_PARAM_STRING(
        "lock",
        .optional = true,
        .enum_values = API_ENUM(
            "backup",
            "clone",
            "create",
            "migrate",
            "rollback",
            "snapshot",
            "snapshot-delete",
            "suspending",
            "suspended"
        )
    ),
    API_PARAM_STRING(
        "machine",
        .optional = true,
        API_FORMAT_FIELDS(machine_fields),
        .typetext = "[[type=]<machine type>] [,aw-bits=<number>] [,enable-s3=<1|0>] "
                    "[,enable-s4=<1|0>] [,viommu=<intel|virtio>]"
    ),
    API_PARAM_STRING(
        "memory",
        .optional = true,
        API_FORMAT_FIELDS(memory_fields),
        .typetext = "[current=]<integer>"
    ),
    API_PARAM_NUMBER(
        "migrate_downtime",
        .optional = true,
        API_DEFAULT_INT(0.1),
        API_MIN(0),
        .typetext = "<number> (0 - N)"
    ),
    API_PARAM_INTEGER(
        "migrate_speed",
        .optional = true,
        API_DEFAULT_INT(0),
        API_MIN(0),
        .typetext = "<integer> (0 - N)"
    ),
    API_PARAM_STRING("name", .optional = true, .format = "dns-name", .typetext = "<string>"),
    API_PARAM_STRING(
        "nameserver", .optional = true, .format = "address-list", .typetext = "<string>"
    ),
    QEMU_REP_32(QEMU_P_NET) API_PARAM_BOOL("numa", .optional = true, API_DEFAULT_INT(0)),
    QEMU_REP_8(QEMU_P_NUMA) API_PARAM_BOOL("onboot", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_STRING(
        "ostype",
        .optional = true,
        API_DEFAULT_STR("other"),
        .enum_values = API_ENUM(
            "other",
            "wxp",
            "w2k",
            "w2k3",
            "w2k8",
            "wvista",
            "win7",
            "win8",
            "win10",
            "win11",
            "l24",
            "l26",
            "solaris"
        )
    ),
    QEMU_REP_3(QEMU_P_PARALLEL) API_PARAM_BOOL("protection", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_BOOL("reboot", .optional = true, API_DEFAULT_INT(1)),
    API_PARAM_STRING(
        "rng0",
        .optional = true,
        .format = "pve-qm-rng",
        .typetext = "[source=]</dev/urandom|/dev/random|/dev/hwrng> [,max_bytes=<integer>] "
                    "[,period=<integer>]"
    ),
    QEMU_REP_6(QEMU_P_SATA) QEMU_REP_31(QEMU_P_SCSI) API_PARAM_STRING(
        "scsihw",
        .optional = true,
        API_DEFAULT_STR("lsi"),
        .enum_values = API_ENUM(
            "lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"
        )
    ),
    API_PARAM_STRING("searchdomain", .optional = true, .typetext = "<string>"),
    QEMU_REP_4(QEMU_P_SERIAL) API_PARAM_INTEGER(
        "shares",
        .optional = true,
        API_DEFAULT_INT(1000),
        API_MIN(0),
        API_MAX(50000),
        .typetext = "<integer> (0 - 50000)"
    ),
    API_PARAM_STRING(
        "smbios1",
        .optional = true,
        .max_length = 512,
        .format = "pve-qm-smbios1",
        .typetext =
            "[base64=<1|0>] [,family=<Base64 encoded string>] [,manufacturer=<Base64 encoded "
            "string>] [,product=<Base64 encoded string>] [,serial=<Base64 encoded string>] "
            "[,sku=<Base64 encoded string>] [,uuid=<UUID>] [,version=<Base64 encoded string>]"
    ),
    API_PARAM_INTEGER(
        "smp", .optional = true, API_DEFAULT_INT(1), API_MIN(1), .typetext = "<integer> (1 - N)"
    ),
    API_PARAM_INTEGER(
        "sockets", .optional = true, API_DEFAULT_INT(1), API_MIN(1), .typetext = "<integer> (1 - N)"
    ),
    API_PARAM_STRING(
        "spice_enhancements",
        .optional = true,
        API_FORMAT_FIELDS(spice_enhancements_fields),
        .typetext = "[foldersharing=<1|0>] [,videostreaming=<off|all|filter>]"
    ),
    API_PARAM_STRING("sshkeys", .optional = true, .format = "urlencoded", .typetext = "<string>"),
    API_PARAM_STRING(
        "startdate",
        .optional = true,
        API_DEFAULT_STR("now"),
        .pattern = "(now|\\d{4}-\\d{1,2}-\\d{1,2}(T\\d{1,2}:\\d{1,2}:\\d{1,2})?)",
        .typetext = "(now | YYYY-MM-DD | YYYY-MM-DDTHH:MM:SS)"
    ),
    API_PARAM_STRING(
        "startup",
        .optional = true,
        .format = "pve-startup-order",
        .typetext = "[[order=]\\d+] [,up=\\d+] [,down=\\d+] "
    ),
    API_PARAM_BOOL("tablet", .optional = true, API_DEFAULT_INT(1)),
    API_PARAM_STRING("tags", .optional = true, .format = "pve-tag-list", .typetext = "<string>"),
    API_PARAM_BOOL("tdf", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_BOOL("template", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_STRING(
        "tpmstate0",
        .optional = true,
        API_FORMAT_FIELDS(tpmstate0_fields),
        .typetext = "[file=]<volume> [,format=<raw|qcow2|vmdk>] [,import-from=<source volume>] "
                    "[,size=<DiskSize>] [,version=<v1.2|v2.0>]"
    ),
    QEMU_REP_256(QEMU_P_UNUSED) QEMU_REP_14(QEMU_P_USB) API_PARAM_INTEGER(
        "vcpus", .optional = true, API_DEFAULT_INT(0), API_MIN(1), .typetext = "<integer> (1 - N)"
    ),
    API_PARAM_STRING(
        "vga",
        .optional = true,
        API_FORMAT_FIELDS(vga_fields),
        .typetext = "[[type=]<enum>] [,clipboard=<vnc>] [,memory=<integer>]"
    ),
    QEMU_REP_16(QEMU_P_VIRTIO) QEMU_REP_10(QEMU_P_VIRTIOFS) API_PARAM_STRING(
        "vmgenid",
        .optional = true,
        API_DEFAULT_STR("1 (autogenerated)"),
        .pattern = "(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])"
    ),
    API_PARAM_STRING(
        "vmstatestorage", .optional = true, .format = "pve-storage-id", .typetext = "<storage ID>"
    ),
    API_PARAM_STRING(
        "watchdog",
        .optional = true,
        .format = "pve-qm-watchdog",
        .typetext = "[[model=]<i6300esb|ib700>] [,action=<enum>]"
    ),
    {.name = NULL},
};

const ApiSchema *qemu_config_property(const char *key) {
    if (!key)
        return NULL;
    for (const ApiSchema *p = qemu_config_properties; p->name; p++)
        if (streq(p->name, key))
            return p;
    return NULL;
}

/* ---- keys ------------------------------------------------------------------------------------ */

typedef struct IndexedKey {
    const char *prefix;
    unsigned count;
} IndexedKey;

static const IndexedKey drive_keys[] = {
    {"ide", QEMU_MAX_IDE},       {"sata", QEMU_MAX_SATA}, {"scsi", QEMU_MAX_SCSI},
    {"virtio", QEMU_MAX_VIRTIO}, {"efidisk", 1},          {"tpmstate", 1},
};

/* "<prefix><index>" with a canonical decimal index below count */
static bool indexed_key_match(const char *key, const char *prefix, unsigned count, unsigned *ret) {
    const char *p = startswith(key, prefix);
    if (!p || !isdigit((unsigned char) *p) || (p[0] == '0' && p[1]))
        return false;
    unsigned long v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char) *p) || v > 1000)
            return false;
        v = v * 10 + (unsigned) (*p - '0');
    }
    if (v >= count)
        return false;
    if (ret)
        *ret = (unsigned) v;
    return true;
}

int qemu_drive_key_split(const char *key, const char **ret_interface, unsigned *ret_index) {
    if (!key)
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(drive_keys); i++)
        if (indexed_key_match(key, drive_keys[i].prefix, drive_keys[i].count, ret_index)) {
            if (ret_interface)
                *ret_interface = drive_keys[i].prefix;
            return 0;
        }
    return -EINVAL;
}

bool qemu_is_drive_key(const char *key) {
    return qemu_drive_key_split(key, NULL, NULL) == 0;
}

bool qemu_is_net_key(const char *key) {
    return key && indexed_key_match(key, "net", QEMU_MAX_NETS, NULL);
}

bool qemu_is_unused_key(const char *key) {
    return key && indexed_key_match(key, "unused", QEMU_MAX_UNUSED, NULL);
}

const PropertyStringField *qemu_format_fields(const char *what, size_t *ret_n) {
#define FIELDS(name, table)         \
    if (streq(what, name)) {        \
        *ret_n = ELEMENTSOF(table); \
        return table;               \
    }
    assert(ret_n);
    if (!what)
        return NULL;
    FIELDS("ide", ide_fields);
    FIELDS("sata", sata_fields);
    FIELDS("scsi", scsi_fields);
    FIELDS("virtio", virtio_fields);
    FIELDS("efidisk", efidisk0_fields);
    FIELDS("tpmstate", tpmstate0_fields);
    FIELDS("unused", unused_fields);
    FIELDS("net", net_fields);
#undef FIELDS
    return NULL;
}

/* ---- small checks ------------------------------------------------------------------------------
 */

static bool chars_in(const char *s, const char *extra) {
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && !strchr(extra, *s))
            return false;
    return true;
}

/* upstream's volume id: <storage>:<volname>, storage [a-z][a-z0-9._-]*[a-z0-9] */
static bool is_volume_id(const char *s) {
    const char *colon = strchr(s, ':');
    if (!colon || colon - s < 2 || !colon[1] || !islower((unsigned char) s[0]))
        return false;
    for (const char *p = s + 1; p < colon; p++)
        if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && !strchr("-_.", *p))
            return false;
    char last = colon[-1];
    return islower((unsigned char) last) || isdigit((unsigned char) last);
}

/* a decimal "\d+(\.\d+)?" */
static bool is_decimal(const char *s) {
    if (!isdigit((unsigned char) *s))
        return false;
    while (isdigit((unsigned char) *s))
        s++;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char) *s))
            return false;
        while (isdigit((unsigned char) *s))
            s++;
    }
    return *s == 0;
}

/* a new volume: "[<storage>:]<size in GiB>" (storage without '/', ':' and blanks) */
static bool parse_alloc(const char *s, char **ret_storage, double *ret_gib) {
    const char *colon = strrchr(s, ':');
    const char *size = colon ? colon + 1 : s;
    if (!is_decimal(size))
        return false;
    if (colon) {
        if (colon == s)
            return false;
        for (const char *p = s; p < colon; p++)
            if (*p == '/' || *p == ':' || isspace((unsigned char) *p))
                return false;
        *ret_storage = strndup(s, (size_t) (colon - s));
    } else
        *ret_storage = NULL;
    *ret_gib = strtod(size, NULL);
    return true;
}

/* "disk-size": \d+(\.\d+)?[KMGT]? (no unit = bytes) */
static int parse_disk_size(const char *s, uint64_t *ret) {
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return -EINVAL;
    char buf[33];
    memcpy(buf, s, n + 1);
    double mult = 1;
    const char *units = "KMGT";
    const char *u = strchr(units, buf[n - 1]);
    if (u && buf[n - 1]) {
        mult = ldexp(1.0, 10 * (int) (u - units + 1));
        buf[n - 1] = 0;
    }
    if (!is_decimal(buf))
        return -EINVAL;
    double v = strtod(buf, NULL) * mult;
    if (!(v < 18446744073709551615.0))
        return -ERANGE;
    *ret = (uint64_t) v;
    return 0;
}

static bool is_urlencoded(const char *s) {
    return chars_in(s, "-%_.!~*'()");
}

/* [A-Za-z0-9\-_\s]{,max} */
static bool is_scsi_ident(const char *s, size_t max) {
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char) *p) && !strchr("-_ \t\n\r\f\v", *p))
            return false;
    return strlen(s) <= max;
}

/* ^(0x)[0-9a-fA-F]{16} */
static bool is_wwn(const char *s) {
    if (!startswith(s, "0x"))
        return false;
    for (int i = 2; i < 18; i++)
        if (!isxdigit((unsigned char) s[i]))
            return false;
    return true;
}

/* \d+(?:-\d+)?(?:;\d+(?:-\d+)?)* */
static bool is_id_ranges(const char *s) {
    for (;;) {
        if (!isdigit((unsigned char) *s))
            return false;
        while (isdigit((unsigned char) *s))
            s++;
        if (*s == '-') {
            s++;
            if (!isdigit((unsigned char) *s))
                return false;
            while (isdigit((unsigned char) *s))
                s++;
        }
        if (*s == 0)
            return true;
        if (*s++ != ';')
            return false;
    }
}

bool qemu_mac_is_valid(const char *mac) {
    if (!mac || strlen(mac) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (mac[i] != ':')
                return false;
        } else if (!isxdigit((unsigned char) mac[i]))
            return false;
    }
    /* unicast: the lowest bit of the first octet is clear */
    int d =
        isdigit((unsigned char) mac[1]) ? mac[1] - '0' : tolower((unsigned char) mac[1]) - 'a' + 10;
    return (d & 1) == 0;
}

void qemu_generate_mac(char ret[static 18]) {
    uint8_t b[3];
    if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b) {
        /* getrandom() on Linux >= 3.17 does not fail for 3 bytes; keep a value anyway */
        unsigned long x = (unsigned long) random();
        b[0] = (uint8_t) x, b[1] = (uint8_t) (x >> 8), b[2] = (uint8_t) (x >> 16);
    }
    snprintf(ret, 18, "BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2]);
}

/* ---- drives ------------------------------------------------------------------------------------
 */

QemuDrive *qemu_drive_free(QemuDrive *d) {
    if (!d)
        return NULL;
    free(d->key);
    free(d->interface);
    free(d->file);
    free(d->media);
    free(d->format);
    free(d->alloc_storage);
    property_string_free(d->props);
    free(d);
    return NULL;
}

const char *qemu_drive_get(const QemuDrive *d, const char *option) {
    return d && d->props ? property_string_get(d->props, option) : NULL;
}

bool qemu_drive_get_bool(const QemuDrive *d, const char *option, bool def) {
    bool b;
    return d && d->props && property_string_get_bool(d->props, option, &b) == 0 ? b : def;
}

int qemu_drive_print(const QemuDrive *d, char **ret) {
    assert(d && d->props);
    return property_string_print(d->props, ret);
}

/* The value of a key or of its alias (file/volume, bps_rd_length/bps_rd_max_length, ...). */
static const char *get_with_alias(
    const PropertyString *ps, const PropertyStringField *fields, size_t n, const char *key
) {
    const char *v = property_string_get(ps, key);
    for (size_t i = 0; !v && i < n; i++)
        if (fields[i].alias && streq(fields[i].alias, key))
            v = property_string_get(ps, fields[i].key);
    return v;
}

/* Checks the property-string field layer cannot express (formats and patterns). */
static int drive_check_strings(const char *key, const PropertyString *ps, char **reterr) {
    const char *v;
    if ((v = property_string_get(ps, "size"))) {
        uint64_t sz;
        if (parse_disk_size(v, &sz) < 0)
            return set_error_message(
                reterr, -EINVAL,
                "format error\n%s.size: invalid format - value '%s' is not a valid disk size", key,
                v
            );
    }
    const char *const urlenc[] = {"serial", "model"};
    for (size_t i = 0; i < ELEMENTSOF(urlenc); i++)
        if ((v = property_string_get(ps, urlenc[i])) && !is_urlencoded(v))
            return set_error_message(
                reterr, -EINVAL,
                "format error\n%s.%s: invalid format - invalid urlencoded string: %s", key,
                urlenc[i], v
            );
    if ((v = property_string_get(ps, "wwn")) && !is_wwn(v))
        return set_error_message(
            reterr, -EINVAL, "format error\n%s.wwn: value does not match the regex pattern", key
        );
    if ((v = property_string_get(ps, "product")) && !is_scsi_ident(v, 16))
        return set_error_message(
            reterr, -EINVAL, "format error\n%s.product: value does not match the regex pattern", key
        );
    if ((v = property_string_get(ps, "vendor")) && !is_scsi_ident(v, 8))
        return set_error_message(
            reterr, -EINVAL, "format error\n%s.vendor: value does not match the regex pattern", key
        );
    if ((v = property_string_get(ps, "import-from")) && v[0] != '/' && !is_volume_id(v))
        return set_error_message(
            reterr, -EINVAL,
            "format error\n%s.import-from: invalid format - unable to parse volume ID '%s'", key, v
        );
    return 0;
}

static int drive_fill(QemuDrive *d, const PropertyStringField *fields, size_t n, char **reterr) {
    const char *file = get_with_alias(d->props, fields, n, "file");
    if (!file)
        return set_error_message(
            reterr, -EINVAL, "format error\n%s.file: property is missing and it is not optional",
            d->key
        );
    bool unused = streq(d->interface, "unused");
    if (parse_alloc(file, &d->alloc_storage, &d->alloc_size_gib) && !unused)
        d->is_alloc = true;
    else if (!is_volume_id(file) &&
             (unused || (file[0] != '/' && !streq(file, "none") && !streq(file, "cdrom"))))
        return set_error_message(
            reterr, -EINVAL,
            "format error\n%s.file: invalid format - unable to parse volume ID '%s'", d->key, file
        );
    if (unused)
        d->is_alloc = false;

    const char *media = property_string_get(d->props, "media");
    d->cdrom = media && streq(media, "cdrom");
    const char *format = property_string_get(d->props, "format");
    if (d->cdrom && streq(d->interface, "virtio"))
        return set_error_message(
            reterr, -EINVAL, "%s: virtio drives cannot be CD-ROMs (media=cdrom)", d->key
        );
    if (d->cdrom && d->is_alloc)
        return set_error_message(
            reterr, -EINVAL, "%s: a CD-ROM drive cannot allocate a new volume", d->key
        );
    if (!d->cdrom && !unused && (streq(file, "none") || streq(file, "cdrom")) &&
        !streq(d->interface, "ide") && !streq(d->interface, "sata") && !streq(d->interface, "scsi"))
        return set_error_message(reterr, -EINVAL, "%s: '%s' needs media=cdrom", d->key, file);

    const char *size = property_string_get(d->props, "size");
    if (size)
        (void) parse_disk_size(size, &d->size); /* checked before */

    d->file = strdup(file);
    d->media = strdup(d->cdrom ? "cdrom" : "disk");
    if (format)
        d->format = strdup(format);
    if (!d->file || !d->media || (format && !d->format) ||
        (d->is_alloc && file[0] != ':' && strchr(file, ':') && !d->alloc_storage))
        return -ENOMEM;
    return 0;
}

int qemu_drive_parse(const char *key, const char *value, QemuDrive **ret, char **reterr) {
    const char *interface = NULL;
    unsigned index = 0;
    int r;

    assert(ret);
    if (reterr)
        *reterr = NULL;
    if (!key || !value)
        return set_error_message(reterr, -EINVAL, "missing drive key or value");
    if (qemu_is_unused_key(key))
        interface = "unused", (void) indexed_key_match(key, "unused", QEMU_MAX_UNUSED, &index);
    else if (qemu_drive_key_split(key, &interface, &index) < 0)
        return set_error_message(reterr, -EINVAL, "invalid drive key '%s'", key);

    size_t n = 0;
    const PropertyStringField *fields = qemu_format_fields(interface, &n);
    assert(fields);

    _cleanup_(qemu_drive_freep) QemuDrive *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->index = index;
    d->key = strdup(key);
    d->interface = strdup(interface);
    if (!d->key || !d->interface)
        return -ENOMEM;

    _cleanup_free_ char *msg = NULL;
    r = property_string_parse(value, "file", &d->props, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(
            reterr, r, "format error\n%s: %s", key, msg ? msg : "invalid value"
        );
    r = property_string_validate(d->props, fields, n, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(
            reterr, r, "format error\n%s.%s", key, msg ? msg : "invalid value"
        );
    r = drive_check_strings(key, d->props, reterr);
    if (r < 0)
        return r;
    r = drive_fill(d, fields, n, reterr);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(d);
    return 0;
}

/* ---- network devices ------------------------------------------------------------------------- */

static const char *const net_models[] = {
    "e1000",  "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e",
    "i82551", "i82557b",       "i82559er",      "ne2k_isa",      "ne2k_pci",
    "pcnet",  "rtl8139",       "virtio",        "vmxnet3",       NULL,
};

static bool is_net_model(const char *s) {
    for (size_t i = 0; net_models[i]; i++)
        if (streq(net_models[i], s))
            return true;
    return false;
}

QemuNet *qemu_net_free(QemuNet *n) {
    if (!n)
        return NULL;
    free(n->key);
    free(n->model);
    free(n->macaddr);
    free(n->bridge);
    property_string_free(n->props);
    free(n);
    return NULL;
}

/* pve-bridge-id: [-_.\w\d]+, at most 15 bytes (an interface name) */
static bool is_bridge_id(const char *s) {
    return *s && strlen(s) <= 15 && chars_in(s, "-_.");
}

static int net_fill(QemuNet *n, char **reterr) {
    const PropertyString *ps = n->props;
    const char *model = property_string_get(ps, "model");
    const char *mac = property_string_get(ps, "macaddr");

    for (size_t i = 0; i < ps->n_entries; i++) {
        const char *k = ps->entries[i].key;
        if (!is_net_model(k))
            continue;
        if (model && !streq(model, k))
            return set_error_message(
                reterr, -EINVAL,
                "format error\n%s.model: duplicate key in comma-separated list property: model",
                n->key
            );
        if (mac)
            return set_error_message(
                reterr, -EINVAL,
                "format error\n%s: duplicate key in comma-separated list property: macaddr", n->key
            );
        model = k;
        mac = ps->entries[i].value;
    }
    if (!model)
        return set_error_message(
            reterr, -EINVAL, "format error\n%s.model: property is missing and it is not optional",
            n->key
        );
    if (mac && !qemu_mac_is_valid(mac))
        return set_error_message(
            reterr, -EINVAL,
            "format error\n%s.macaddr: invalid format - value does not look like a valid unicast "
            "MAC "
            "address",
            n->key
        );
    const char *bridge = property_string_get(ps, "bridge");
    if (bridge && !is_bridge_id(bridge))
        return set_error_message(
            reterr, -EINVAL, "format error\n%s.bridge: invalid format - invalid bridge ID '%s'",
            n->key, bridge
        );
    const char *trunks = property_string_get(ps, "trunks");
    if (trunks && !is_id_ranges(trunks))
        return set_error_message(
            reterr, -EINVAL, "format error\n%s.trunks: value does not match the regex pattern",
            n->key
        );

    long long v;
    if (property_string_get_int(ps, "tag", &v) == 0)
        n->tag = (int) v;
    if (property_string_get_int(ps, "mtu", &v) == 0)
        n->mtu = (unsigned) v;
    if (property_string_get_int(ps, "queues", &v) == 0)
        n->queues = (unsigned) v;
    const char *rate = property_string_get(ps, "rate");
    if (rate)
        n->rate = strtod(rate, NULL);
    (void) property_string_get_bool(ps, "firewall", &n->firewall);
    (void) property_string_get_bool(ps, "link_down", &n->link_down);

    n->model = strdup(model);
    if (!n->model)
        return -ENOMEM;
    if (mac) {
        n->macaddr = strdup(mac);
        if (!n->macaddr)
            return -ENOMEM;
        for (char *p = n->macaddr; *p; p++)
            *p = (char) toupper((unsigned char) *p);
    }
    if (bridge && !(n->bridge = strdup(bridge)))
        return -ENOMEM;
    return 0;
}

int qemu_net_parse(const char *key, const char *value, QemuNet **ret, char **reterr) {
    unsigned index = 0;
    int r;

    assert(ret);
    if (reterr)
        *reterr = NULL;
    if (!key || !value || !indexed_key_match(key, "net", QEMU_MAX_NETS, &index))
        return set_error_message(reterr, -EINVAL, "invalid network key '%s'", key ? key : "");

    _cleanup_(qemu_net_freep) QemuNet *n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    n->index = index;
    if (!(n->key = strdup(key)))
        return -ENOMEM;

    _cleanup_free_ char *msg = NULL;
    r = property_string_parse(value, "model", &n->props, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(
            reterr, r, "format error\n%s: %s", key, msg ? msg : "invalid value"
        );
    r = property_string_validate(n->props, net_fields, ELEMENTSOF(net_fields), &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(
            reterr, r, "format error\n%s.%s", key, msg ? msg : "invalid value"
        );
    r = net_fill(n, reterr);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(n);
    return 0;
}

int qemu_net_ensure_mac(QemuNet *n) {
    assert(n);
    if (n->macaddr)
        return 0;
    char mac[18];
    qemu_generate_mac(mac);
    n->macaddr = strdup(mac);
    return n->macaddr ? 0 : -ENOMEM;
}

static int cmp_entry_key(const void *a, const void *b) {
    return strcmp(
        (*(const PropertyStringEntry *const *) a)->key,
        (*(const PropertyStringEntry *const *) b)->key
    );
}

int qemu_net_print(const QemuNet *n, char **ret) {
    assert(n && n->props && ret);
    const PropertyString *ps = n->props;
    _cleanup_free_ const PropertyStringEntry **rest = calloc(ps->n_entries + 1, sizeof *rest);
    if (!rest)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < ps->n_entries; i++) {
        const char *key = ps->entries[i].key;
        if (!streq(key, "model") && !streq(key, "macaddr") && !is_net_model(key))
            rest[k++] = &ps->entries[i];
    }
    qsort(rest, k, sizeof *rest, cmp_entry_key);

    _cleanup_(property_string_freep) PropertyString *out = property_string_new(NULL);
    if (!out)
        return -ENOMEM;
    int r = n->macaddr ? property_string_set(out, n->model, n->macaddr)
                       : property_string_set(out, "model", n->model);
    for (size_t i = 0; r >= 0 && i < k; i++)
        r = property_string_set(out, rest[i]->key, rest[i]->value);
    if (r < 0)
        return r;
    return property_string_print(out, ret);
}
