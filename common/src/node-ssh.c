/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node-ssh: root's SSH key, the cluster-wide authorized_keys and the node's ssh_known_hosts
 * (see pve/node-ssh.h). Every step only writes when something is missing, so running it at
 * every service start is cheap.
 */
#include "pve/node-ssh.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/cfs-file.h"
#include "pve/fileio.h"
#include "pve/macro.h"
#include "pve/paths.h"
#include "pve/spawn.h"
#include "pve/string-util.h"

#define AUTHORIZED_KEYS "priv/authorized_keys"
#define KEYS_MAX        (1024u * 1024u)

/* "<type> <base64>" of a public key line (comment dropped), NULL when it does not look like one */
static char *key_of(const char *line) {
    const char *sp = strchr(line, ' ');
    if (!sp || sp == line)
        return NULL;
    size_t n = strcspn(sp + 1, " \t\r\n");
    if (n == 0)
        return NULL;
    return strndup(line, (size_t) (sp - line) + 1 + n);
}

/* true when text has a line with the same key */
static bool has_key(const char *text, const char *key) {
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        _cleanup_free_ char *k = key_of(l);
        if (k && streq(k, key))
            return true;
    }
    return false;
}

/* Append the lines of add whose keys text lacks; *changed tells whether anything was added. */
static int merge_keys(char **text, const char *add, bool *changed) {
    for (const char *l = add; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        _cleanup_free_ char *line = strndup(l, len);
        if (!line)
            return -ENOMEM;
        _cleanup_free_ char *k = key_of(line);
        if (!k || line[0] == '#' || has_key(*text, k))
            continue;
        char *n = NULL;
        size_t tl = strlen(*text);
        if (asprintf(&n, "%s%s%s\n", *text, tl && (*text)[tl - 1] != '\n' ? "\n" : "", line) < 0)
            return -ENOMEM;
        free(*text);
        *text = n;
        *changed = true;
    }
    return 0;
}

static int ensure_root_key(const char *dir, char **ret_pub, char **reterr) {
    _cleanup_free_ char *key = NULL, *pub = NULL;
    if (asprintf(&key, "%s/id_rsa", dir) < 0 || asprintf(&pub, "%s/id_rsa.pub", dir) < 0)
        return -ENOMEM;
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return set_error_message_once(reterr, r, "unable to create '%s' - %s", dir, strerror(-r));
    if (access(key, F_OK) < 0) {
        const char *argv[] = {"ssh-keygen", "-q", "-t", "rsa", "-b", "4096",
                              "-N",         "",   "-f", key,   NULL};
        _cleanup_free_ char *out = NULL, *err = NULL;
        int status = 0;
        r = spawn_capture(argv, 64 * 1024, &out, &err, &status);
        if (r < 0 || status != 0)
            return set_error_message_once(
                reterr, r < 0 ? r : -EIO, "unable to generate '%s' with ssh-keygen%s%s", key,
                err && *err ? " - " : "", err ? err : ""
            );
    }
    size_t len;
    r = read_full_file(pub, 64 * 1024, ret_pub, &len);
    return r < 0 ? set_error_message_once(reterr, r, "unable to read '%s' - %s", pub, strerror(-r))
                 : 0;
}

/* priv/authorized_keys has root's key and the local file's keys; the local file links to it */
static int ensure_authorized_keys(const char *dir, const char *root_pub, char **reterr) {
    _cleanup_free_ char *text = NULL, *local = NULL, *local_text = NULL, *target = NULL;
    size_t len = 0;
    int r = cfs_file_read(AUTHORIZED_KEYS, &text, &len);
    if (r == -ENOENT)
        r = (text = strdup("")) ? 0 : -ENOMEM;
    if (r < 0)
        return set_error_message_once(
            reterr, r, "unable to read '%s' - %s", AUTHORIZED_KEYS, strerror(-r)
        );
    if (asprintf(&local, "%s/authorized_keys", dir) < 0 ||
        cfs_file_path(AUTHORIZED_KEYS, &target) < 0)
        return -ENOMEM;
    char link[PATH_MAX];
    ssize_t ln = readlink(local, link, sizeof link - 1);
    bool linked = ln > 0 && (link[ln] = 0, streq(link, target));
    bool changed = false;
    if (!linked && read_full_file(local, KEYS_MAX, &local_text, &len) >= 0 &&
        (r = merge_keys(&text, local_text, &changed)) < 0)
        return r;
    if ((r = merge_keys(&text, root_pub, &changed)) < 0)
        return r;
    if (changed)
        (void) mkdir_parents(target, 0700);
    if (changed && (r = cfs_file_write(AUTHORIZED_KEYS, text, strlen(text))) < 0)
        return set_error_message_once(
            reterr, r, "unable to write '%s' - %s", AUTHORIZED_KEYS, strerror(-r)
        );
    if (linked)
        return 0;
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s.pve-tmp", local) < 0)
        return -ENOMEM;
    (void) unlink(tmp);
    if (symlink(target, tmp) < 0 || rename(tmp, local) < 0) {
        r = -errno;
        (void) unlink(tmp);
        return set_error_message_once(
            reterr, r, "unable to link '%s' to '%s' - %s", local, target, strerror(-r)
        );
    }
    return 0;
}

static int ensure_known_hosts(const char *node, char **reterr) {
    const char *dir = pve_path_env("PVE_SSH_HOST_KEY_DIR", "/etc/ssh");
    static const char *const names[] = {"ssh_host_rsa_key.pub", "ssh_host_ed25519_key.pub"};
    _cleanup_free_ char *pub = NULL, *key = NULL;
    for (size_t i = 0; i < ELEMENTSOF(names) && !key; i++) {
        _cleanup_free_ char *path = NULL;
        size_t len;
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
            return -ENOMEM;
        free(pub);
        pub = NULL;
        if (read_full_file(path, 64 * 1024, &pub, &len) >= 0)
            key = key_of(pub);
    }
    if (!key)
        return set_error_message_once(reterr, -ENOENT, "no SSH host key found in '%s'", dir);
    _cleanup_free_ char *want = NULL, *rel = NULL, *have = NULL;
    if (asprintf(&want, "%s %s\n", node, key) < 0 ||
        asprintf(&rel, "nodes/%s/ssh_known_hosts", node) < 0)
        return -ENOMEM;
    size_t len = 0;
    if (cfs_file_read(rel, &have, &len) >= 0 && streq(have, want))
        return 0;
    _cleanup_free_ char *full = NULL;
    if (cfs_file_path(rel, &full) < 0)
        return -ENOMEM;
    (void) mkdir_parents(full, 0755);
    int r = cfs_file_write(rel, want, strlen(want));
    return r < 0 ? set_error_message_once(reterr, r, "unable to write '%s' - %s", rel, strerror(-r))
                 : 0;
}

int node_ssh_ensure(const char *node, char **reterr) {
    if (reterr)
        *reterr = NULL;
    const char *dir = pve_path_env("PVE_ROOT_SSH_DIR", "/root/.ssh");
    _cleanup_free_ char *pub = NULL;
    int r = ensure_root_key(dir, &pub, reterr);
    if (r >= 0)
        r = ensure_authorized_keys(dir, pub, reterr);
    if (r >= 0)
        r = ensure_known_hosts(node, reterr);
    return r;
}
