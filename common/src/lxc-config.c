/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-config: LXC container config keys (API schema, netN and rootfs/mpN parsing) and the
 * generated LXC configuration file. See lxc-config.h.
 */
#include "pve/lxc-config.h"

#include <arpa/inet.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/guest-store.h"
#include "pve/qemu-config.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* "<prefix><n>" with n < max, no leading zeros. */
static bool indexed_key(const char *key, const char *prefix, unsigned max, unsigned *ret) {
    if (!key || !startswith(key, prefix))
        return false;
    const char *d = key + strlen(prefix);
    if (!*d || strlen(d) > 3 || (d[0] == '0' && d[1]))
        return false;
    unsigned v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return false;
        v = v * 10 + (unsigned) (*d - '0');
    }
    if (v >= max)
        return false;
    if (ret)
        *ret = v;
    return true;
}

bool lxc_is_net_key(const char *key) {
    return indexed_key(key, "net", LXC_MAX_NETS, NULL);
}
bool lxc_is_mp_key(const char *key) {
    return indexed_key(key, "mp", LXC_MAX_MOUNTS, NULL);
}
bool lxc_is_unused_key(const char *key) {
    return indexed_key(key, "unused", LXC_MAX_UNUSED, NULL);
}
bool lxc_is_dev_key(const char *key) {
    return indexed_key(key, "dev", LXC_MAX_DEVICES, NULL);
}

/* ---- property-string field tables (from POST /nodes/{node}/lxc in api-schema.json) -------- */

