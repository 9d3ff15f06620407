/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for qemu-cmdline: exact argv for a few configs (the upstream minimal fixture,
 * disks + cdrom + net on virtio-scsi, kvm vs tcg, error texts), and one generated command line
 * started with the real qemu-system-x86_64 (-S, private run dir) and asked `query-status` over
 * QMP (skipped when QEMU or qemu-img is missing).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/qemu-cmdline.h"
#include "pve/string-util.h"

static GuestConfig *conf_from(const char *text) {
    GuestConfig *c = NULL;
    GuestConfigError e;
    if (guest_config_parse(GUEST_TYPE_QEMU, text, strlen(text), &c, &e) < 0)
        fail_msg("config: line %u: %s", e.line, e.message);
    return c;
}

/* local:<vmid>/<name> -> /var/lib/vz/images/<vmid>/<name>, local:iso/<n> -> template/iso */
static int
fake_resolve(const char *volid, char **ret_path, char **ret_format, char **reterr, void *userdata) {
    const char *dir = userdata ? userdata : "/var/lib/vz";
    const char *name = startswith(volid, "local:");
    if (!name) {
        size_t n = strcspn(volid, ":");
        return asprintf(reterr, "storage '%.*s' does not exist", (int) n, volid) < 0 ? -ENOMEM
                                                                                     : -ENOENT;
    }
    const char *iso = startswith(name, "iso/");
    if (asprintf(ret_path, "%s/%s/%s", dir, iso ? "template/iso" : "images", iso ? iso : name) < 0)
        return -ENOMEM;
    const char *dot = strrchr(name, '.');
    *ret_format = strdup(dot && streq(dot, ".qcow2") ? "qcow2" : "raw");
    return *ret_format ? 0 : -ENOMEM;
}

static char *
build_str(const char *text, uint32_t vmid, const QemuCmdlineOptions *o, char **reterr) {
    _cleanup_(guest_config_freep) GuestConfig *c = conf_from(text);
    _cleanup_strv_free_ char **argv = NULL;
    char *err = NULL;
    int r = qemu_cmdline_build(c, vmid, o, &argv, &err);
    if (reterr) {
        *reterr = err;
        return r < 0 ? NULL : (char *) "unexpected success";
    }
    if (r < 0)
        fail_msg("build failed: %d %s", r, err ? err : "");
    char *s = NULL;
    assert_int_equal(qemu_cmdline_to_string(argv, &s), 0);
    return s;
}

static void expect_cmd(
    const char *text, uint32_t vmid, const QemuCmdlineOptions *o, const char *const *want_lines
) {
    _cleanup_free_ char *got = build_str(text, vmid, o, NULL);
    _cleanup_free_ char *want = NULL;
    size_t len = 0;
    for (size_t i = 0; want_lines[i]; i++)
        len += strlen(want_lines[i]) + 1;
    want = calloc(1, len + 1);
    for (size_t i = 0; want_lines[i]; i++) {
        if (i)
            strcat(want, " ");
        strcat(want, want_lines[i]);
    }
    if (!streq(got, want))
        fail_msg("command line differs\n got: %s\nwant: %s", got, want);
}

static void test_minimal_fixture(void **state) {
    (void) state;
    /* upstream's minimal fixture (api.md §8.1) minus -iscsi */
    QemuCmdlineOptions o = {
        .qmeventd_socket = "/var/run/qmeventd.sock",
        .kvm = true,
        .qemu_major = 9,
        .qemu_minor = 2,
        .pve_qemu = true,
        .splash = "/usr/share/qemu-server/bootsplash.jpg",
    };
    const char *const want[] = {
        "/usr/bin/kvm -id 8006 -name vm8006 -no-shutdown",
        "-chardev 'socket,id=qmp,path=/var/run/qemu-server/8006.qmp,server=on,wait=off'",
        "-mon 'chardev=qmp,mode=control'",
        "-chardev 'socket,id=qmp-event,path=/var/run/qmeventd.sock,reconnect-ms=5000'",
        "-mon 'chardev=qmp-event,mode=control'",
        "-pidfile /var/run/qemu-server/8006.pid -daemonize",
        "-smbios 'type=1,uuid=7b10d7af-b932-4c66-b2c3-3996152ec465' -smp "
        "'1,sockets=1,cores=1,maxcpus=1' -nodefaults",
        "-boot "
        "'menu=on,strict=on,reboot-timeout=1000,splash=/usr/share/qemu-server/bootsplash.jpg'",
        "-vnc 'unix:/var/run/qemu-server/8006.vnc,password=on'",
        "-cpu 'kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep' -m 512",
        "-global PIIX4_PM.disable_s3=1 -global PIIX4_PM.disable_s4=1",
        "-device 'pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e'",
        "-device 'pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f'",
        "-device 'piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2'",
        "-device 'usb-tablet,id=tablet,bus=uhci.0,port=1'",
        "-device 'VGA,id=vga,bus=pci.0,addr=0x2'",
        "-device 'virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3,free-page-reporting=on'",
        "-machine type=pc+pve0",
        NULL,
    };
    expect_cmd("smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465\n", 8006, &o, want);
}

