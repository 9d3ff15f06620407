#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Storage API: /storage (storage.cfg create/read/update/delete with the exact file text,
# validation without state change, digest, delete=), /nodes/{node}/storage (status, filters,
# content listing of a dir storage in upstream's layout, volume info and delete), the
# multipart ISO/template upload with checksums, and permissions (PVEAuditor, per-storage
# ACLs), allocation of guest images with qemu-img (POST content: formats, sizes, names,
# errors without leftovers, a full disk). /var/tmp is a private tmpfs here, so uploads also cross filesystems. TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
api_setup

mount -t tmpfs -o size=64m tmpfs /var/tmp # namespace-private upload directory
CFG=$MNT/storage.cfg
STORE=$TMP/store1
N=/nodes/$NODE

login root@pam "$ROOT_PASSWORD"
check "root@pam login" [ "$CODE" = 200 ]
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
as_root() { TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF; }

sum() { sha256sum "$CFG" 2>/dev/null | cut -d' ' -f1; }
# unchanged DESC: storage.cfg has the hash it had before the last call
unchanged() { check "$1 (storage.cfg unchanged)" [ "$(sum)" = "$BEFORE" ]; }
expect_text() { # TEXT DESC: storage.cfg is exactly TEXT plus the blank line ending it
    local want=$1; shift
    if [ "$(cat "$CFG" && echo x)" = "$want"$'\n'x ]; then
        ok "$*"
    else
        not_ok "$*" "want:" "$want" "have:" "$(cat "$CFG")"
    fi
}
# task_wait UPID: until its log ends with a TASK line; prints that line
task_wait() {
    local upid=$1 start log
    start=$(echo "$upid" | cut -d: -f5)
    log=$PVE_TASK_DIR/${start: -1}/$upid
    wait_until 20 grep -q '^TASK ' "$log" 2>/dev/null
    tail -n1 "$log" 2>/dev/null
}

# ---- storage.cfg defaults -------------------------------------------------------------------
api GET /storage
check "no storage.cfg: default dir local" \
    [ "$CODE" = 200 -a "$(jget '.data | length')" = 1 -a "$(jget '.data[0].storage')" = local \
      -a "$(jget '.data[0].type')" = dir -a "$(jget '.data[0].path')" = /var/lib/vz ]
check "local content as upstream's default" \
    [ "$(jget '.data[0].content')" = backup,images,iso,rootdir,snippets,vztmpl ]
check "local has a digest" [ -n "$(jget '.data[0].digest')" ]

# ---- create ---------------------------------------------------------------------------------
api POST /storage -d storage=store1 -d type=dir -d "path=$STORE" -d content=iso,vztmpl,backup
check "create dir storage" [ "$CODE" = 200 -a "$(jget .data.storage)" = store1 -a "$(jget .data.type)" = dir ]
LOCAL=$'dir: local\n\tpath /var/lib/vz\n\tcontent backup,images,iso,rootdir,snippets,vztmpl\n\tprune-backups keep-all=1\n'
S1=$'dir: store1\n\tpath '"$STORE"$'\n\tcontent iso,vztmpl,backup\n'
expect_text "$LOCAL"$'\n'"$S1" "storage.cfg after create: local first, then store1"
check "create made the base path and content dirs" \
    [ -d "$STORE/template/iso" -a -d "$STORE/template/cache" -a -d "$STORE/dump" -a ! -e "$STORE/images" ]

BEFORE=$(sum)
api POST /storage -d storage=store1 -d type=dir -d "path=$TMP/other"
check "duplicate id: 500 already defined" [ "$CODE" = 500 ] && \
    check "duplicate id message" [ "$(jget .message)" = "create storage failed: storage ID 'store1' already defined" ]
unchanged "duplicate id"
api POST /storage -d storage=1bad -d type=dir -d "path=$TMP/x"
check "bad storage id: 400 with errors.storage" [ "$CODE" = 400 -a -n "$(jget .errors.storage)" ]
unchanged "bad storage id"
api POST /storage -d storage=nopath -d type=dir
check "dir without path: 500 missing required option" \
    [ "$CODE" = 500 -a "$(jget .message)" = "missing value for required option 'path'" ]
unchanged "missing path"
api POST /storage -d storage=x1 -d type=dir -d "path=$TMP/x" -d export=/foo
check "option of another type: unexpected property" \
    [ "$CODE" = 500 -a "$(jget .message)" = "unexpected property 'export'" ]