static const PropertyStringField net_fields[] = {
    {.key = "bridge", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "firewall", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "gw", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "gw6", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "host-managed", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "hwaddr", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "ip", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "ip6", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "link_down", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "mtu",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 64,
     .has_max = true,
     .max = 65535},
    {.key = "name", .type = PROPERTY_STRING_TYPE_STRING, .required = true},
    {.key = "rate", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
    {.key = "tag",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4094},
    {.key = "trunks", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "type", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = API_ENUM("veth")},
};

#define LXC_MOUNT_COMMON_FIELDS                                                    \
    {.key = "acl", .type = PROPERTY_STRING_TYPE_BOOLEAN},                          \
        {.key = "mountoptions", .type = PROPERTY_STRING_TYPE_STRING},              \
        {.key = "quota", .type = PROPERTY_STRING_TYPE_BOOLEAN},                    \
        {.key = "replicate", .type = PROPERTY_STRING_TYPE_BOOLEAN},                \
        {.key = "ro", .type = PROPERTY_STRING_TYPE_BOOLEAN},                       \
        {.key = "shared", .type = PROPERTY_STRING_TYPE_BOOLEAN},                   \
        {.key = "size", .type = PROPERTY_STRING_TYPE_STRING}, {                    \
        .key = "volume", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true, \
        .required = true                                                           \
    }

static const PropertyStringField rootfs_fields[] = {LXC_MOUNT_COMMON_FIELDS};

static const PropertyStringField mp_fields[] = {
    {.key = "backup", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "keepattrs", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "mp", .type = PROPERTY_STRING_TYPE_STRING, .required = true},
    LXC_MOUNT_COMMON_FIELDS,
};

static const PropertyStringField features_fields[] = {
    {.key = "force_rw_sys", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "fuse", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "keyctl", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "mknod", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "mount", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "nesting", .type = PROPERTY_STRING_TYPE_BOOLEAN},
};

static const PropertyStringField unused_fields[] = {
    {.key = "volume", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true, .required = true},
};

static const PropertyStringField dev_fields[] = {
    {.key = "deny-write", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "gid", .type = PROPERTY_STRING_TYPE_INTEGER, .has_min = true, .min = 0},
    {.key = "mode", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "path", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true},
    {.key = "uid", .type = PROPERTY_STRING_TYPE_INTEGER, .has_min = true, .min = 0},
};

const PropertyStringField *lxc_format_fields(const char *what, size_t *ret_n) {
    static const struct {
        const char *name;
        const PropertyStringField *fields;
        size_t n;
    } tables[] = {
        {"net", net_fields, ELEMENTSOF(net_fields)},
        {"rootfs", rootfs_fields, ELEMENTSOF(rootfs_fields)},
        {"mp", mp_fields, ELEMENTSOF(mp_fields)},
        {"features", features_fields, ELEMENTSOF(features_fields)},
        {"unused", unused_fields, ELEMENTSOF(unused_fields)},
        {"dev", dev_fields, ELEMENTSOF(dev_fields)},
    };
    for (size_t i = 0; what && i < ELEMENTSOF(tables); i++)
        if (streq(tables[i].name, what)) {
            if (ret_n)
                *ret_n = tables[i].n;
            return tables[i].fields;
        }
    return NULL;
}

/* ---- the API schema of the config keys ------------------------------------------------------- */

/* Repeat M(n) for the indexed keys; clang-format does not settle on one layout for these. */
/* clang-format off */
#define LXC_REP10(M, t) \
    M(t##0) M(t##1) M(t##2) M(t##3) M(t##4) M(t##5) M(t##6) M(t##7) M(t##8) M(t##9)
#define LXC_REP_32(M) LXC_REP10(M, ) LXC_REP10(M, 1) LXC_REP10(M, 2) M(30) M(31)
#define LXC_REP_256(M) \
    LXC_REP10(M, ) LXC_REP10(M, 1) LXC_REP10(M, 2) LXC_REP10(M, 3) LXC_REP10(M, 4) \
    LXC_REP10(M, 5) LXC_REP10(M, 6) LXC_REP10(M, 7) LXC_REP10(M, 8) LXC_REP10(M, 9) \
    LXC_REP10(M, 10) LXC_REP10(M, 11) LXC_REP10(M, 12) LXC_REP10(M, 13) LXC_REP10(M, 14) \
    LXC_REP10(M, 15) LXC_REP10(M, 16) LXC_REP10(M, 17) LXC_REP10(M, 18) LXC_REP10(M, 19) \
    LXC_REP10(M, 20) LXC_REP10(M, 21) LXC_REP10(M, 22) LXC_REP10(M, 23) LXC_REP10(M, 24) \
    M(250) M(251) M(252) M(253) M(254) M(255)
/* clang-format on */

#define LXC_MOUNT_TYPETEXT                                                           \
    "[,acl=<1|0>] [,mountoptions=<opt[;opt...]>] [,quota=<1|0>] [,replicate=<1|0>] " \
    "[,ro=<1|0>] [,shared=<1|0>] [,size=<DiskSize>]"
#define LXC_P_DEV(n)                                                \
    API_PARAM_STRING(                                               \
        "dev" #n, .optional = true, API_FORMAT_FIELDS(dev_fields),  \
        .description = "Device to pass through to the container",   \
        .typetext =                                                 \
            "[[path=]<Path>] [,deny-write=<1|0>] [,gid=<integer>] " \
            "[,mode=<Octal access mode>] [,uid=<integer>]"          \
    ),
#define LXC_P_MP(n)                                                                               \
    API_PARAM_STRING(                                                                             \
        "mp" #n, .optional = true, API_FORMAT_FIELDS(mp_fields),                                  \
        .description =                                                                            \
            "Use volume as container mount point. Use the special syntax "                        \
            "STORAGE_ID:SIZE_IN_GiB to allocate a new volume.",                                   \
        .typetext =                                                                               \
            "[volume=]<volume> ,mp=<Path> [,backup=<1|0>] [,keepattrs=<1|0>] " LXC_MOUNT_TYPETEXT \
    ),
#define LXC_P_NET(n)                                                                  \
    API_PARAM_STRING(                                                                 \
        "net" #n, .optional = true, API_FORMAT_FIELDS(net_fields),                    \
        .description = "Specifies network interfaces for the container.",             \
        .typetext =                                                                   \
            "name=<string> [,bridge=<bridge>] [,firewall=<1|0>] [,gw=<GatewayIPv4>] " \
            "[,gw6=<GatewayIPv6>] [,host-managed=<1|0>] "                             \
            "[,hwaddr=<XX:XX:XX:XX:XX:XX>] [,ip=<(IPv4/CIDR|dhcp|manual)>] "          \
            "[,ip6=<(IPv6/CIDR|auto|dhcp|manual)>] [,link_down=<1|0>] "               \
            "[,mtu=<integer>] [,rate=<mbps>] [,tag=<integer>] "                       \
            "[,trunks=<vlanid[;vlanid...]>] [,type=<veth>]"                           \
    ),
#define LXC_P_UNUSED(n)                                                         \
    API_PARAM_STRING(                                                           \
        "unused" #n, .optional = true, API_FORMAT_FIELDS(unused_fields),        \
        .description =                                                          \
            "Reference to unused volumes. This is used internally, and should " \
            "not be modified manually.",                                        \
        .typetext = "[volume=]<volume>"                                         \
    ),

const ApiSchema lxc_config_properties[] = {
    API_PARAM_STRING(
        "arch",
        .optional = true,
        API_DEFAULT_STR("amd64"),
        .enum_values = API_ENUM("amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"),
        .description = "OS architecture type."
    ),
    API_PARAM_STRING(
        "cmode",
        .optional = true,
        API_DEFAULT_STR("tty"),
        .enum_values = API_ENUM("shell", "console", "tty"),
        .description = "Console mode."
    ),
    API_PARAM_BOOL(
        "console",
        .optional = true,
        API_DEFAULT_INT(1),
        .description = "Attach a console device (/dev/console) to the container."
    ),
    API_PARAM_INTEGER(
        "cores",
        .optional = true,
        API_RANGE(1, 8192),
        .typetext = "<integer> (1 - 8192)",
        .description = "The number of cores assigned to the container."
    ),
    API_PARAM_NUMBER(
        "cpulimit",
        .optional = true,
        API_DEFAULT_INT(0),
        API_RANGE(0, 8192),
        .typetext = "<number> (0 - 8192)",
        .description = "Limit of CPU usage."
    ),
    API_PARAM_INTEGER(
        "cpuunits",
        .optional = true,
        API_RANGE(0, 500000),
        .typetext = "<integer> (0 - 500000)",
        .description = "CPU weight for a container."
    ),
    API_PARAM_BOOL(
        "debug",
        .optional = true,
        API_DEFAULT_INT(0),
        .description = "Try to be more verbose. For now this only enables debug log-level on start."
    ),
    API_PARAM_STRING(
        "description",
        .optional = true,
        .max_length = 8192,
        .description = "Description for the Container."
    ),
    LXC_REP_256(LXC_P_DEV) API_PARAM_STRING(
        "entrypoint",
        .optional = true,
        API_DEFAULT_STR("/sbin/init"),
        .pattern = "[^\\x00-\\x08\\x10-\\x1F\\x7F]+",
        .description = "Command to run as init, optionally with arguments."
    ),
    API_PARAM_STRING(
        "env",
        .optional = true,
        .description = "The container runtime environment as NUL-separated list."
    ),
    API_PARAM_STRING(
        "features",
        .optional = true,
        API_FORMAT_FIELDS(features_fields),
        .typetext = "[force_rw_sys=<1|0>] [,fuse=<1|0>] [,keyctl=<1|0>] [,mknod=<1|0>] "
                    "[,mount=<fstype;fstype;...>] [,nesting=<1|0>]",
        .description = "Allow containers access to advanced features."
    ),
    API_PARAM_STRING(
        "hookscript",
        .optional = true,
        .format = "pve-volume-id",
        .description = "Script that will be executed during various steps in the containers "
                       "lifetime."
    ),
    API_PARAM_STRING(
        "hostname",
        .optional = true,
        .format = "dns-name",
        .max_length = 255,
        .description = "Set a host name for the container."
    ),
    API_PARAM_STRING(
        "lock",
        .optional = true,
        .enum_values = API_ENUM(
            "backup",
            "create",
            "destroyed",
            "disk",
            "fstrim",
            "migrate",
            "mounted",
            "rollback",
            "snapshot",
            "snapshot-delete"
        ),
        .description = "Lock/unlock the container."
    ),
    API_PARAM_INTEGER(
        "memory",
        .optional = true,
        API_DEFAULT_INT(512),
        API_MIN(16),
        .typetext = "<integer> (16 - N)",
        .description = "Amount of RAM for the container in MB."
    ),
    LXC_REP_256(LXC_P_MP) API_PARAM_STRING(
        "nameserver",
        .optional = true,
        .format = "lxc-ip-with-ll-iface-list",
        .description = "Sets DNS server IP address for a container."
    ),
    LXC_REP_32(LXC_P_NET) API_PARAM_BOOL(
        "onboot",
        .optional = true,
        API_DEFAULT_INT(0),
        .description = "Specifies whether a container will be started during system bootup."
    ),
    API_PARAM_STRING(
        "ostype",
        .optional = true,
        .enum_values = API_ENUM(
            "debian",
            "devuan",
            "ubuntu",
            "centos",
            "fedora",
            "opensuse",
            "archlinux",
            "alpine",
            "gentoo",
            "nixos",
            "unmanaged"
        ),
        .description = "OS type."
    ),
    API_PARAM_BOOL(
        "protection",
        .optional = true,
        API_DEFAULT_INT(0),
        .description = "Sets the protection flag of the container."
    ),
    API_PARAM_STRING(
        "rootfs",
        .optional = true,
        API_FORMAT_FIELDS(rootfs_fields),
        .typetext = "[volume=]<volume> " LXC_MOUNT_TYPETEXT,
        .description = "Use volume as container root."
    ),
    API_PARAM_STRING(
        "searchdomain",
        .optional = true,
        .format = "dns-name-list",
        .description = "Sets DNS search domains for a container."
    ),
    API_PARAM_STRING(
        "startup",
        .optional = true,
        .format = "pve-startup-order",
        .typetext = "[[order=]\\d+] [,up=\\d+] [,down=\\d+] ",
        .description = "Startup and shutdown behavior."
    ),
    API_PARAM_INTEGER(
        "swap",
        .optional = true,
        API_DEFAULT_INT(512),
        API_MIN(0),
        .typetext = "<integer> (0 - N)",
        .description = "Amount of SWAP for the container in MB."
    ),
    API_PARAM_STRING(
        "tags", .optional = true, .format = "pve-tag-list", .description = "Tags of the Container."
    ),
    API_PARAM_BOOL(
        "template", .optional = true, API_DEFAULT_INT(0), .description = "Enable/disable Template."
    ),
    API_PARAM_STRING(
        "timezone",
        .optional = true,
        .format = "pve-ct-timezone",
        .description = "Time zone to use in the container."
    ),
    API_PARAM_INTEGER(
        "tty",
        .optional = true,
        API_DEFAULT_INT(2),
        API_RANGE(0, 6),
        .typetext = "<integer> (0 - 6)",
        .description = "Specify the number of tty available to the container"
    ),
    API_PARAM_BOOL(
        "unprivileged",
        .optional = true,
        API_DEFAULT_INT(0),
        .description = "Makes the container run as unprivileged user."
    ),
    LXC_REP_256(LXC_P_UNUSED){.name = NULL},
};

const ApiSchema *lxc_config_property(const char *key) {
    for (size_t i = 0; key && lxc_config_properties[i].name; i++)
        if (streq(lxc_config_properties[i].name, key))
            return &lxc_config_properties[i];
    return NULL;
}

/* ---- netN ------------------------------------------------------------------------------------ */

LxcNet *lxc_net_free(LxcNet *n) {
    if (!n)
        return NULL;
    free(n->key);
    property_string_free(n->props);
    free(n);
    return NULL;
}

/* [-_.\w\d]+ */
static bool ifname_valid(const char *s) {
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char) *s) || strchr("-_.", *s)))
            return false;
    return true;
}