static const char disk_conf[] =
    "boot: order=scsi0;ide2;net0\n"
    "cores: 2\n"
    "ide2: local:iso/debian.iso,media=cdrom,size=600M\n"
    "memory: 768\n"
    "name: simple\n"
    "net0: virtio=A2:C0:43:77:08:A0,bridge=vmbr0\n"
    "ostype: l26\n"
    "scsi0: local:8006/vm-8006-disk-0.qcow2,discard=on,size=4G\n"
    "scsihw: virtio-scsi-pci\n"
    "smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465\n"
    "vmgenid: c773c261-d800-4348-9f5d-167fadd53cf8\n";

static void test_disks_kvm(void **state) {
    (void) state;
    QemuCmdlineOptions o = {
        .binary = "/usr/bin/qemu-system-x86_64",
        .rundir = "/run/qemu-server",
        .qmeventd_socket = "/run/qmeventd.sock",
        .kvm = true,
        .vhost_net = true,
        .resolve_volume = fake_resolve,
    };
    const char *const want[] = {
        "/usr/bin/qemu-system-x86_64 -name simple -no-shutdown",
        "-chardev 'socket,id=qmp,path=/run/qemu-server/8006.qmp,server=on,wait=off'",
        "-mon 'chardev=qmp,mode=control'",
        "-chardev 'socket,id=qmp-event,path=/run/qmeventd.sock,reconnect=5'",
        "-mon 'chardev=qmp-event,mode=control'",
        "-pidfile /run/qemu-server/8006.pid -daemonize",
        "-smbios 'type=1,uuid=7b10d7af-b932-4c66-b2c3-3996152ec465' -smp "
        "'2,sockets=1,cores=2,maxcpus=2' -nodefaults",
        "-boot 'menu=on,strict=on,reboot-timeout=1000'",
        "-vnc 'unix:/run/qemu-server/8006.vnc,password=on'",
        "-cpu 'kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep' -m 768",
        "-global PIIX4_PM.disable_s3=1 -global PIIX4_PM.disable_s4=1",
        "-device 'pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e'",
        "-device 'pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f'",
        "-device 'vmgenid,guid=c773c261-d800-4348-9f5d-167fadd53cf8'",
        "-device 'piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2'",
        "-device 'usb-tablet,id=tablet,bus=uhci.0,port=1'",
        "-device 'VGA,id=vga,bus=pci.0,addr=0x2'",
        "-device 'virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3,free-page-reporting=on'",
        "-drive "
        "'file=/var/lib/vz/template/iso/"
        "debian.iso,if=none,id=drive-ide2,media=cdrom,format=raw,aio=threads'",
        "-device 'ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2,bootindex=101'",
        "-device 'virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5'",
        "-drive "
        "'file=/var/lib/vz/images/8006/"
        "vm-8006-disk-0.qcow2,if=none,id=drive-scsi0,discard=on,format=qcow2,cache=none,aio=native,"
        "detect-zeroes=unmap'",
        "-device "
        "'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id=scsi0,bootindex="
        "100'",
        "-netdev 'type=tap,id=net0,ifname=tap8006i0,script=no,downscript=no,vhost=on'",
        "-device "
        "'virtio-net-pci,mac=A2:C0:43:77:08:A0,netdev=net0,bus=pci.0,addr=0x12,id=net0,rx_queue_"
        "size=1024,tx_queue_size=1024,bootindex=102'",
        "-machine 'type=pc,accel=kvm'",
        NULL,
    };
    expect_cmd(disk_conf, 8006, &o, want);
}

