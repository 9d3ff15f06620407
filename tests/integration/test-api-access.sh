#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# /access and /pools: users, API tokens, groups, roles, ACLs, realms, passwords, permissions
# and resource pools, against pmxcfs + pvedaemon. Success paths with upstream's fields, bad
# input (400 with an errors map and no change on disk), permission failures (a PVEAuditor gets
# 403 on every change), a created token and a created user authenticating, password changes
# (pve realm through shadow.cfg, pam realm through a stand-in chpasswd) and the exact user.cfg
# and domains.cfg text after a sequence of operations. TAP on stdout.

. "$(dirname "$0")/lib-api.sh"

# chpasswd stand-in for the pam realm, found through PATH by pvedaemon: it logs what it gets
# and fails for the user "failme" (set up inside the test namespace only).
if [ -n "${PVE_API_TEST_NS:-}" ]; then
    FAKEBIN=$(mktemp -d /tmp/test-api-access-bin.XXXXXX)
    cat >"$FAKEBIN/chpasswd" <<EOF
#!/bin/sh
read -r line
echo "\$line" >>"$FAKEBIN/chpasswd.log"
case "\$line" in failme:*) echo "chpasswd: user 'failme' does not exist" >&2; exit 1;; esac
exit 0
EOF
    chmod +x "$FAKEBIN/chpasswd"
    export PATH="$FAKEBIN:$PATH"
fi
api_setup
trap 'api_cleanup; rm -rf "$FAKEBIN"' EXIT

login root@pam "$ROOT_PASSWORD"
check "root@pam login" [ "$CODE" = 200 ]
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
as_root() { TOKEN= TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF; }