/* "<addr>/<prefix>" of family af. */
static bool cidr_valid(int af, const char *s) {
    const char *slash = strchr(s, '/');
    if (!slash)
        return false;
    char addr[INET6_ADDRSTRLEN + 1];
    size_t len = (size_t) (slash - s);
    if (len == 0 || len >= sizeof addr)
        return false;
    memcpy(addr, s, len);
    addr[len] = 0;
    unsigned char buf[16];
    if (inet_pton(af, addr, buf) != 1)
        return false;
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3)
        return false;
    unsigned v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned) (*p - '0');
    }
    return v <= (af == AF_INET ? 32u : 128u);
}

static bool addr_valid(int af, const char *s) {
    unsigned char buf[16];
    return inet_pton(af, s, buf) == 1;
}

static int net_check(LxcNet *n, char **reterr) {
    const PropertyString *ps = n->props;
    n->name = property_string_get(ps, "name");
    n->bridge = property_string_get(ps, "bridge");
    n->hwaddr = property_string_get(ps, "hwaddr");
    n->ip = property_string_get(ps, "ip");
    n->gw = property_string_get(ps, "gw");
    n->ip6 = property_string_get(ps, "ip6");
    n->gw6 = property_string_get(ps, "gw6");
    if (!ifname_valid(n->name) || strlen(n->name) > 15)
        return set_error_message(
            reterr, -EINVAL, "%s.name: invalid interface name '%s'", n->key, n->name
        );
    if (n->bridge && (!ifname_valid(n->bridge) || strlen(n->bridge) > 15))
        return set_error_message(
            reterr, -EINVAL, "%s.bridge: invalid bridge name '%s'", n->key, n->bridge
        );
    if (n->hwaddr && !qemu_mac_is_valid(n->hwaddr))
        return set_error_message(
            reterr, -EINVAL, "%s.hwaddr: value '%s' does not look like a valid MAC address", n->key,
            n->hwaddr
        );
    if (n->ip && !streq(n->ip, "dhcp") && !streq(n->ip, "manual") && !cidr_valid(AF_INET, n->ip))
        return set_error_message(
            reterr, -EINVAL, "%s.ip: invalid format - invalid IPv4 address/CIDR '%s'", n->key, n->ip
        );
    if (n->ip6 && !streq(n->ip6, "dhcp") && !streq(n->ip6, "manual") && !streq(n->ip6, "auto") &&
        !cidr_valid(AF_INET6, n->ip6))
        return set_error_message(
            reterr, -EINVAL, "%s.ip6: invalid format - invalid IPv6 address/CIDR '%s'", n->key,
            n->ip6
        );
    if (n->gw && !addr_valid(AF_INET, n->gw))
        return set_error_message(
            reterr, -EINVAL,
            "%s.gw: invalid format - value does not look like a valid IPv4 address", n->key
        );
    if (n->gw6 && !addr_valid(AF_INET6, n->gw6))
        return set_error_message(
            reterr, -EINVAL,
            "%s.gw6: invalid format - value does not look like a valid IPv6 address", n->key
        );
    long long v;
    n->tag = property_string_get_int(ps, "tag", &v) >= 0 ? (int) v : 0;
    n->mtu = property_string_get_int(ps, "mtu", &v) >= 0 ? (unsigned) v : 0;
    bool b;
    n->firewall = property_string_get_bool(ps, "firewall", &b) >= 0 && b;
    n->link_down = property_string_get_bool(ps, "link_down", &b) >= 0 && b;
    return 0;
}