static void test_tcg_legacy_boot(void **state) {
    (void) state;
    QemuCmdlineOptions o = {.rundir = "/r", .paused = true, .resolve_volume = fake_resolve};
    /* lsi: 7 devices per controller, so scsi8 sits on scsihw1 as scsi-id 1 */
    _cleanup_free_ char *got = build_str(
        "balloon: 0\nbootdisk: virtio0\nmemory: 1024\nsockets: 2\ncores: 2\ntablet: 0\n"
        "scsi0: local:100/a.raw,ssd=1\nscsi8: local:100/b.raw\nvirtio0: "
        "local:100/c.raw,iothread=1\n"
        "ide0: none,media=cdrom\nnet1: e1000=BC:24:11:00:00:01\n",
        100, &o, NULL
    );
    const char *expect_parts[] = {
        "/usr/bin/kvm -name vm100 -no-shutdown -chardev "
        "'socket,id=qmp,path=/r/100.qmp,server=on,wait=off' -mon 'chardev=qmp,mode=control' "
        "-pidfile /r/100.pid -daemonize -smp '4,sockets=2,cores=2,maxcpus=4' -nodefaults",
        "-cpu qemu64 -m 1024 -global",
        "-device 'VGA,id=vga,bus=pci.0,addr=0x2' -drive "
        "'if=none,id=drive-ide0,media=cdrom,aio=threads' -device "
        "'ide-cd,bus=ide.0,unit=0,drive=drive-ide0,id=ide0,bootindex=200'",
        "-device 'lsi,id=scsihw0,bus=pci.0,addr=0x5' -drive "
        "'file=/var/lib/vz/images/100/"
        "a.raw,if=none,id=drive-scsi0,format=raw,cache=none,aio=native,detect-zeroes=on' -device "
        "'scsi-hd,bus=scsihw0.0,scsi-id=0,drive=drive-scsi0,id=scsi0,rotation_rate=1'",
        "-device 'lsi,id=scsihw1,bus=pci.0,addr=0x6' -drive "
        "'file=/var/lib/vz/images/100/"
        "b.raw,if=none,id=drive-scsi8,format=raw,cache=none,aio=native,detect-zeroes=on' -device "
        "'scsi-hd,bus=scsihw1.0,scsi-id=1,drive=drive-scsi8,id=scsi8'",
        "-object 'iothread,id=iothread-virtio0' -drive "
        "'file=/var/lib/vz/images/100/"
        "c.raw,if=none,id=drive-virtio0,format=raw,cache=none,aio=native,detect-zeroes=on' -device "
        "'virtio-blk-pci,drive=drive-virtio0,id=virtio0,bus=pci.0,addr=0xa,iothread=iothread-"
        "virtio0,bootindex=100'",
        "-netdev 'type=tap,id=net1,ifname=tap100i1,script=no,downscript=no' -device "
        "'e1000,mac=BC:24:11:00:00:01,netdev=net1,bus=pci.0,addr=0x13,id=net1,bootindex=300'",
        "-machine 'type=pc,accel=tcg' -S",
    };
    for (size_t i = 0; i < ELEMENTSOF(expect_parts); i++)
        if (!strstr(got, expect_parts[i]))
            fail_msg("missing: %s\nin: %s", expect_parts[i], got);
    assert_null(strstr(got, "balloon"));
    assert_null(strstr(got, "tablet"));
    assert_null(strstr(got, "kvm_pv"));
    assert_true(endswith(got, "-machine 'type=pc,accel=tcg' -S") != NULL);
}