unchanged "unexpected property"
api POST /storage -d storage=x1 -d type=dir -d "path=$TMP/x" -d content=iso,bogus
check "unknown content type: 400" [ "$CODE" = 400 -a -n "$(jget .errors.content)" ]
unchanged "unknown content"
api POST /storage -d storage=x1 -d type=lvm -d vgname=pve -d content=iso
check "content the type does not support: 500" \
    [ "$CODE" = 500 -a "$(jget .message)" = "storage does not support content type 'iso'" ]
unchanged "unsupported content"
api POST /storage -d storage=x1 -d type=dir -d "path=$TMP/x" -d shared=true
check "boolean 'true': 400" [ "$CODE" = 400 -a -n "$(jget .errors.shared)" ]
api POST /storage -d storage=x1 -d type=floppy -d "path=$TMP/x"
check "unknown type: 400" [ "$CODE" = 400 -a -n "$(jget .errors.type)" ]
api POST /storage -d storage=x1 -d type=dir -d path=relative
check "relative path: 400" [ "$CODE" = 400 -a -n "$(jget .errors.path)" ]
api POST /storage -d storage=x1 -d type=dir -d "path=$TMP/x" -d foo=1
check "unknown parameter: 400" [ "$CODE" = 400 -a -n "$(jget .errors.foo)" ]
unchanged "bad parameters"
check "no directory made for refused storages" [ ! -e "$TMP/x" ]

# other types are accepted and stored with their options
api POST /storage -d storage=nas -d type=nfs -d server=192.0.2.10 -d export=/export/pve \
    -d path=/mnt/pve/nas -d content=images,iso -d options=vers=4.2 -d disable=1
check "create nfs" [ "$CODE" = 200 ]
api POST /storage -d storage=share -d type=cifs -d server=192.0.2.11 -d share=pve \
    -d path=/mnt/pve/share -d username=u1 -d password=s3cret -d disable=1
check "create cifs" [ "$CODE" = 200 ]
api POST /storage -d storage=vg -d type=lvm -d vgname=pve -d shared=1
check "create lvm" [ "$CODE" = 200 ]
api POST /storage -d storage=thin -d type=lvmthin -d vgname=pve -d thinpool=data -d content=rootdir,images
check "create lvmthin" [ "$CODE" = 200 ]
api POST /storage -d storage=zfs1 -d type=zfspool -d pool=rpool/data -d sparse=1 -d nodes=$NODE
check "create zfspool" [ "$CODE" = 200 ]
api POST /storage -d storage=ceph -d type=rbd -d pool=rbd -d krbd=0 -d monhost=192.0.2.1
check "create rbd" [ "$CODE" = 200 ]
api POST /storage -d storage=backup -d type=pbs -d server=192.0.2.20 -d datastore=ds1 \
    -d username=backup@pbs -d password=pbspw -d fingerprint="$(printf 'AB:%.0s' $(seq 31))AB"
check "create pbs" [ "$CODE" = 200 ]
NAS=$'nfs: nas\n\tdisable\n\texport /export/pve\n\tpath /mnt/pve/nas\n\tserver 192.0.2.10\n\tcontent images,iso\n\toptions vers=4.2\n'
SHARE=$'cifs: share\n\tdisable\n\tpath /mnt/pve/share\n\tserver 192.0.2.11\n\tshare pve\n\tusername u1\n'
VG=$'lvm: vg\n\tvgname pve\n\tcontent images\n\tshared 1\n'
THIN=$'lvmthin: thin\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n'
ZFS=$'zfspool: zfs1\n\tpool rpool/data\n\tcontent images,rootdir\n\tnodes '"$NODE"$'\n\tsparse 1\n'
CEPH=$'rbd: ceph\n\tcontent images\n\tkrbd 0\n\tmonhost 192.0.2.1\n\tpool rbd\n'
PBS=$'pbs: backup\n\tdatastore ds1\n\tserver 192.0.2.20\n\tfingerprint '"$(printf 'AB:%.0s' $(seq 31))AB"$'\n\tusername backup@pbs\n'
# default content is written once the file is rewritten (upstream applies it at read time)
PBS_C=$'pbs: backup\n\tdatastore ds1\n\tserver 192.0.2.20\n\tcontent backup\n\tfingerprint '"$(printf 'AB:%.0s' $(seq 31))AB"$'\n\tusername backup@pbs\n'
SHARE_C=$'cifs: share\n\tdisable\n\tpath /mnt/pve/share\n\tserver 192.0.2.11\n\tshare pve\n\tcontent images\n\tusername u1\n'
expect_text "$LOCAL"$'\n'"$S1"$'\n'"$NAS"$'\n'"$SHARE_C"$'\n'"$VG"$'\n'"$THIN"$'\n'"$ZFS"$'\n'"$CEPH"$'\n'"$PBS" \
    "storage.cfg after creating nfs, cifs, lvm, lvmthin, zfspool, rbd, pbs"