int lxc_net_parse(const char *key, const char *value, LxcNet **ret, char **reterr) {
    unsigned index = 0;
    assert(ret);
    if (reterr)
        *reterr = NULL;
    if (!value || !indexed_key(key, "net", LXC_MAX_NETS, &index))
        return set_error_message(reterr, -EINVAL, "invalid network key '%s'", key ?: "");
    _cleanup_(lxc_net_freep) LxcNet *n = calloc(1, sizeof *n);
    if (!n || !(n->key = strdup(key)))
        return -ENOMEM;
    n->index = index;
    _cleanup_free_ char *msg = NULL;
    int r = property_string_parse(value, NULL, &n->props, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(reterr, r, "%s: %s", key, msg ?: "invalid value");
    r = property_string_validate(n->props, net_fields, ELEMENTSOF(net_fields), &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(reterr, r, "%s.%s", key, msg ?: "invalid value");
    if ((r = net_check(n, reterr)) < 0)
        return r;
    *ret = TAKE_PTR(n);
    return 0;
}

int lxc_net_fill_defaults(LxcNet *n) {
    assert(n);
    int r = 0;
    if (!n->hwaddr) {
        char mac[18];
        qemu_generate_mac(mac);
        r = property_string_set(n->props, "hwaddr", mac);
    }
    if (r >= 0 && !property_string_get(n->props, "type"))
        r = property_string_set(n->props, "type", "veth");
    if (r < 0)
        return r;
    /* values are separate allocations that set() does not move; hwaddr is new */
    n->hwaddr = property_string_get(n->props, "hwaddr");
    return 0;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const PropertyStringEntry *) a)->key, ((const PropertyStringEntry *) b)->key);
}