static void test_cpu_models(void **state) {
    (void) state;
    QemuCmdlineOptions kvm = {.kvm = true}, tcg = {0};
    _cleanup_free_ char *a = build_str("cpu: x86-64-v2-AES,flags=+pcid;-sep\n", 100, &kvm, NULL);
    assert_non_null(strstr(
        a,
        "-cpu "
        "'qemu64,enforce,+aes,+cx16,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+pcid,+pni,+popcnt,-sep,+"
        "sse4.1,"
        "+sse4.2,+ssse3' "
    ));
    _cleanup_free_ char *b = build_str("cpu: x86-64-v2-AES\n", 100, &tcg, NULL);
    assert_non_null(
        strstr(b, "-cpu 'qemu64,+aes,+cx16,+lahf_lm,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3' ")
    );
    _cleanup_free_ char *c = build_str("cpu: host,hidden=1\n", 100, &kvm, NULL);
    assert_non_null(strstr(c, "-cpu 'host,+kvm_pv_eoi,+kvm_pv_unhalt,kvm=off' "));
    _cleanup_free_ char *d = build_str("cpu: kvm64,flags=-sep\n", 100, &kvm, NULL);
    assert_non_null(strstr(d, "-cpu 'kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,-sep' "));
    _cleanup_free_ char *e =
        build_str("numa: 1\nsockets: 2\nmemory: 1024\ncores: 2\n", 100, &tcg, NULL);
    assert_non_null(strstr(
        e,
        "-m 1024 -object 'memory-backend-ram,id=ram-node0,size=512M' -numa "
        "'node,nodeid=0,cpus=0-1,memdev=ram-node0' -object "
        "'memory-backend-ram,id=ram-node1,size=512M' -numa "
        "'node,nodeid=1,cpus=2-3,memdev=ram-node1' "
    ));
}

static void expect_error(const char *text, const QemuCmdlineOptions *o, const char *msg) {
    _cleanup_free_ char *err = NULL;
    assert_null(build_str(text, 100, o, &err));
    assert_non_null(err);
    if (!strstr(err, msg))
        fail_msg("'%s' does not contain '%s'", err, msg);
}

static void test_errors(void **state) {
    (void) state;
    QemuCmdlineOptions o = {.resolve_volume = fake_resolve}, nores = {0};
    expect_error("scsi0: nfs1:100/vm-100-disk-0.raw\n", &o, "scsi0: storage 'nfs1' does not exist");
    expect_error(
        "scsi0: local:100/a.raw\n", &nores, "scsi0: cannot resolve volume 'local:100/a.raw'"
    );
    expect_error("scsi0: local:4\n", &o, "scsi0: volume 'local:4' is not allocated");
    expect_error(
        "scsi0: local:100/a.raw,cache=x\n", &o,
        "unable to parse value of 'scsi0' - format error\nscsi0.cache"
    );
    expect_error("net0: virtio,bridge=vmbr0\n", &o, "net0: no MAC address");
    expect_error("net0: virtio=zz\n", &o, "unable to parse value of 'net0'");
    expect_error("cpu: host\n", &o, "cpu: CPU model 'host' needs KVM");
    expect_error("machine: q35\n", &o, "machine: machine type 'q35' is not supported");
    expect_error("vcpus: 3\ncores: 2\n", &o, "vcpus: 3 is more than sockets x cores (2)");
    expect_error("sockets: x\n", &o, "sockets: invalid value 'x'");
    expect_error("args: -foo 'bar\n", &o, "args: unterminated quote");
    expect_error("vga: fancy\n", &o, "vga: unknown display type 'fancy'");
}

static void test_args_quote(void **state) {
    (void) state;
    QemuCmdlineOptions o = {0};
    _cleanup_free_ char *s =
        build_str("args: -fw_cfg 'name=opt/x,string=a b' -no-reboot\nname: it's\n", 100, &o, NULL);
    assert_true(
        endswith(s, "-machine 'type=pc,accel=tcg' -fw_cfg 'name=opt/x,string=a b' -no-reboot") !=
        NULL
    );
    assert_non_null(strstr(s, "-name 'it'\"'\"'s'"));
}

/* ---- the real thing ---------------------------------------------------------------------- */