check "passwords go to priv/storage/<id>.pw, not storage.cfg" \
    eval '[ "$(cat "$MNT/priv/storage/share.pw")" = password=s3cret -a "$(cat "$MNT/priv/storage/backup.pw")" = pbspw ] &&
        ! grep -q s3cret "$CFG"'

# ---- read -----------------------------------------------------------------------------------
api GET /storage/store1
check "read store1" [ "$CODE" = 200 -a "$(jget .data.path)" = "$STORE" -a "$(jget .data.content)" = iso,vztmpl,backup ]
DIGEST=$(jget .data.digest)
check "digest is the SHA-1 of storage.cfg" [ "$DIGEST" = "$(sha1sum "$CFG" | cut -d' ' -f1)" ]
api GET /storage/nas
check "nfs is shared by type" [ "$(jget .data.shared)" = 1 -a "$(jget .data.disable)" = 1 ]
api GET /storage/nope
check "read unknown storage: 500" [ "$CODE" = 500 -a "$(jget .message)" = "storage 'nope' does not exist" ]
api GET /storage -d type=lvmthin
check "list filtered by type" [ "$(jget '[.data[].storage] | join(",")')" = thin ]
api GET /storage -d type=tape
check "list with unknown type: 400" [ "$CODE" = 400 ]

# ---- update ---------------------------------------------------------------------------------
BEFORE=$(sum)
api PUT /storage/store1 -d content=iso,vztmpl,backup,snippets -d digest=0000000000000000000000000000000000000000
check "update with a stale digest: 500" \
    [ "$CODE" = 500 -a "$(jget .message)" = "update storage failed: detected modified configuration - file changed by other user? Try again." ]
unchanged "stale digest"
api PUT /storage/store1 -d "path=$TMP/elsewhere"
check "path cannot be updated: 400" [ "$CODE" = 400 -a -n "$(jget .errors.path)" ]
api PUT /storage/store1 -d delete=path
check "delete of a required option: 500" \
    [ "$CODE" = 500 -a "$(jget .message)" = "update storage failed: unable to delete required option 'path'" ]
api PUT /storage/store1 -d delete=content -d content=iso
check "set and delete at once: 500" [ "$CODE" = 500 ]
api PUT /storage/store1 -d delete=export
check "delete of an option the type lacks: 500" \
    [ "$CODE" = 500 -a "$(jget .message)" = "update storage failed: no such option 'export'" ]
api PUT /storage/store1 -d nodes=bad_node!
check "bad node list: 400" [ "$CODE" = 400 ]
api PUT /storage/nope -d content=iso
check "update unknown storage: 500" [ "$CODE" = 500 ]
unchanged "refused updates"
api PUT /storage/store1 -d content=iso,vztmpl,backup,snippets,images -d "digest=$DIGEST" -d shared=0
check "update store1" [ "$CODE" = 200 -a "$(jget .data.type)" = dir ]
S1=$'dir: store1\n\tpath '"$STORE"$'\n\tcontent iso,vztmpl,backup,snippets,images\n\tshared 0\n'
api PUT /storage/zfs1 -d delete=nodes,sparse -d blocksize=16k
check "update zfs1 with delete=" [ "$CODE" = 200 ]
ZFS=$'zfspool: zfs1\n\tpool rpool/data\n\tblocksize 16k\n\tcontent images,rootdir\n'
api PUT /storage/share -d disable=0 -d delete=password
check "update cifs: enable, drop password" [ "$CODE" = 200 -a ! -e "$MNT/priv/storage/share.pw" ]
SHARE_C=$'cifs: share\n\tpath /mnt/pve/share\n\tserver 192.0.2.11\n\tshare pve\n\tcontent images\n\tusername u1\n'
expect_text "$LOCAL"$'\n'"$S1"$'\n'"$NAS"$'\n'"$SHARE_C"$'\n'"$VG"$'\n'"$THIN"$'\n'"$ZFS"$'\n'"$CEPH"$'\n'"$PBS_C" \
    "storage.cfg after updates"