/* Print ps as upstream writes these values: the keys of `first` in that order, then the rest
 * sorted by key. */
static int print_ordered(const PropertyString *ps, const char *const *first, char **ret) {
    _cleanup_(property_string_freep) PropertyString *out = property_string_new(ps->default_key);
    _cleanup_free_ PropertyStringEntry *rest = calloc(ps->n_entries + 1, sizeof *rest);
    if (!out || !rest)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; first[i]; i++) {
        const char *v = property_string_get(ps, first[i]);
        int r = v ? property_string_set(out, first[i], v) : 0;
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < ps->n_entries; i++) {
        bool listed = false;
        for (size_t k = 0; first[k] && !listed; k++)
            listed = streq(first[k], ps->entries[i].key);
        if (!listed)
            rest[n++] = ps->entries[i];
    }
    qsort(rest, n, sizeof *rest, entry_cmp);
    for (size_t i = 0; i < n; i++) {
        int r = property_string_set(out, rest[i].key, rest[i].value);
        if (r < 0)
            return r;
    }
    return property_string_print(out, ret);
}

int lxc_net_print(const LxcNet *n, char **ret) {
    assert(n && ret);
    return print_ordered(n->props, (const char *const[]){"name", NULL}, ret);
}

/* ---- rootfs / mpN ---------------------------------------------------------------------------- */

LxcMount *lxc_mount_free(LxcMount *m) {
    if (!m)
        return NULL;
    free(m->key);
    free(m->alloc_storage);
    property_string_free(m->props);
    free(m);
    return NULL;
}

/* An absolute path without "." / ".." components and without whitespace. */
static bool mount_path_valid(const char *p) {
    if (!p || p[0] != '/')
        return false;
    for (const char *s = p; *s; s++)
        if (isspace((unsigned char) *s) || (unsigned char) *s < 0x20)
            return false;
    _cleanup_free_ char *copy = strdup(p);
    if (!copy)
        return false;
    for (char *save = NULL, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
        if (streq(c, ".") || streq(c, ".."))
            return false;
    return true;
}

/* "<storage>:<number>" (the allocation form). */
static bool parse_alloc(const char *volume, char **ret_storage, double *ret_gib) {
    const char *colon = strchr(volume, ':');
    if (!colon || colon == volume)
        return false;
    const char *num = colon + 1;
    if (!*num)
        return false;
    bool dot = false;
    for (const char *s = num; *s; s++) {
        if (*s == '.' && !dot && s != num && s[1])
            dot = true;
        else if (*s < '0' || *s > '9')
            return false;
    }
    for (const char *s = volume; s < colon; s++)
        if (!(isalnum((unsigned char) *s) || strchr("-_.", *s)))
            return false;
    *ret_storage = strndup(volume, (size_t) (colon - volume));
    *ret_gib = strtod(num, NULL);
    return true;
}

/* size=<n>[KMGT] (disk-size, default unit G) in bytes. */
static int parse_disk_size(const char *s, uint64_t *ret) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || (*end && end[1]))
        return -EINVAL;
    double mult = GIB;
    switch (*end) {
    case 0:
    case 'G':
        break;
    case 'K':
        mult = 1024.0;
        break;
    case 'M':
        mult = 1024.0 * 1024.0;
        break;
    case 'T':
        mult = GIB * 1024.0;
        break;
    default:
        return -EINVAL;
    }
    if (!isdigit((unsigned char) s[0]) || v * mult > 1.8e19)
        return -EINVAL;
    *ret = (uint64_t) (v * mult);
    return 0;
}