static int run(char *const argv[]) {
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* send a line, read until a line containing `want` (or EOF); returns that line */
static char *qmp_exchange(FILE *f, const char *cmd, const char *want) {
    if (cmd && (fprintf(f, "%s\n", cmd) < 0 || fflush(f) != 0))
        return NULL;
    char *line = NULL;
    size_t n = 0;
    while (getline(&line, &n, f) > 0)
        if (strstr(line, want))
            return line;
    free(line);
    return NULL;
}

static void test_real_qemu(void **state) {
    (void) state;
    const char *qemu = "/usr/bin/qemu-system-x86_64", *img = "/usr/bin/qemu-img";
    if (access(qemu, X_OK) < 0 || access(img, X_OK) < 0) {
        print_message("qemu-system-x86_64 or qemu-img missing: skipped\n");
        skip();
    }
    char dir[] = "/tmp/test-qemu-cmdline.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char disk[256];
    snprintf(disk, sizeof disk, "%s/images/100/vm-100-disk-0.qcow2", dir);
    char mk[600];
    snprintf(
        mk, sizeof mk, "mkdir -p %s/images/100 && %s create -q -f qcow2 %s 64M", dir, img, disk
    );
    assert_int_equal(system(mk), 0);

    QemuCmdlineOptions o = {
        .binary = qemu,
        .rundir = dir,
        .paused = true,
        .resolve_volume = fake_resolve,
        .userdata = dir,
    };
    _cleanup_(guest_config_freep) GuestConfig *c = conf_from(
        "boot: order=scsi0;ide2\ncores: 1\nide2: none,media=cdrom\nmemory: 128\nname: t1\n"
        "scsi0: local:100/vm-100-disk-0.qcow2,iothread=1,size=64M\nscsihw: virtio-scsi-single\n"
        "serial0: socket\nagent: 1\nsmbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465\n"
    );
    _cleanup_strv_free_ char **argv = NULL;
    _cleanup_free_ char *err = NULL;
    assert_int_equal(qemu_cmdline_build(c, 100, &o, &argv, &err), 0);
    int rc = run(argv);
    if (rc != 0)
        fail_msg("qemu exited with %d", rc);

    char path[300];
    snprintf(path, sizeof path, "%s/100.pid", dir);
    _cleanup_fclose_ FILE *pf = fopen(path, "re");
    assert_non_null(pf);
    int pid = 0;
    assert_int_equal(fscanf(pf, "%d", &pid), 1);
    assert_true(pid > 1);

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/100.qmp", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
        kill(pid, SIGKILL);
        fail_msg("connect %s: %s", sa.sun_path, strerror(errno));
    }
    struct timeval tv = {.tv_sec = 10};
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    FILE *f = fdopen(fd, "r+");
    assert_non_null(f);
    _cleanup_free_ char *greet = qmp_exchange(f, NULL, "\"QMP\"");
    _cleanup_free_ char *caps = qmp_exchange(f, "{\"execute\":\"qmp_capabilities\"}", "\"return\"");
    _cleanup_free_ char *st = qmp_exchange(f, "{\"execute\":\"query-status\"}", "\"return\"");
    _cleanup_free_ char *blk = qmp_exchange(f, "{\"execute\":\"query-block\"}", "\"return\"");
    _cleanup_free_ char *q = qmp_exchange(f, "{\"execute\":\"quit\"}", "\"return\"");
    fclose(f);
    /* wait for the daemonized QEMU to go away, kill it if it does not */
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
        usleep(50 * 1000);
    if (kill(pid, 0) == 0)
        kill(pid, SIGKILL);

    assert_non_null(greet);
    assert_non_null(caps);
    assert_non_null(st);
    assert_non_null(strstr(st, "\"status\": \"prelaunch\""));
    assert_non_null(strstr(st, "\"running\": false"));
    assert_non_null(blk);
    assert_non_null(strstr(blk, "drive-scsi0"));
    assert_non_null(strstr(blk, "drive-ide2"));
    assert_non_null(q);
    char rm[400];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_fixture), cmocka_unit_test(test_disks_kvm),
        cmocka_unit_test(test_tcg_legacy_boot), cmocka_unit_test(test_cpu_models),
        cmocka_unit_test(test_errors),          cmocka_unit_test(test_args_quote),
        cmocka_unit_test(test_real_qemu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