# ---- delete ---------------------------------------------------------------------------------
api DELETE /storage/ceph
check "delete rbd" [ "$CODE" = 200 -a "$(jget .data)" = "" ]
api DELETE /storage/backup
check "delete pbs removes its password file" [ "$CODE" = 200 -a ! -e "$MNT/priv/storage/backup.pw" ]
BEFORE=$(sum)
api DELETE /storage/ceph
check "delete unknown: 500" [ "$CODE" = 500 -a "$(jget .message)" = "delete storage failed: storage 'ceph' does not exist" ]
unchanged "delete unknown"
expect_text "$LOCAL"$'\n'"$S1"$'\n'"$NAS"$'\n'"$SHARE_C"$'\n'"$VG"$'\n'"$THIN"$'\n'"$ZFS" \
    "storage.cfg after delete"

# ---- node status ----------------------------------------------------------------------------
api GET $N/storage
check "node storage list" [ "$CODE" = 200 ]
s1() { jget ".data[] | select(.storage == \"store1\") | $1"; }
check "store1 active with statvfs numbers" \
    [ "$(s1 .active)" = 1 -a "$(s1 .enabled)" = 1 -a "$(s1 .shared)" = 0 -a "$(s1 .type)" = dir ]
df_total=$(($(stat -f -c %b "$STORE") * $(stat -f -c %S "$STORE")))
check "store1 total = statvfs blocks" [ "$(s1 .total)" = "$df_total" -a "$(s1 .avail)" -gt 0 -a "$(s1 .used)" -gt 0 ]
check "used_fraction = used/total" \
    [ "$(jget '.data[] | select(.storage=="store1") | ((.used_fraction - .used/.total) | if . < 0 then -. else . end) < 0.000001')" = true ]
check "disabled nfs listed as enabled=0 active=0" \
    [ "$(jget '.data[] | select(.storage=="nas") | "\(.enabled)\(.active)\(.shared)"')" = 001 ]
api GET $N/storage -d content=iso
check "content=iso: enabled storages with iso" [ "$(jget '[.data[].storage] | sort | join(",")')" = local,store1 ]
api GET $N/storage -d enabled=1
check "enabled=1 drops the disabled nfs" [ "$(jget '[.data[].storage] | index("nas")')" = "" ] && \
    check "enabled=1 keeps store1" [ -n "$(s1 .storage)" ]
api GET $N/storage -d storage=store1 -d format=1
check "storage= filter and format=1" \
    [ "$(jget '.data | length')" = 1 -a "$(jget .data[0].formats.default)" = raw -a \
      "$(jget '.data[0].formats.supported | join(",")')" = qcow2,raw,subvol,vmdk ]
api GET $N/storage -d target=othernode
check "target=othernode: only shared storages available there" \
    [ "$(jget '[.data[].storage] | sort | join(",")')" = nas,share,vg ]
api GET $N/storage -d storage=nope
check "unknown storage filter: 400" [ "$CODE" = 400 -a "$(jget .errors.storage)" = "No such storage." ]
api GET /nodes/othernode/storage
check "another node: refused (no forwarding here)" [ "$CODE" = 500 ]
api GET $N/storage/store1
check "storage dir index" [ "$CODE" = 200 -a "$(jget '[.data[].subdir] | index("upload") != null')" = true ]
api GET $N/storage/store1/status
check "status of store1" [ "$CODE" = 200 -a "$(jget .data.active)" = 1 -a "$(jget .data.total)" = "$df_total" \
    -a "$(jget .data.content)" = iso,vztmpl,backup,snippets,images ]
api GET $N/storage/nope/status
check "status of unknown storage: 400" [ "$CODE" = 400 ]

# ---- upload ---------------------------------------------------------------------------------
head -c 3000000 /dev/urandom >"$TMP/test.iso"
ISO_SHA=$(sha256sum "$TMP/test.iso" | cut -d' ' -f1)
api POST $N/storage/store1/upload -F content=iso -F checksum-algorithm=sha256 -F "checksum=$ISO_SHA" \
    -F "filename=@$TMP/test.iso"