static int mount_fill(LxcMount *m, bool rootfs, char **reterr) {
    const PropertyString *ps = m->props;
    m->volume = property_string_get(ps, "volume");
    m->mp = rootfs ? "/" : property_string_get(ps, "mp");
    if (!rootfs && !mount_path_valid(m->mp))
        return set_error_message(
            reterr, -EINVAL, "%s.mp: invalid mount point path '%s'", m->key, m->mp
        );
    bool b;
    m->ro = property_string_get_bool(ps, "ro", &b) >= 0 && b;
    const char *size = property_string_get(ps, "size");
    if (size && parse_disk_size(size, &m->size) < 0)
        return set_error_message(
            reterr, -EINVAL, "%s.size: invalid format - unable to parse size '%s'", m->key, size
        );
    free(m->alloc_storage);
    m->alloc_storage = NULL;
    m->is_alloc = parse_alloc(m->volume, &m->alloc_storage, &m->alloc_size_gib);
    if (m->is_alloc && !m->alloc_storage)
        return -ENOMEM;
    m->is_bind = m->volume[0] == '/';
    if (m->is_bind && !mount_path_valid(m->volume))
        return set_error_message(reterr, -EINVAL, "%s: invalid host path '%s'", m->key, m->volume);
    if (!m->is_bind && !strchr(m->volume, ':'))
        return set_error_message(reterr, -EINVAL, "%s: invalid volume '%s'", m->key, m->volume);
    return 0;
}

