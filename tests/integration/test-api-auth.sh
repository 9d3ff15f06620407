#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Authentication paths of the API core: root@pam through real PAM, pve realm, verify mode,
# API tokens through pmxcfs (VERIFY_TOKEN), allowtoken=0 methods, PVEClientIP, key rotation.
# TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
api_setup

login root@pam "$ROOT_PASSWORD"
check "root@pam login through PAM" [ "$CODE" = 200 -a -n "$TICKET" ]
check "root caps include Sys.PowerMgmt on dc" [ "$(jget '.data.cap.dc["Sys.PowerMgmt"]')" = 1 ]

TICKET=
t0=$SECONDS
login root@pam wrongpassword
check "root@pam wrong password: 401" [ "$CODE" = 401 ]
check "failed login waits >= 3 s" [ $((SECONDS - t0)) -ge 2 ]

add_pve_user alice@pve alicepw PVEAuditor /
login alice@pve alicepw
check "pve realm login" [ "$CODE" = 200 ]
check "auditor caps: VM.Audit, no VM.PowerMgmt" \
    [ "$(jget '.data.cap.vms["VM.Audit"]')" = 1 -a -z "$(jget '.data.cap.vms["VM.PowerMgmt"]')" ]

TICKET=
api POST /access/ticket -d username=alice@pve -d password=alicepw -d path=/ -d privs=Sys.Audit
check "verify mode with held privilege: 200, no ticket" \
    [ "$CODE" = 200 -a "$(jget .data.username)" = alice@pve -a -z "$(jget .data.ticket)" ]
api POST /access/ticket -d username=alice@pve -d password=alicepw -d path=/ -d privs=Sys.Modify
check "verify mode without privilege: 401" [ "$CODE" = 401 ]

# API token: metadata in user.cfg, secret in priv/token.cfg (verified by pmxcfs)
secret=6a2e1f6c-0c3b-4f55-9d2a-1b7c2e3d4f50
printf 'token:alice@pve!ci:0:0::\n' >>"$MNT/user.cfg"
printf 'alice@pve!ci %s\n' "$secret" >>"$MNT/priv/token.cfg"
TICKET= TOKEN="alice@pve!ci=$secret"
api GET /version
check "API token authenticates" [ "$CODE" = 200 ]
TOKEN="alice@pve!ci=00000000-0000-0000-0000-000000000000"
api GET /version
check "API token with a wrong secret: 401" [ "$CODE" = 401 ]
TOKEN="alice@pve!nope=$secret"
api GET /version
check "unknown API token: 401" [ "$CODE" = 401 ]
TOKEN=

login alice@pve alicepw
renew=$TICKET
api POST /access/ticket --data-urlencode username=alice@pve --data-urlencode "password=$renew"
check "ticket renewal" [ "$CODE" = 200 -a -n "$(jget .data.ticket)" ]
TICKET=garbage
api GET /version
check "malformed ticket: 401" [ "$CODE" = 401 ]

# key rotation: an authkey.pub older than 24 h is replaced at the next login, the previous key
# moves to authkey.pub.old, and tickets signed with it stay valid
login alice@pve alicepw
before=$TICKET
api GET /version
check "ticket valid before rotation" [ "$CODE" = 200 ]
oldpub=$(cat "$MNT/authkey.pub")
touch -d '25 hours ago' "$MNT/authkey.pub"
sleep 1.1 # workers re-check the key files at most once per second
login alice@pve alicepw
check "login after the key expired" [ "$CODE" = 200 ]
check "authkey.pub rotated, previous key kept as authkey.pub.old" \
    bash -c '[ "$(cat "$1/authkey.pub.old")" = "$2" ] && [ "$(cat "$1/authkey.pub")" != "$2" ]' _ "$MNT" "$oldpub"
TICKET=$before
sleep 1.1
api GET /version
check "ticket of the previous key still accepted (authkey.pub.old)" [ "$CODE" = 200 ]

# a key replaced by something else entirely: cached verifications must not outlive it
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/k.pem" 2>/dev/null
openssl pkey -in "$TMP/k.pem" -pubout -out "$TMP/p.pem" 2>/dev/null
cp "$TMP/p.pem" "$MNT/authkey.pub"
rm -f "$MNT/authkey.pub.old"
sleep 1.1
api GET /version
check "after the key is replaced, old tickets are rejected" [ "$CODE" = 401 ]

api_finish