check "upload ISO answers a UPID" [ "$CODE" = 200 ] && check "UPID of an imgcopy task" \
    [ "$(jget .data | cut -d: -f6,8)" = "imgcopy:root@pam" ]
st=$(task_wait "$(jget .data)")
check "upload task OK" [ "$st" = "TASK OK" ]
check "uploaded file is identical" cmp -s "$TMP/test.iso" "$STORE/template/iso/test.iso"
check "no temporary upload file left" [ -z "$(ls -A /var/tmp)" -a -z "$(ls -A "$STORE/template/iso" | grep -v '^test.iso$')" ]

api POST $N/storage/store1/upload -F content=iso -F checksum-algorithm=md5 -F checksum=00112233445566778899aabbccddeeff \
    -F "filename=@$TMP/test.iso;filename=bad sum.iso"
st=$(task_wait "$(jget .data)")
check "wrong checksum: task fails with checksum mismatch" \
    [ "$st" = "TASK ERROR: checksum mismatch: got '$(md5sum "$TMP/test.iso" | cut -d' ' -f1)' != expect '00112233445566778899aabbccddeeff'" ]
check "wrong checksum: nothing stored, nothing left over" \
    [ ! -e "$STORE/template/iso/bad_sum.iso" -a "$(ls -A "$STORE/template/iso")" = test.iso -a -z "$(ls -A /var/tmp)" ]

printf 'template' >"$TMP/debian.tar.zst"
api POST $N/storage/store1/upload -F content=vztmpl -F "filename=@$TMP/debian.tar.zst"
st=$(task_wait "$(jget .data)")
check "upload container template" [ "$st" = "TASK OK" -a -f "$STORE/template/cache/debian.tar.zst" ]
api POST $N/storage/store1/upload -F content=iso -F "filename=@$TMP/debian.tar.zst"
check "wrong extension: 400 errors.filename" [ "$CODE" = 400 -a "$(jget .errors.filename)" = "wrong file extension" ]
api POST $N/storage/store1/upload -F content=images -F "filename=@$TMP/test.iso"
check "content images: 400" [ "$CODE" = 400 ]
api POST $N/storage/store1/upload -F content=iso -F checksum=abc -F "filename=@$TMP/test.iso"
check "checksum without algorithm: 400" [ "$CODE" = 400 ]
api POST $N/storage/vg/upload -F content=iso -F "filename=@$TMP/test.iso"
check "storage without iso content: 500" [ "$CODE" = 500 ]
check "refused uploads leave no temporary files" [ -z "$(ls -A /var/tmp)" ]
api POST $N/storage/store1/upload -H 'Content-Type: multipart/form-data; boundary=xyz' \
    --data-binary $'--xyz\r\nContent-Disposition: form-data; name="content"\r\n\r\niso\r\n--xy'
check "truncated multipart body: 400" [ "$CODE" = 400 ]
api POST $N/storage/store1/content -F content=iso -F "filename=@$TMP/debian.tar.zst"
check "multipart elsewhere: 506" [ "$CODE" = 506 ]

# ---- content --------------------------------------------------------------------------------
mkdir -p "$STORE/images/100" "$STORE/snippets"
truncate -s 1M "$STORE/images/100/vm-100-disk-0.raw"
printf 'backup' >"$STORE/dump/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst"
printf 'my notes\n' >"$STORE/dump/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst.notes"
printf 'junk' >"$STORE/template/iso/readme.txt"
api GET $N/storage/store1/content
check "content listing" [ "$CODE" = 200 ]
check "volids sorted, junk ignored" [ "$(jget '[.data[].volid] | join(" ")')" = \
    "store1:100/vm-100-disk-0.raw store1:backup/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst store1:iso/test.iso store1:vztmpl/debian.tar.zst" ]
item() { jget ".data[] | select(.volid == \"$1\") | $2"; }
check "iso entry" [ "$(item store1:iso/test.iso '"\(.format) \(.size) \(.content)"')" = "iso 3000000 iso" -a \
    "$(item store1:iso/test.iso .ctime)" -gt 0 ]