int lxc_mount_parse(const char *key, const char *value, LxcMount **ret, char **reterr) {
    assert(ret);
    if (reterr)
        *reterr = NULL;
    bool rootfs = key && streq(key, "rootfs");
    if (!value || (!rootfs && !lxc_is_mp_key(key)))
        return set_error_message(reterr, -EINVAL, "invalid mount point key '%s'", key ?: "");
    _cleanup_(lxc_mount_freep) LxcMount *m = calloc(1, sizeof *m);
    if (!m || !(m->key = strdup(key)))
        return -ENOMEM;
    _cleanup_free_ char *msg = NULL;
    int r = property_string_parse(value, "volume", &m->props, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(reterr, r, "%s: %s", key, msg ?: "invalid value");
    const PropertyStringField *f = rootfs ? rootfs_fields : mp_fields;
    size_t nf = rootfs ? ELEMENTSOF(rootfs_fields) : ELEMENTSOF(mp_fields);
    if ((r = property_string_validate(m->props, f, nf, &msg)) == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(reterr, r, "%s.%s", key, msg ?: "invalid value");
    if ((r = mount_fill(m, rootfs, reterr)) < 0)
        return r;
    *ret = TAKE_PTR(m);
    return 0;
}

int lxc_mount_set_volume(LxcMount *m, const char *volid, uint64_t size_bytes) {
    assert(m && volid);
    char size[32];
    uint64_t gib = (uint64_t) GIB;
    if (size_bytes % gib == 0)
        snprintf(size, sizeof size, "%lluG", (unsigned long long) (size_bytes / gib));
    else
        snprintf(size, sizeof size, "%lluM", (unsigned long long) (size_bytes >> 20));
    int r = property_string_set(m->props, "volume", volid);
    if (r >= 0 && size_bytes > 0)
        r = property_string_set(m->props, "size", size);
    if (r < 0)
        return r;
    return mount_fill(m, streq(m->key, "rootfs"), NULL);
}

int lxc_mount_print(const LxcMount *m, char **ret) {
    assert(m && ret);
    return print_ordered(m->props, (const char *const[]){"volume", "mp", NULL}, ret);
}

/* ---- generator ------------------------------------------------------------------------------- */

/* The generator appends to a StrBuf (errors are sticky there) and reports config errors. */

static long long get_int(const GuestSection *s, const char *key, long long dflt) {
    const char *v = guest_section_get(s, key);
    char *end;
    if (!v)
        return dflt;
    long long n = strtoll(v, &end, 10);
    return *end ? dflt : n;
}

static void add_include(StrBuf *b, const LxcGenerateOptions *o, const char *name, bool *ret_found) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", o->confdir ?: "/usr/share/lxc/config", name);
    bool found = o->file_exists && o->file_exists(path, o->userdata);
    if (found)
        strbuf_printf(b, "lxc.include = %s\n", path);
    if (ret_found)
        *ret_found = found;
}

static bool feature_enabled(const GuestSection *m, const char *feature) {
    const char *features = guest_section_get(m, "features");
    _cleanup_(property_string_freep) PropertyString *fs = NULL;
    bool on = false;
    return features && property_string_parse(features, NULL, &fs, NULL) >= 0 &&
           property_string_get_bool(fs, feature, &on) >= 0 && on;
}

static void gen_includes(StrBuf *b, const GuestSection *m, const LxcGenerateOptions *o) {
    const char *ostype = guest_section_get(m, "ostype") ?: "unmanaged";
    bool unmanaged = streq(ostype, "unmanaged");
    bool unpriv = guest_config_bool(guest_section_get(m, "unprivileged"), false);
    char name[64];
    snprintf(name, sizeof name, "%s.common.conf", ostype);
    bool found = false;
    if (!unmanaged)
        add_include(b, o, name, &found);
    /* without the distribution's file (lxc-templates not installed) the CT still gets the
     * settings every distribution's file starts from */
    if (!found)
        add_include(b, o, "common.conf", NULL);
    if (unpriv) {
        found = false;
        snprintf(name, sizeof name, "%s.userns.conf", ostype);
        if (!unmanaged)
            add_include(b, o, name, &found);
        if (!found)
            add_include(b, o, "userns.conf", NULL);
    }
    if (feature_enabled(m, "nesting"))
        add_include(b, o, "nesting.conf", NULL);
    if (unpriv)
        strbuf_printf(b, "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n");
}

static void gen_limits(StrBuf *b, const GuestSection *m, const LxcGenerateOptions *o) {
    bool v2 = o->cgroup_version != 1;
    const char *pre = v2 ? "lxc.cgroup2" : "lxc.cgroup";
    unsigned long long mem = (unsigned long long) get_int(m, "memory", LXC_DEFAULT_MEMORY) << 20;
    unsigned long long swap = (unsigned long long) get_int(m, "swap", LXC_DEFAULT_SWAP) << 20;
    if (v2)
        strbuf_printf(b, "%s.memory.max = %llu\n%s.memory.swap.max = %llu\n", pre, mem, pre, swap);
    else
        strbuf_printf(
            b, "%s.memory.limit_in_bytes = %llu\n%s.memory.memsw.limit_in_bytes = %llu\n", pre, mem,
            pre, mem + swap
        );
    const char *cpulimit = guest_section_get(m, "cpulimit");
    double limit = cpulimit ? strtod(cpulimit, NULL) : 0;
    if (limit > 0) {
        long long quota = (long long) (limit * 100000.0 + 0.5);
        if (v2)
            strbuf_printf(b, "%s.cpu.max = %lld 100000\n", pre, quota);
        else
            strbuf_printf(
                b, "%s.cpu.cfs_period_us = 100000\n%s.cpu.cfs_quota_us = %lld\n", pre, pre, quota
            );
    }
    long long units = get_int(m, "cpuunits", -1);
    /* cgroup v2 weights are 1-10000, v1 shares start at 2 */
    if (units >= 0 && v2)
        strbuf_printf(
            b, "%s.cpu.weight = %lld\n", pre,
            units < 1       ? 1
            : units > 10000 ? 10000
                            : units
        );
    else if (units >= 0)
        strbuf_printf(b, "%s.cpu.shares = %lld\n", pre, units < 2 ? 2 : units);
    long long cores = get_int(m, "cores", 0);
    if (cores == 1 && o->host_cpus > 1)
        strbuf_printf(b, "%s.cpuset.cpus = 0\n", pre);
    else if (cores > 1 && (unsigned long long) cores < o->host_cpus)
        strbuf_printf(b, "%s.cpuset.cpus = 0-%lld\n", pre, cores - 1);
}

/* The host path of a mount point's volume (no whitespace: lxc.mount.entry is space-separated). */
static int
mount_source(const LxcGenerateOptions *o, const LxcMount *mp, char **ret, char **reterr) {
    int r;
    if (mp->is_alloc)
        return set_error_message(
            reterr, -EINVAL, "%s: volume '%s' was never allocated", mp->key, mp->volume
        );
    if (mp->is_bind)
        r = (*ret = strdup(mp->volume)) ? 0 : -ENOMEM;
    else if (!o->resolve_volume)
        r = set_error_message(
            reterr, -EINVAL, "%s: unable to resolve volume '%s'", mp->key, mp->volume
        );
    else
        r = o->resolve_volume(mp->volume, ret, reterr, o->userdata);
    if (r < 0)
        return r;
    if (strpbrk(*ret, " \t\n")) {
        r = set_error_message(reterr, -EINVAL, "%s: path '%s' contains whitespace", mp->key, *ret);
        free(*ret);
        *ret = NULL;
    }
    return r;
}

static int
gen_mounts(StrBuf *b, const GuestSection *m, const LxcGenerateOptions *o, char **reterr) {
    const char *rootfs = guest_section_get(m, "rootfs");
    if (!rootfs)
        return set_error_message(reterr, -EINVAL, "missing 'rootfs' configuration");
    _cleanup_(lxc_mount_freep) LxcMount *root = NULL;
    _cleanup_free_ char *path = NULL;
    int r = lxc_mount_parse("rootfs", rootfs, &root, reterr);
    if (r < 0 || (r = mount_source(o, root, &path, reterr)) < 0)
        return r;
    strbuf_printf(b, "lxc.rootfs.path = %s\n", path);
    if (root->ro)
        strbuf_printf(b, "lxc.rootfs.options = ro\n");
    for (unsigned i = 0; i < LXC_MAX_MOUNTS; i++) {
        char key[16];
        snprintf(key, sizeof key, "mp%u", i);
        const char *v = guest_section_get(m, key);
        if (!v)
            continue;
        _cleanup_(lxc_mount_freep) LxcMount *mp = NULL;
        _cleanup_free_ char *src = NULL;
        if ((r = lxc_mount_parse(key, v, &mp, reterr)) < 0 ||
            (r = mount_source(o, mp, &src, reterr)) < 0)
            return r;
        strbuf_printf(
            b, "lxc.mount.entry = %s %s none rbind,create=dir%s 0 0\n", src, mp->mp + 1,
            mp->ro ? ",ro" : ""
        );
    }
    return 0;
}

static void gen_net(StrBuf *b, uint32_t vmid, const LxcNet *n, unsigned idx) {
    strbuf_printf(b, "lxc.net.%u.type = veth\n", idx);
    strbuf_printf(b, "lxc.net.%u.veth.pair = veth%ui%u\n", idx, vmid, n->index);
    if (n->hwaddr)
        strbuf_printf(b, "lxc.net.%u.hwaddr = %s\n", idx, n->hwaddr);
    strbuf_printf(b, "lxc.net.%u.name = %s\n", idx, n->name);
    if (n->bridge)
        strbuf_printf(b, "lxc.net.%u.link = %s\n", idx, n->bridge);
    if (n->mtu)
        strbuf_printf(b, "lxc.net.%u.mtu = %u\n", idx, n->mtu);
    if (!n->link_down)
        strbuf_printf(b, "lxc.net.%u.flags = up\n", idx);
    /* static addresses are configured by LXC itself; dhcp/auto/manual are the guest's job */
    if (n->ip && strchr(n->ip, '/')) {
        strbuf_printf(b, "lxc.net.%u.ipv4.address = %s\n", idx, n->ip);
        if (n->gw)
            strbuf_printf(b, "lxc.net.%u.ipv4.gateway = %s\n", idx, n->gw);
    }
    if (n->ip6 && strchr(n->ip6, '/')) {
        strbuf_printf(b, "lxc.net.%u.ipv6.address = %s\n", idx, n->ip6);
        if (n->gw6)
            strbuf_printf(b, "lxc.net.%u.ipv6.gateway = %s\n", idx, n->gw6);
    }
}

static int gen_nets(StrBuf *b, const GuestSection *m, uint32_t vmid, char **reterr) {
    unsigned idx = 0;
    for (unsigned i = 0; i < LXC_MAX_NETS; i++) {
        char key[16];
        snprintf(key, sizeof key, "net%u", i);
        const char *v = guest_section_get(m, key);
        if (!v)
            continue;
        _cleanup_(lxc_net_freep) LxcNet *n = NULL;
        int r = lxc_net_parse(key, v, &n, reterr);
        if (r < 0)
            return r;
        gen_net(b, vmid, n, idx++);
    }
    return 0;
}

static void gen_raw(StrBuf *b, const GuestSection *m) {
    for (size_t i = 0; i < m->n_entries; i++)
        if (m->entries[i].raw)
            strbuf_printf(b, "%s = %s\n", m->entries[i].key, m->entries[i].value);
}

int lxc_config_generate(
    const GuestConfig *c, uint32_t vmid, const LxcGenerateOptions *o, char **ret, char **reterr
) {
    assert(c && o && ret);
    if (reterr)
        *reterr = NULL;
    const GuestSection *m = guest_config_main(c);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    const char *hostname = guest_section_get(m, "hostname");
    strbuf_printf(&b, "lxc.arch = %s\n", guest_section_get(m, "arch") ?: "amd64");
    gen_includes(&b, m, o);
    strbuf_printf(&b, "lxc.tty.max = %lld\n", get_int(m, "tty", LXC_DEFAULT_TTY));
    if (!guest_config_bool(guest_section_get(m, "console"), true))
        strbuf_printf(&b, "lxc.console.path = none\n");
    if (hostname)
        strbuf_printf(&b, "lxc.uts.name = %s\n", hostname);
    else
        strbuf_printf(&b, "lxc.uts.name = CT%u\n", vmid);
    gen_limits(&b, m, o);
    int r = gen_mounts(&b, m, o, reterr);
    if (r >= 0)
        r = gen_nets(&b, m, vmid, reterr);
    if (r < 0)
        return r;
    gen_raw(&b, m);
    return strbuf_finish(&b, ret, NULL);
}