sum() { cat "$MNT/user.cfg" "$MNT/domains.cfg" "$MNT/priv/shadow.cfg" "$MNT/priv/token.cfg" 2>/dev/null | md5sum; }
# bad "desc" METHOD PATH args...: 400 with errors.<key> (key = first word of desc) and no change
bad() {
    local d=$1 key=${1%% *}; shift
    local before; before=$(sum)
    api "$@"
    check "400 for $d" [ "$CODE" = 400 -a -n "$(jget ".errors[\"$key\"]")" ]
    check "no change on disk after $d" [ "$(sum)" = "$before" ]
}
# fails CODE "message part" METHOD PATH args...: that status, message contains the text, no change
fails() {
    local code=$1 msg=$2; shift 2
    local before; before=$(sum)
    api "$@"
    check "$code '$msg' ($1 $2)" eval '[ "$CODE" = "$code" ] && [[ $(jget .message) == *"$msg"* ]]'
    check "no change on disk after $1 $2 -> $code" [ "$(sum)" = "$before" ]
}

# ---- index and realms ----------------------------------------------------------------------

api GET /access
check "GET /access lists users, groups, roles, acl, domains, password, permissions" \
    [ "$(jget '[.data[].subdir] | map(select(. == "users" or . == "groups" or . == "roles" or . == "acl" or . == "domains" or . == "password" or . == "permissions")) | length')" = 7 ]

TICKET=
api GET /access/domains
check "GET /access/domains needs no login, has pam and pve with default comments" \
    [ "$CODE" = 200 -a "$(jget '.data[] | select(.realm=="pam") | .comment')" = "Linux PAM standard authentication" \
      -a "$(jget '.data[] | select(.realm=="pve") | .type')" = pve ]
as_root

# ---- users ---------------------------------------------------------------------------------

bad "userid invalid" POST /access/users -d userid=nouser
bad "userid missing" POST /access/users -d firstname=X
bad "foo unknown parameter" POST /access/users -d userid=x@pve -d foo=1
bad "password too short" POST /access/users -d userid=x@pve -d password=short
bad "email invalid" POST /access/users -d userid=x@pve -d email=not-an-email
bad "enable not a boolean" POST /access/users -d userid=x@pve -d enable=2
bad "expire negative" POST /access/users -d userid=x@pve -d expire=-5
bad "keys with a colon" POST /access/users -d userid=x@pve -d keys=a:b
fails 500 "create user failed: no such group 'nogroup'" POST /access/users -d userid=x@pve -d groups=nogroup

api POST /access/groups -d groupid=admins -d comment="Admin group"
check "POST /access/groups" [ "$CODE" = 200 ]
api POST /access/groups -d groupid=devs
check "POST /access/groups (no comment)" [ "$CODE" = 200 ]

api POST /access/users -d userid=alice@pve -d password=alicepass1 -d firstname=Alice \
    -d lastname=Doe -d email=alice@example.com --data-urlencode "comment=test: user" \
    -d groups=admins,devs -d expire=4102444800
check "POST /access/users alice@pve" [ "$CODE" = 200 -a "$BODY" = '{"data":null}' ]
check "password went to priv/shadow.cfg as SHA-256 crypt" grep -q '^alice@pve:\$5\$' "$MNT/priv/shadow.cfg"
fails 500 "create user failed: user 'alice@pve' already exists" POST /access/users -d userid=alice@pve
api POST /access/users -d userid=bob@pve -d enable=0 -d comment=Bob
check "POST /access/users bob@pve (disabled)" [ "$CODE" = 200 ]
api POST /access/users -d userid=pamuser@pam
check "POST /access/users pamuser@pam" [ "$CODE" = 200 ]

api GET /access/users/alice@pve
check "GET user: names, email, comment, expire, groups, enable" \
    [ "$(jget '[.data.firstname,.data.lastname,.data.email,.data.comment,.data.expire,.data.enable] | join("|")')" = "Alice|Doe|alice@example.com|test: user|4102444800|1" \
      -a "$(jget '.data.groups | join(",")')" = "admins,devs" ]
fails 500 "no such user ('nobody@pve')" GET /access/users/nobody@pve

api GET /access/users
check "GET /access/users: alice with realm-type pve, no groups/tokens without full" \
    [ "$(jget '.data[] | select(.userid=="alice@pve") | .["realm-type"]')" = pve \
      -a "$(jget '.data[] | select(.userid=="alice@pve") | has("groups") | not')" = true ]
check "GET /access/users: root@pam realm-type pam" [ "$(jget '.data[] | select(.userid=="root@pam") | .["realm-type"]')" = pam ]
api GET /access/users -d full=1
check "GET /access/users full=1: groups as a comma list, tokens array" \
    [ "$(jget '.data[] | select(.userid=="alice@pve") | .groups')" = "admins,devs" \
      -a "$(jget '.data[] | select(.userid=="alice@pve") | .tokens | type')" = array ]
api GET /access/users -d enabled=0
check "GET /access/users enabled=0: only bob" [ "$(jget '[.data[].userid] | join(",")')" = "bob@pve" ]

api PUT /access/users/bob@pve -d enable=1 -d groups=devs -d email=bob@example.com
check "PUT user: enable, groups, email" [ "$CODE" = 200 ]
api PUT /access/users/bob@pve -d groups=admins -d append=1
api GET /access/users/bob@pve
check "PUT user append=1 adds to groups" [ "$(jget '.data.groups | join(",")')" = "admins,devs" -a "$(jget .data.enable)" = 1 ]
api PUT /access/users/bob@pve -d groups=admins
api GET /access/users/bob@pve
check "PUT user groups without append replaces them" [ "$(jget '.data.groups | join(",")')" = "admins" ]
bad "groups needed by append" PUT /access/users/bob@pve -d append=1
bad "enable not a boolean (PUT)" PUT /access/users/bob@pve -d enable=yes
fails 500 "update user failed: no such user ('nobody@pve')" PUT /access/users/nobody@pve -d comment=x

login alice@pve alicepass1
check "created pve user logs in with its password" [ "$CODE" = 200 ]
as_root

# ---- groups --------------------------------------------------------------------------------

api GET /access/groups
check "GET /access/groups: users as comma list, comment" \
    [ "$(jget '.data[] | select(.groupid=="admins") | .users')" = "alice@pve,bob@pve" \
      -a "$(jget '.data[] | select(.groupid=="admins") | .comment')" = "Admin group" ]
api GET /access/groups/devs
check "GET /access/groups/devs: members" [ "$(jget '.data.members | join(",")')" = "alice@pve" ]
api PUT /access/groups/devs -d comment="Developers"
api GET /access/groups/devs
check "PUT group comment" [ "$(jget .data.comment)" = Developers ]
bad "groupid invalid" POST /access/groups -d "groupid=a b"
fails 500 "create group failed: group 'devs' already exists" POST /access/groups -d groupid=devs
fails 500 "group 'none' does not exist" GET /access/groups/none
api POST /access/groups -d groupid=tmp
api DELETE /access/groups/tmp
api GET /access/groups/tmp
check "DELETE group" [ "$CODE" = 500 ]
fails 500 "delete group failed: group 'tmp' does not exist" DELETE /access/groups/tmp

# ---- roles ---------------------------------------------------------------------------------

api POST /access/roles -d roleid=VMPower -d privs=VM.PowerMgmt,VM.Audit
check "POST role" [ "$CODE" = 200 ]
bad "privs unknown privilege" POST /access/roles -d roleid=X -d privs=VM.Audit,VM.Fly
bad "roleid reserved PVE prefix" POST /access/roles -d roleid=PVEMine
bad "roleid invalid" POST /access/roles -d "roleid=a:b"
fails 500 "create role failed: role 'VMPower' already exists" POST /access/roles -d roleid=VMPower
api GET /access/roles
check "GET roles: built-ins special=1 (17), custom special=0" \
    [ "$(jget '[.data[] | select(.special==1)] | length')" = 17 \
      -a "$(jget '.data[] | select(.roleid=="VMPower") | "\(.privs) \(.special)"')" = "VM.Audit,VM.PowerMgmt 0" ]
api GET /access/roles/PVEAuditor
check "GET built-in role: privilege map" [ "$(jget '.data | keys | length')" = 7 -a "$(jget '.data["Sys.Audit"]')" = 1 ]
api PUT /access/roles/VMPower -d privs=VM.Console -d append=1
api GET /access/roles/VMPower
check "PUT role append=1" [ "$(jget '.data | keys | join(",")')" = "VM.Audit,VM.Console,VM.PowerMgmt" ]
api PUT /access/roles/VMPower -d privs=VM.Audit,VM.PowerMgmt
api GET /access/roles/VMPower
check "PUT role replaces privileges" [ "$(jget '.data | keys | join(",")')" = "VM.Audit,VM.PowerMgmt" ]
fails 500 "update role failed: auto-generated role 'PVEAdmin' cannot be modified" PUT /access/roles/PVEAdmin -d privs=VM.Audit
fails 500 "delete role failed: auto-generated role 'Administrator' cannot be deleted" DELETE /access/roles/Administrator
api POST /access/roles -d roleid=Tmp
api DELETE /access/roles/Tmp
check "DELETE custom role" [ "$CODE" = 200 ]
fails 500 "role 'Tmp' does not exist" GET /access/roles/Tmp

# ---- API tokens ----------------------------------------------------------------------------

api POST "/access/users/alice@pve/token/ci" -d comment="CI token"
check "POST token: full-tokenid, info, value" \
    [ "$(jget '.data["full-tokenid"]')" = 'alice@pve!ci' -a "$(jget .data.info.privsep)" = 1 \
      -a "$(jget .data.info.expire)" = 4102444800 -a "$(jget .data.info.comment)" = "CI token" ]
SECRET=$(jget .data.value)
check "token value is a UUID" grep -Eqx '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' <<<"$SECRET"
check "secret line in priv/token.cfg" grep -qx "alice@pve!ci $SECRET" "$MNT/priv/token.cfg"
api POST "/access/users/alice@pve/token/full" -d privsep=0 -d expire=0
check "POST token privsep=0 expire=0" [ "$(jget .data.info.privsep)" = 0 -a "$(jget .data.info.expire)" = 0 ]
FULL_SECRET=$(jget .data.value)
fails 500 "generating token failed: Token already exists." POST "/access/users/alice@pve/token/ci"
bad "tokenid invalid" POST "/access/users/alice@pve/token/1x"
bad "tokenid too long" POST "/access/users/alice@pve/token/t$(printf 'x%.0s' $(seq 300))"
bad "privsep not a boolean" POST "/access/users/alice@pve/token/x2" -d privsep=maybe
fails 500 "no such user ('nobody@pve')" POST "/access/users/nobody@pve/token/ci"

TOKEN="alice@pve!ci=$SECRET"
api GET /version
check "created token authenticates (GET /version)" [ "$CODE" = 200 ]
TOKEN="alice@pve!ci=00000000-0000-4000-8000-000000000000"
api GET /version
check "created token with a wrong secret: 401" [ "$CODE" = 401 ]
as_root

api GET "/access/users/alice@pve/token"
check "GET token list" [ "$(jget '[.data[].tokenid] | join(",")')" = "ci,full" ]
api GET "/access/users/alice@pve/token/ci"
check "GET token" [ "$(jget .data.comment)" = "CI token" -a "$(jget .data.privsep)" = 1 ]
fails 500 "no such token 'nope' for user 'alice@pve'" GET "/access/users/alice@pve/token/nope"
api PUT "/access/users/alice@pve/token/ci" -d comment="CI" -d expire=4000000000
check "PUT token returns the new info" [ "$(jget .data.comment)" = CI -a "$(jget .data.expire)" = 4000000000 ]
api PUT "/access/users/alice@pve/token/ci" -d delete=expire
check "PUT token delete=expire" [ "$(jget .data.expire)" = 0 ]
bad "delete unknown key" PUT "/access/users/alice@pve/token/ci" -d delete=color
api GET /access/users/alice@pve
check "GET user shows tokens as an object" [ "$(jget '.data.tokens.ci.comment')" = CI -a "$(jget '.data.tokens.full.privsep')" = 0 ]

api POST "/access/users/bob@pve/token/gone"
GONE_SECRET=$(jget .data.value)
api DELETE "/access/users/bob@pve/token/gone"
check "DELETE token" [ "$CODE" = 200 ]
check "DELETE token removes the secret line" bash -c "! grep -q 'bob@pve!gone' '$MNT/priv/token.cfg'"
TOKEN="bob@pve!gone=$GONE_SECRET"
api GET /version
check "deleted token no longer authenticates" [ "$CODE" = 401 ]
as_root

# ---- ACL -----------------------------------------------------------------------------------

api PUT /access/acl -d path=/ -d users=alice@pve -d roles=PVEAuditor
check "PUT acl user" [ "$CODE" = 200 ]
api PUT /access/acl -d path=/vms/100 -d groups=devs -d roles=VMPower,PVEVMUser -d propagate=0
check "PUT acl group, two roles, propagate=0" [ "$CODE" = 200 ]
api PUT /access/acl -d path=/vms -d 'tokens=alice@pve!ci' -d roles=PVEVMUser
check "PUT acl token" [ "$CODE" = 200 ]
api PUT /access/acl -d path=/storage -d users=bob@pve -d roles=PVEDatastoreUser
bad "users (and groups, tokens) missing" PUT /access/acl -d path=/ -d roles=PVEAuditor
bad "path invalid" PUT /access/acl -d path=/nothere -d users=bob@pve -d roles=PVEAuditor
bad "path with bad characters" PUT /access/acl -d "path=/vms/1 0" -d users=bob@pve -d roles=PVEAuditor
bad "roles missing" PUT /access/acl -d path=/ -d users=bob@pve
fails 500 "ACL update failed: role 'NoSuchRole' does not exist" PUT /access/acl -d path=/ -d users=bob@pve -d roles=NoSuchRole
fails 500 "ACL update failed: user 'nobody@pve' does not exist" PUT /access/acl -d path=/ -d users=nobody@pve -d roles=PVEAuditor
fails 500 "ACL update failed: group 'nogroup' does not exist" PUT /access/acl -d path=/ -d groups=nogroup -d roles=PVEAuditor
api GET /access/acl
check "GET acl: entries with type/ugid/roleid/propagate" \
    [ "$(jget '.data[] | select(.path=="/vms/100" and .roleid=="VMPower") | "\(.type) \(.ugid) \(.propagate)"')" = "group devs 0" \
      -a "$(jget '.data[] | select(.path=="/vms") | "\(.type) \(.ugid) \(.roleid)"')" = 'token alice@pve!ci PVEVMUser' \
      -a "$(jget '.data | length')" = 5 ]
api PUT /access/acl -d path=/storage -d users=bob@pve -d roles=PVEDatastoreUser -d delete=1
api GET /access/acl
check "PUT acl delete=1 removes the entry" [ "$(jget '[.data[] | select(.path=="/storage")] | length')" = 0 ]

# ---- permissions ---------------------------------------------------------------------------

login alice@pve alicepass1
api GET /access/permissions -d path=/vms/100
check "GET permissions path=/vms/100: group roles at that level, propagate 0" \
    [ "$(jget '.data["/vms/100"]["VM.PowerMgmt"]')" = 0 -a "$(jget '.data["/vms/100"]["VM.Console"]')" = 0 \
      -a "$(jget '.data["/vms/100"] | has("Sys.Audit") | not')" = true ]
api GET /access/permissions
check "GET permissions (all paths): / propagated Sys.Audit, /vms/100 present" \
    [ "$(jget '.data["/"]["Sys.Audit"]')" = 1 -a "$(jget '.data["/vms/100"]["VM.PowerMgmt"]')" = 0 ]
api GET /access/permissions -d 'userid=alice@pve!ci' -d path=/vms
check "GET permissions of an own token: privsep intersection" \
    [ "$CODE" = 200 -a "$(jget '.data["/vms"]["VM.Audit"]')" = 1 -a "$(jget '.data["/vms"] | has("VM.PowerMgmt") | not')" = true ]
api GET /access/permissions -d userid=bob@pve
check "GET permissions of another user with Sys.Audit on /access" [ "$CODE" = 200 ]
bad "userid invalid" GET /access/permissions -d userid=bad
TOKEN="alice@pve!full=$FULL_SECRET"
api GET /access/permissions -d path=/
check "token privsep=0 has the user's privileges" [ "$(jget '.data["/"]["Sys.Audit"]')" = 1 ]
as_root
add_pve_user carol@pve carolpass1 PVEVMUser /vms/100
login carol@pve carolpass1
api GET /access/permissions -d userid=alice@pve
check "GET permissions of another user without Sys.Audit: 403" [ "$CODE" = 403 ]
api GET /access/permissions
check "GET own permissions without Sys.Audit" [ "$CODE" = 200 -a "$(jget '.data["/vms/100"]["VM.Console"]')" = 1 ]
api GET /access/users
check "GET /access/users without User.Modify/Sys.Audit: only oneself" [ "$(jget '[.data[].userid] | join(",")')" = "carol@pve" ]
api GET /access/groups
check "GET /access/groups without privileges: empty" [ "$(jget '.data | length')" = 0 ]
api GET /access/acl
check "GET /access/acl without Sys.Audit or Permissions.Modify: empty" [ "$(jget '.data | length')" = 0 ]
as_root

# ---- passwords -----------------------------------------------------------------------------

api PUT /access/password -d userid=alice@pve -d password=newalicepw
check "root changes a pve password" [ "$CODE" = 200 ]
TICKET= login alice@pve alicepass1
check "old password no longer works" [ "$CODE" = 401 ]
login alice@pve newalicepw
check "new password works" [ "$CODE" = 200 ]
bad "confirmation-password missing for a self change" PUT /access/password -d userid=alice@pve -d password=alicepass2
fails 403 "Permission check failed" PUT /access/password -d userid=alice@pve -d password=alicepass2 -d confirmation-password=wrongpw
api PUT /access/password -d userid=alice@pve -d password=alicepass2 -d confirmation-password=newalicepw
check "self change with the confirmation password" [ "$CODE" = 200 ]
fails 403 "Permission check failed" PUT /access/password -d userid=bob@pve -d password=bobpass123 -d confirmation-password=alicepass2
TOKEN="alice@pve!ci=$SECRET"
fails 403 "not available with API token" PUT /access/password -d userid=alice@pve -d password=alicepass3
as_root
bad "password too short" PUT /access/password -d userid=alice@pve -d password=short
fails 500 "no such user ('ghost@pve')" PUT /access/password -d userid=ghost@pve -d password=ghostpass1
api PUT /access/password -d userid=pamuser@pam -d password=pampass123
check "pam realm: chpasswd gets user:password" [ "$CODE" = 200 -a "$(tail -1 "$FAKEBIN/chpasswd.log")" = "pamuser:pampass123" ]
api POST /access/users -d userid=failme@pam
fails 500 "change password failed: chpasswd: user 'failme' does not exist" PUT /access/password -d userid=failme@pam -d password=pampass123

# ---- realms --------------------------------------------------------------------------------

api POST /access/domains -d realm=corp -d type=ldap -d server1=ldap.example.com \
    -d base_dn=dc=example,dc=com -d user_attr=uid -d port=636 -d secure=1 --data-urlencode "comment=Corp: LDAP"
check "POST ldap realm" [ "$CODE" = 200 ]
fails 500 "add auth server failed: unable to add builtin auth type 'pve'" POST /access/domains -d realm=pve2 -d type=pve
fails 500 "add auth server failed: domain 'corp' already exists" POST /access/domains -d realm=corp -d type=ldap -d server1=x -d base_dn=y -d user_attr=uid
bad "base_dn missing for ldap" POST /access/domains -d realm=corp2 -d type=ldap -d server1=x -d user_attr=uid
bad "client-id not an ldap option" POST /access/domains -d realm=corp2 -d type=ldap -d server1=x -d base_dn=y -d user_attr=uid -d client-id=z
bad "type unknown" POST /access/domains -d realm=x1 -d type=kerberos
bad "realm invalid" POST /access/domains -d realm=1x -d type=ad -d server1=x -d domain=y
bad "tfa unknown type" PUT /access/domains/pve -d tfa=type=sms
api GET /access/domains/corp
check "GET realm: typed options, decoded comment, digest" \
    [ "$(jget '"\(.data.type) \(.data.port) \(.data.secure) \(.data.comment)"')" = "ldap 636 1 Corp: LDAP" \
      -a ${#BODY} -gt 0 -a "$(jget .data.digest | wc -c)" = 41 ]
DIGEST=$(jget .data.digest)
api PUT /access/domains/pve -d default=1 -d tfa=type=oath
check "PUT pve realm: default, tfa" [ "$CODE" = 200 ]
fails 400 "detected modified configuration" PUT /access/domains/corp -d comment=x -d digest="$DIGEST"
api PUT /access/domains/corp -d default=1 -d delete=port
check "PUT corp default=1, delete=port" [ "$CODE" = 200 ]
fails 500 "update auth server failed: no options specified" PUT /access/domains/corp
bad "domain not an ldap option (PUT)" PUT /access/domains/corp -d domain=x
api GET /access/domains
check "GET /access/domains: one default, tfa type shown" \
    [ "$(jget '[.data[] | select(.default==1) | .realm] | join(",")')" = corp \
      -a "$(jget '.data[] | select(.realm=="pve") | .tfa')" = oath ]
check "domains.cfg: canonical text" [ "$(cat "$MNT/domains.cfg")" = "$(printf '%s\n' \
    'pam: pam' '	comment Linux PAM standard authentication' '' \
    'pve: pve' '	comment Proxmox VE authentication server' '	tfa type=oath' '' \
    'ldap: corp' '	comment Corp%3A LDAP' '	base_dn dc=example,dc=com' '	server1 ldap.example.com' \
    '	user_attr uid' '	default 1' '	secure 1')" ]
api DELETE /access/domains/corp
check "DELETE realm" [ "$CODE" = 200 ]
fails 500 "delete auth server failed: authentication domain 'corp' does not exist" DELETE /access/domains/corp

# ---- pools ---------------------------------------------------------------------------------

mkdir -p "$MNT/nodes/$NODE/qemu-server" && printf 'memory: 512\n' >"$MNT/nodes/$NODE/qemu-server/100.conf"
api POST /pools -d poolid=lab --data-urlencode "comment=Lab VMs"
check "POST /pools" [ "$CODE" = 200 ]
api POST /pools -d poolid=lab/sub
check "POST /pools nested" [ "$CODE" = 200 ]
fails 500 "create pool failed: parent 'none' of pool 'none/sub' does not exist" POST /pools -d poolid=none/sub
fails 500 "create pool failed: pool 'lab' already exists" POST /pools -d poolid=lab
bad "poolid invalid" POST /pools -d "poolid=a b"
api POST /pools -d poolid=prod
api PUT /pools -d poolid=lab -d vms=100,101 -d storage=local
check "PUT /pools vms and storage" [ "$CODE" = 200 ]
bad "vms invalid" PUT /pools -d poolid=lab -d vms=abc
fails 500 "update pools failed: VM 100 belongs already to pool 'lab' and 'allow-move' is not set" PUT /pools -d poolid=prod -d vms=100
fails 500 "update pools failed: VM 100 is already a pool member" PUT /pools -d poolid=lab -d vms=100
fails 500 "update pools failed: Storage 'local' is already a pool member" PUT /pools/lab -d storage=local
api PUT /pools -d poolid=prod -d vms=101 -d allow-move=1
check "allow-move=1 moves a VM" [ "$CODE" = 200 ]
fails 500 "update pools failed: VM 102 is not a pool member" PUT /pools -d poolid=lab -d vms=102 -d delete=1
api GET /pools
check "GET /pools: ids and comments" [ "$(jget '[.data[].poolid] | join(",")')" = "lab,lab/sub,prod" \
    -a "$(jget '.data[] | select(.poolid=="lab") | .comment')" = "Lab VMs" ]
api GET /pools -d poolid=lab
check "GET /pools?poolid=lab: VM and storage members" \
    [ "$(jget '.data[0].members | map(.id) | join(",")')" = "qemu/100,storage/$NODE/local" \
      -a "$(jget '.data[0].members[0] | "\(.vmid) \(.node) \(.type)"')" = "100 $NODE qemu" ]
api GET /pools -d poolid=lab -d type=storage
check "GET /pools type=storage" [ "$(jget '.data[0].members | map(.type) | join(",")')" = storage ]
bad "poolid needed by type" GET /pools -d type=qemu
api GET /pools/lab
check "GET /pools/{poolid} (legacy)" [ "$(jget .data.comment)" = "Lab VMs" -a "$(jget '.data.members | length')" = 2 ]
fails 500 "pool 'none' does not exist" GET /pools/none
fails 500 "delete pool failed: pool 'lab' is not empty (contains pool 'lab/sub')" DELETE "/pools?poolid=lab"
api DELETE "/pools?poolid=lab%2Fsub"
check "DELETE nested pool" [ "$CODE" = 200 ]
fails 500 "delete pool failed: pool 'lab' is not empty (contains VM 100)" DELETE "/pools?poolid=lab"
api PUT /pools/lab -d vms=100 -d storage=local -d delete=1 -d comment=Empty
check "PUT delete=1 removes members (legacy path)" [ "$CODE" = 200 ]
api PUT /pools -d poolid=lab -d vms=100
api DELETE /pools/prod
check "DELETE pool whose VM has no config" [ "$CODE" = 200 ]

# ---- a PVEAuditor changes nothing ----------------------------------------------------------

add_pve_user aud@pve audpass12 PVEAuditor /
login aud@pve audpass12
check "auditor logs in" [ "$CODE" = 200 ]
api GET /access/users
check "auditor (Sys.Audit) sees all users" [ "$(jget '.data | length')" -ge 5 ]
api GET /access/domains/pve
check "auditor reads a realm (Sys.Audit)" [ "$CODE" = 200 ]
fails 403 "Permission check failed" POST /access/users -d userid=new@pve
fails 403 "Permission check failed" PUT /access/users/bob@pve -d comment=x
fails 403 "Permission check failed" DELETE /access/users/bob@pve
fails 403 "Permission check failed" POST /access/groups -d groupid=g2
fails 403 "Permission check failed" PUT /access/groups/devs -d comment=x
fails 403 "Permission check failed" DELETE /access/groups/devs
fails 403 "Permission check failed" POST /access/roles -d roleid=R2
fails 403 "Permission check failed" PUT /access/roles/VMPower -d privs=VM.Audit
fails 403 "Permission check failed" DELETE /access/roles/VMPower
fails 403 "Permission check failed" PUT /access/acl -d path=/ -d users=aud@pve -d roles=Administrator
fails 403 "Permission check failed" POST /access/domains -d realm=x2 -d type=ad -d server1=x -d domain=y
fails 403 "Permission check failed" PUT /access/domains/pve -d comment=x
fails 403 "Permission check failed" DELETE /access/domains/pve
fails 403 "Permission check failed" POST "/access/users/bob@pve/token/t1"
fails 403 "Permission check failed" DELETE "/access/users/alice@pve/token/ci"
fails 403 "Permission check failed" PUT /access/password -d userid=bob@pve -d password=bobpass123 -d confirmation-password=audpass12
fails 403 "Permission check failed" POST /pools -d poolid=p2
fails 403 "Permission check failed" PUT /pools -d poolid=lab -d comment=x
fails 403 "Permission check failed" DELETE /pools/lab
api POST "/access/users/aud@pve/token/own"
check "auditor may create its own token (userid-param self)" [ "$CODE" = 200 ]
as_root

# ---- user deletion, and the exact user.cfg text --------------------------------------------

api DELETE /access/users/bob@pve
check "DELETE user" [ "$CODE" = 200 ]
fails 500 "delete user failed: no such user ('bob@pve')" DELETE /access/users/bob@pve
api DELETE /access/users/aud@pve
check "DELETE user removes its shadow entry and token secrets" \
    bash -c "! grep -q '^aud@pve' '$MNT/priv/shadow.cfg' '$MNT/priv/token.cfg'"
api DELETE /access/users/carol@pve
api DELETE /access/users/failme@pam
api PUT /access/acl -d path=/pool/lab -d users=alice@pve -d roles=PVEPoolAdmin

want='user:alice@pve:1:4102444800:Alice:Doe:alice@example.com:test%3A user::
token:alice@pve!ci:0:1:CI:
token:alice@pve!full:0:0::
user:pamuser@pam:1:0::::::
user:root@pam:1:0::::::

group:admins:alice@pve:Admin group:
group:devs:alice@pve:Developers:

pool:lab:Empty:100::

role:VMPower:VM.Audit,VM.PowerMgmt:

acl:1:/:alice@pve:PVEAuditor:
acl:1:/pool/lab:alice@pve:PVEPoolAdmin:
acl:1:/vms:alice@pve!ci:PVEVMUser:
acl:0:/vms/100:@devs:PVEVMUser,VMPower:'
check "user.cfg: exact canonical text after the sequence" [ "$(cat "$MNT/user.cfg")" = "$want" ]
[ "$(cat "$MNT/user.cfg")" = "$want" ] || diff <(echo "$want") "$MNT/user.cfg" | sed 's/^/# /'

api_finish