check "template entry" [ "$(item store1:vztmpl/debian.tar.zst '"\(.format) \(.content)"')" = "tzst vztmpl" ]
check "image entry" [ "$(item store1:100/vm-100-disk-0.raw '"\(.format) \(.size) \(.vmid) \(.content)"')" = "raw 1048576 100 images" ]
B=store1:backup/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst
check "backup entry: format, vmid, ctime from the name, notes" \
    [ "$(item $B '"\(.format) \(.vmid) \(.subtype) \(.notes)"')" = "vma.zst 100 qemu my notes" -a \
      "$(item $B .ctime)" = "$(date -d '2024-01-02 03:04:05' +%s)" ]
api GET $N/storage/store1/content -d content=iso
check "content=iso filter" [ "$(jget '[.data[].volid] | join(" ")')" = store1:iso/test.iso ]
api GET $N/storage/store1/content -d vmid=100
check "vmid=100 filter" [ "$(jget '.data | length')" = 2 ]
api GET $N/storage/store1/content -d content=floppy
check "bad content filter: 400" [ "$CODE" = 400 ]
api GET $N/storage/store1/content/iso/test.iso
check "volume info" [ "$CODE" = 200 -a "$(jget .data.path)" = "$STORE/template/iso/test.iso" \
    -a "$(jget .data.size)" = 3000000 -a "$(jget .data.format)" = raw -a "$(jget .data.used)" -gt 0 ]
api GET $N/storage/store1/content/store1:iso/test.iso
check "volume info by full volid" [ "$CODE" = 200 ]
api GET $N/storage/store1/content/local:iso/test.iso
check "volid of another storage: 400" [ "$CODE" = 400 -a -n "$(jget .errors.volume)" ]
api GET $N/storage/store1/content/iso/..%2Fx.iso
check "path traversal in a volume name: refused" [ "$CODE" = 500 ]

# ---- permissions ----------------------------------------------------------------------------
add_pve_user aud@pve audpw PVEAuditor /
add_pve_user none@pve nonepw
add_pve_user du@pve dupw PVEDatastoreAdmin /storage/store1
login aud@pve audpw
BEFORE=$(sum)
api GET /storage
check "auditor lists storages" [ "$CODE" = 200 -a "$(jget '.data | length')" = 7 ]
api GET /storage/store1
check "auditor cannot read a storage config: 403" [ "$CODE" = 403 ]
api POST /storage -d storage=aud1 -d type=dir -d "path=$TMP/aud1"
check "auditor create: 403" [ "$CODE" = 403 ]
api PUT /storage/store1 -d content=iso
check "auditor update: 403" [ "$CODE" = 403 ]
api DELETE /storage/store1
check "auditor delete: 403" [ "$CODE" = 403 ]
unchanged "auditor's modifications"
api POST $N/storage/store1/upload -F content=iso -F "filename=@$TMP/test.iso;filename=aud.iso"
check "auditor upload: 403" [ "$CODE" = 403 -a ! -e "$STORE/template/iso/aud.iso" -a -z "$(ls -A /var/tmp)" ]
api DELETE $N/storage/store1/content/iso/test.iso
check "auditor volume delete: 403" [ "$CODE" = 403 -a -f "$STORE/template/iso/test.iso" ]
api GET $N/storage/store1/content
check "auditor sees templates but not guest volumes" \
    [ "$(jget '[.data[].volid] | join(" ")')" = "store1:iso/test.iso store1:vztmpl/debian.tar.zst" ]
login none@pve nonepw
api GET /storage
check "user without privileges: empty storage list" [ "$CODE" = 200 -a "$(jget '.data | length')" = 0 ]
api GET $N/storage
check "user without privileges: empty status list" [ "$CODE" = 200 -a "$(jget '.data | length')" = 0 ]
api GET $N/storage/store1/content
check "user without privileges: content 403" [ "$CODE" = 403 ]
login du@pve dupw
api GET /storage
check "datastore admin on /storage/store1 sees only store1" [ "$(jget '[.data[].storage] | join(",")')" = store1 ]
api POST $N/storage/store1/upload -F content=iso -F "filename=@$TMP/test.iso;filename=du.iso"
check "PVEDatastoreAdmin on the storage may upload templates" [ "$CODE" = 200 ] && \
    check "upload by datastore admin finished" [ "$(task_wait "$(jget .data)")" = "TASK OK" ]
as_root

