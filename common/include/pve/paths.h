/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Every upstream default path, socket and port, in one place. Daemons take overrides from
 * their command line or environment; tests never rely on these defaults.
 */
#pragma once

/* pmxcfs */
#define PVE_CFS_MOUNTPOINT      "/etc/pve"
#define PVE_CFS_VARLIBDIR       "/var/lib/pve-cluster"
#define PVE_CFS_DBFILENAME      PVE_CFS_VARLIBDIR "/config.db"
#define PVE_CFS_LOCKFILE        PVE_CFS_VARLIBDIR "/.pmxcfs.lockfile"
#define PVE_CFS_RUNDIR          "/run/pve-cluster"
#define PVE_CFS_RESTART_FLAG    PVE_CFS_RUNDIR "/cfs-restart-flag"
#define PVE_CFS_PIDFILE         "/var/run/pve-cluster.pid"
#define PVE_CFS_IPC_SERVICE     "pve2"
#define PVE_CFS_WWW_GROUP       "www-data"
#define PVE_CFS_LOCK_DIR        "priv/lock"
#define PVE_CFS_LOCK_TIMEOUT    120 /* seconds until a lock may be broken */
#define PVE_CFS_MAX_FILE_SIZE   (1024 * 1024)
#define PVE_CFS_MAX_FS_SIZE     (128 * 1024 * 1024)
#define PVE_CFS_MAX_INODES      262144
#define PVE_CFS_MAX_STATUS_SIZE (32 * 1024)

/* corosync */
#define PVE_COROSYNC_CONF    "/etc/corosync/corosync.conf"
#define PVE_COROSYNC_AUTHKEY "/etc/corosync/authkey"
#define PVE_CPG_DCDB         "pve_dcdb_v1"
#define PVE_CPG_KVSTORE      "pve_kvstore_v1"

/* RRD */
#define PVE_RRD_DIR          "/var/lib/rrdcached/db"
#define PVE_RRDCACHED_SOCKET "/var/run/rrdcached.sock"

/* API daemons */
#define PVE_DAEMON_PORT      85
#define PVE_DAEMON_ADDR      "127.0.0.1"
#define PVE_DAEMON_PIDFILE   "/run/pvedaemon.pid"
#define PVE_PROXY_PORT       8006
#define PVE_PROXY_PIDFILE    "/run/pveproxy/pveproxy.pid"
#define PVE_PROXY_DEFAULTS   "/etc/default/pveproxy"
#define PVE_PROXY_ACCESS_LOG "/var/log/pveproxy/access.log"
#define PVE_SPICE_PORT       3128
#define PVE_SPICE_PIDFILE    "/run/pveproxy/spiceproxy.pid"
#define PVE_STATD_PIDFILE    "/run/pvestatd.pid"
#define PVE_WWW_USER         "www-data"
#define PVE_WWW_DIR          "/usr/share/pve-manager"

/* tasks */
#define PVE_TASK_DIR         "/var/log/pve/tasks"
#define PVE_TASK_ACTIVE      PVE_TASK_DIR "/active"
#define PVE_TASK_INDEX       PVE_TASK_DIR "/index"
#define PVE_TASK_ACTIVE_LOCK PVE_TASK_DIR "/.active.lock"

/* guests */
#define PVE_QEMU_RUNDIR        "/var/run/qemu-server"
#define PVE_QMEVENTD_SOCKET    "/var/run/qmeventd.sock"
#define PVE_LXC_DIR            "/var/lib/lxc"
#define PVE_STORAGE_LOCAL_PATH "/var/lib/vz"

/* HA / watchdog */
#define PVE_WATCHDOG_DEVICE     "/dev/watchdog"
#define PVE_WATCHDOG_MUX_SOCKET "/run/watchdog-mux.sock"

/* firewall */
#define PVE_FIREWALL_LOG "/var/log/pve-firewall.log"
#define PVE_FIREWALL_DIR PVE_CFS_MOUNTPOINT "/firewall"

/* Files inside /etc/pve */
#define PVE_CFS_STORAGE_CFG     "storage.cfg"
#define PVE_CFS_USER_CFG        "user.cfg"
#define PVE_CFS_DOMAINS_CFG     "domains.cfg"
#define PVE_CFS_DATACENTER_CFG  "datacenter.cfg"
#define PVE_CFS_COROSYNC_CONF   "corosync.conf"
#define PVE_CFS_AUTHKEY_KEY     "priv/authkey.key"
#define PVE_CFS_AUTHKEY_PUB     "authkey.pub"
#define PVE_CFS_AUTHKEY_PUB_OLD "authkey.pub.old"
#define PVE_CFS_WWW_KEY         "pve-www.key"
#define PVE_CFS_SHADOW_CFG      "priv/shadow.cfg"
#define PVE_CFS_TOKEN_CFG       "priv/token.cfg"
#define PVE_CFS_TFA_CFG         "priv/tfa.cfg"
#define PVE_CFS_ROOT_CA_PEM     "pve-root-ca.pem"
#define PVE_CFS_ROOT_CA_KEY     "priv/pve-root-ca.key"

/* Return the environment variable's value when set and non-empty, else the default. */
const char *pve_path_env(const char *env, const char *dflt);