# ---- volume delete --------------------------------------------------------------------------
api DELETE $N/storage/store1/content/iso/du.iso
check "volume delete answers a UPID" [ "$CODE" = 200 -a "$(jget .data | cut -d: -f6,7)" = "imgdel:store1" ]
check "volume delete task OK" [ "$(task_wait "$(jget .data)")" = "TASK OK" -a ! -e "$STORE/template/iso/du.iso" ]
api DELETE "$N/storage/store1/content/store1:100/vm-100-disk-0.raw?delay=5"
check "delete with delay: finished task gives null" [ "$CODE" = 200 -a "$(jget .data)" = "" ] && \
    check "image and its empty vmid dir removed" [ ! -e "$STORE/images/100" ]
touch "$STORE/dump/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst.protected"
api DELETE "$N/storage/store1/content/$B?delay=5"
check "protected backup: 500" [ "$CODE" = 500 -a -f "$STORE/dump/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst" ]
rm "$STORE/dump/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst.protected"
api DELETE $N/storage/store1/content/$B
check "backup delete: UPID id has the owner" [ "$(jget .data | cut -d: -f7)" = "100@store1" ]
task_wait "$(jget .data)" >/dev/null
check "backup and notes removed" [ -z "$(ls -A "$STORE/dump")" ]
api GET $N/storage/store1/content
check "listing after deletes" [ "$(jget '[.data[].volid] | join(" ")')" = "store1:iso/test.iso store1:vztmpl/debian.tar.zst" ]

api DELETE /storage/store1
check "delete store1" [ "$CODE" = 200 ]
check "delete keeps the data" [ -f "$STORE/template/iso/test.iso" ]
expect_text "$LOCAL"$'\n'"$NAS"$'\n'"$SHARE_C"$'\n'"$VG"$'\n'"$THIN"$'\n'"$ZFS" "storage.cfg after deleting store1"

# ---- allocate guest images (POST content) -----------------------------------------------------
IMG=$TMP/img1
api POST /storage -d storage=img1 -d type=dir -d "path=$IMG" -d content=images,rootdir
check "create img1 for images" [ "$CODE" = 200 ]
vsize() { qemu-img info --output=json "$1" 2>/dev/null | jq -r '."virtual-size"'; }
vfmt() { qemu-img info --output=json "$1" 2>/dev/null | jq -r '.format'; }
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-0.qcow2 -d size=1G
check "allocate a qcow2: the volid" [ "$CODE" = 200 -a "$(jget .data)" = img1:100/vm-100-disk-0.qcow2 ]
F=$IMG/images/100/vm-100-disk-0.qcow2
check "qcow2 file with 1 GiB virtual size" [ "$(vfmt "$F")" = qcow2 -a "$(vsize "$F")" = 1073741824 ]
check "image mode 0640 as upstream's umask" [ "$(stat -c %a "$F")" = 640 ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-1.raw -d size=2048
check "size without unit is KiB: raw of 2 MiB" [ "$CODE" = 200 -a "$(jget .data)" = img1:100/vm-100-disk-1.raw ] && \
    check "raw virtual size" [ "$(vfmt "$IMG/images/100/vm-100-disk-1.raw")" = raw -a "$(vsize "$IMG/images/100/vm-100-disk-1.raw")" = 2097152 ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-2.vmdk -d size=3M -d format=vmdk
check "vmdk with M size" [ "$CODE" = 200 -a "$(vfmt "$IMG/images/100/vm-100-disk-2.vmdk")" = vmdk \
    -a "$(vsize "$IMG/images/100/vm-100-disk-2.vmdk")" = 3145728 ]
api POST $N/storage/img1/content -d vmid=101 -d filename=vm-101-disk-0.subvol -d format=subvol -d size=0
check "subvol: a directory" [ "$CODE" = 200 -a -d "$IMG/images/101/vm-101-disk-0.subvol" ]
api POST $N/storage/img1/content -d vmid=101 -d filename=vm-101-disk-1.subvol -d format=subvol -d size=1G
check "subvol with a size: 500 no quotas" [ "$CODE" = 500 -a "$(jget .message)" = "storage does not support subvol quotas" \
    -a ! -e "$IMG/images/101/vm-101-disk-1.subvol" ]
api GET $N/storage/img1/content
check "listing shows the qcow2's virtual size" \
    [ "$(jget '.data[] | select(.volid == "img1:100/vm-100-disk-0.qcow2") | "\(.format) \(.size) \(.vmid)"')" = "qcow2 1073741824 100" ]
api GET $N/storage/img1/content/img1:100/vm-100-disk-0.qcow2
check "volume info: qcow2 virtual size" [ "$CODE" = 200 -a "$(jget .data.size)" = 1073741824 -a "$(jget .data.format)" = qcow2 ]

before=$(find "$IMG" | sort | md5sum)
same_files() { check "$1 (no file made)" [ "$(find "$IMG" | sort | md5sum)" = "$before" ]; }
cp "$F" "$TMP/disk0.copy"
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-0.qcow2 -d size=2G
check "existing name: 500 already exists" \
    [ "$CODE" = 500 -a "$(jget .message)" = "disk image '$F' already exists" ] && \
    check "existing image untouched" cmp -s "$F" "$TMP/disk0.copy"
for bad in 1.5G 10T abc 12K -1 ''; do
    api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9.raw -d "size=$bad"
    check "bad size '$bad': 400 errors.size" [ "$CODE" = 400 -a -n "$(jget .errors.size)" ]
done
same_files "bad sizes"
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9.raw -d size=1G -d format=qcow2
check "format differs from the extension: 400 errors.format" \
    [ "$CODE" = 400 -a "$(jget .errors.format)" = "different storage formats (qcow2 != raw)" ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9.raw -d size=1G -d format=floppy
check "unknown format: 400" [ "$CODE" = 400 -a -n "$(jget .errors.format)" ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9.raw
check "missing size: 400" [ "$CODE" = 400 -a -n "$(jget .errors.size)" ]
api POST $N/storage/img1/content -d vmid=99 -d filename=vm-99-disk-9.raw -d size=1G
check "vmid below 100: 400" [ "$CODE" = 400 -a -n "$(jget .errors.vmid)" ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9.raw -d size=1G -d foo=1
check "unknown parameter: 400" [ "$CODE" = 400 -a -n "$(jget .errors.foo)" ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-101-disk-9.raw -d size=1G
check "name of another guest: 500 illegal name" \
    [ "$CODE" = 500 -a "$(jget .message)" = "illegal name 'vm-101-disk-9.raw' - should be 'vm-100-*'" ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-x/../../../escape.raw -d size=1G
check "name with a path: refused" [ "$CODE" = 500 -a ! -e "$TMP/escape.raw" ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9 -d size=1G
check "name without extension: 500 unable to parse" [ "$CODE" = 500 -a -n "$(jget .message)" ]
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9.qcow2 -d size=99999999G
echo "# $(jget .message)"
check "qemu-img refuses a size: 500 with its error" \
    [ "$CODE" = 500 -a "$(jget .message | grep -c '^unable to create image: ')" = 1 ] && \
    check "no partial image left" [ ! -e "$IMG/images/100/vm-100-disk-9.qcow2" ]
api POST $N/storage/nope/content -d vmid=100 -d filename=vm-100-disk-9.raw -d size=1G
check "unknown storage: 500" [ "$CODE" = 500 -a "$(jget .message)" = "storage 'nope' does not exist" ]
api PUT /storage/img1 -d disable=1
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-9.raw -d size=1G
check "disabled storage: 500" [ "$CODE" = 500 -a "$(jget .message)" = "storage 'img1' is disabled" ]
api PUT /storage/img1 -d delete=disable
same_files "refused allocations"

# a full disk: qemu-img fails writing the header, nothing is left behind
mkdir -p "$TMP/tiny" && mount -t tmpfs -o size=16k tmpfs "$TMP/tiny"
api POST /storage -d storage=tiny -d type=dir -d "path=$TMP/tiny" -d content=images
head -c 12288 /dev/zero >"$TMP/tiny/filler" 2>/dev/null
api POST $N/storage/tiny/content -d vmid=100 -d filename=vm-100-disk-0.qcow2 -d size=1G
echo "# $(jget .message)"
check "disk full: 500 unable to create image" \
    [ "$CODE" = 500 -a "$(jget .message | grep -c '^unable to create image: ')" = 1 ] && \
    check "disk full: no partial file, no empty vmid dir" [ ! -e "$TMP/tiny/images/100" ]
umount "$TMP/tiny"

login aud@pve audpw
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-5.raw -d size=1G
check "auditor allocate: 403" [ "$CODE" = 403 -a ! -e "$IMG/images/100/vm-100-disk-5.raw" ]
login du@pve dupw
api POST $N/storage/img1/content -d vmid=100 -d filename=vm-100-disk-5.raw -d size=1G
check "datastore admin of another storage: 403" [ "$CODE" = 403 ]
as_root

api_finish
