#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Second factors: TOTP entries and recovery keys in priv/tfa.cfg through /access/tfa, and the
# two-step login (password -> "!tfa!" half ticket -> TOTP code or recovery key -> ticket).
# TOTP codes are computed here with Python's hmac (RFC 6238), independently of the server.
# TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
api_setup

SECRET=JBSWY3DPEHPK3PXP
URI="otpauth://totp/PVE:bob@pve?secret=$SECRET&issuer=PVE"
# totp SECRET [STEP-OFFSET]: the 6-digit SHA-1 code of now (+ offset periods of 30 s)
totp() {
    python3 -c '
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1])
step = int(time.time()) // 30 + int(sys.argv[2])
mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
off = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000))
' "$1" "${2:-0}"
}
tfa_file() { cat "$MNT/priv/tfa.cfg" 2>/dev/null; }
# login_step1 USERID PASSWORD: HALF = the half ticket (when NeedTFA)
login_step1() {
    TICKET= TOKEN=
    api POST /access/ticket --data-urlencode "username=$1" --data-urlencode "password=$2"
    HALF=$(jget .data.ticket)
}
# login_step2 USERID HALF RESPONSE: TICKET/CSRF on success
login_step2() {
    TICKET= TOKEN=
    api POST /access/ticket --data-urlencode "username=$1" --data-urlencode "tfa-challenge=$2" \
        --data-urlencode "password=$3"
    TICKET=$(jget .data.ticket)
    CSRF=$(jget .data.CSRFPreventionToken)
}

add_pve_user bob@pve bobpassword
add_pve_user carol@pve carolpassword PVEAuditor /
add_pve_user dave@pve davepassword

login bob@pve bobpassword
check "no second factor: one-step login" [ "$CODE" = 200 -a -z "$(jget .data.NeedTFA)" ]
check "... a real ticket" re_match "$TICKET" '^PVE:bob@pve:'

# ---- adding TOTP: password confirmation, code check, URI check -----------------------------
api POST /access/tfa/bob@pve -d type=totp --data-urlencode "totp=$URI" -d "value=$(totp $SECRET)"
check "add without confirming the password: 400 names password" \
    [ "$CODE" = 400 -a -n "$(jget .errors.password)" ]
api POST /access/tfa/bob@pve -d type=totp --data-urlencode "totp=$URI" \
    -d "value=$(totp $SECRET 7)" -d password=bobpassword
check "add with a code that does not match: 400 names value" \
    [ "$CODE" = 400 -a -n "$(jget .errors.value)" ]
api POST /access/tfa/bob@pve -d type=totp --data-urlencode "totp=otpauth://totp/x?secret=1!" \
    -d value=123456 -d password=bobpassword
check "add with a bad URI: 400 names totp" [ "$CODE" = 400 -a -n "$(jget .errors.totp)" ]
api POST /access/tfa/bob@pve -d type=totp --data-urlencode "totp=$URI" \
    -d "value=$(totp $SECRET)" -d password=wrongpassword
check "add with a wrong confirmation password: 403" [ "$CODE" = 403 ]
check "refused adds left no tfa.cfg" [ -z "$(tfa_file)" ]
api POST /access/tfa/bob@pve -d type=webauthn -d password=bobpassword
check "webauthn cannot be added here: 400" [ "$CODE" = 400 ]

api POST /access/tfa/bob@pve -d type=totp --data-urlencode "totp=$URI" \
    -d "value=$(totp $SECRET)" -d password=bobpassword -d description=phone
check "add TOTP: 200 and an id" [ "$CODE" = 200 ]
TOTP_ID=$(jget .data.id)
check "... id totp-<uuid>" re_match "$TOTP_ID" '^totp-[0-9a-f-]{36}$'
check "tfa.cfg holds the entry with its URI" \
    [ "$(tfa_file | jq -r --arg id "$TOTP_ID" '.users["bob@pve"].totp[] | select(.id == $id) | .entry')" = "$URI" ]
api GET /access/tfa/bob@pve
check "list the user's entries" \
    [ "$CODE" = 200 -a "$(jget '.data | length')" = 1 -a "$(jget '.data[0].type')" = totp -a \
    "$(jget '.data[0].description')" = phone -a "$(jget '.data[0].created')" -gt 0 ]
api GET "/access/tfa/bob@pve/$TOTP_ID"
check "get one entry" [ "$CODE" = 200 -a "$(jget .data.id)" = "$TOTP_ID" ]
api GET /access/tfa/bob@pve/totp-nope
check "unknown entry: 404" [ "$CODE" = 404 ]

# ---- two-step login ------------------------------------------------------------------------
login_step1 bob@pve bobpassword
check "password step: NeedTFA and a half ticket" \
    [ "$CODE" = 200 -a "$(jget .data.NeedTFA)" = 1 ] && re_match "$HALF" '^PVE:!tfa!'
challenge=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1].split(":")[1][5:]))' "$HALF")
check "the challenge offers totp" [ "$(printf '%s' "$challenge" | jq -r .totp)" = true ]
check "... a CSRF token as upstream, no caps" [ -n "$(jget .data.CSRFPreventionToken)" -a -z "$(jget .data.cap)" ]
TICKET=$HALF CSRF=
api GET /version
check "the half ticket is no ticket: 401" [ "$CODE" = 401 ]
TICKET=
api POST /access/ticket -d username=bob@pve --data-urlencode "password=$HALF"
check "the half ticket cannot be renewed into a ticket: 401" [ "$CODE" = 401 ]
login_step1 bob@pve wrongpassword
check "wrong password: 401 before any second factor" [ "$CODE" = 401 -a -z "$HALF" ]
login_step1 bob@pve bobpassword
login_step2 bob@pve "$HALF" "totp:$(totp $SECRET 7)"
check "wrong TOTP code: 401" [ "$CODE" = 401 -a -z "$TICKET" ]
login_step2 root@pam "$HALF" "totp:$(totp $SECRET)"
check "bob's half ticket answered as root@pam: 401" [ "$CODE" = 401 -a -z "$TICKET" ]
login_step2 bob@pve "$HALF" "totp:$(totp $SECRET)"
check "right TOTP code: 200 and a ticket for bob" \
    [ "$CODE" = 200 -a "$(jget .data.username)" = bob@pve ] && re_match "$TICKET" '^PVE:bob@pve:'
api GET /access/tfa/bob@pve
check "... that works" [ "$CODE" = 200 ]
TICKET=
api POST /access/ticket -d username=bob@pve -d password=bobpassword -d "otp=$(totp $SECRET)"
check "one step with otp (as proxmoxer sends it): a ticket" \
    [ "$CODE" = 200 -a -z "$(jget .data.NeedTFA)" ] && re_match "$(jget .data.ticket)" '^PVE:bob@pve:'
api POST /access/ticket -d username=bob@pve -d password=bobpassword -d "otp=$(totp $SECRET 7)"
check "one step with a wrong otp: 401" [ "$CODE" = 401 ]
api POST /access/ticket -d username=bob@pve -d password=wrongpassword -d "otp=$(totp $SECRET)"
check "one step with a wrong password and a right otp: 401" [ "$CODE" = 401 ]
login_step2 bob@pve "$HALF" "totp:$(totp $SECRET)"
renew=$TICKET
api POST /access/ticket -d username=bob@pve --data-urlencode "password=$renew"
check "renewing a full ticket needs no second factor" \
    [ "$CODE" = 200 -a -n "$(jget .data.ticket)" -a -z "$(jget .data.NeedTFA)" ]

# ---- recovery keys -------------------------------------------------------------------------
api POST /access/tfa/bob@pve -d type=recovery -d password=bobpassword
check "recovery keys: 10 shown once" [ "$CODE" = 200 -a "$(jget '.data.recovery | length')" = 10 ]
KEY1=$(jget '.data.recovery[0]') KEY2=$(jget '.data.recovery[1]')
check "... xxxx-xxxx-xxxx-xxxx" re_match "$KEY1" '^[0-9a-f]{4}(-[0-9a-f]{4}){3}$'
check "... stored as hashes only" [ -n "$(tfa_file)" ] && ! tfa_file | grep -q "$KEY1"
api POST /access/tfa/bob@pve -d type=recovery -d password=bobpassword
check "second set of recovery keys: 400" [ "$CODE" = 400 ]
login_step1 bob@pve bobpassword
challenge=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1].split(":")[1][5:]))' "$HALF")
check "the challenge lists 10 recovery keys" [ "$(printf '%s' "$challenge" | jq '.recovery | length')" = 10 ]
login_step2 bob@pve "$HALF" "recovery:$KEY1"
check "login with a recovery key" [ "$CODE" = 200 -a -n "$TICKET" ]
login_step1 bob@pve bobpassword
login_step2 bob@pve "$HALF" "recovery:$KEY1"
check "the same recovery key again: 401" [ "$CODE" = 401 ]
check "tfa.cfg marks the used key" \
    [ "$(tfa_file | jq '[.users["bob@pve"].recovery.entries[] | select(. == null)] | length')" = 1 ]
login_step2 bob@pve "$HALF" "recovery:$KEY2"
check "another recovery key works" [ "$CODE" = 200 ]

api GET /access/users/bob@pve/tfa -d multiple=1
check "users/{userid}/tfa lists the types" [ "$(jget '.data.types | join(",")')" = totp,recovery ]
api GET /access/users/bob@pve/tfa
check "... single: user oath" [ "$(jget .data.user)" = oath ]

# ---- who may see and change ----------------------------------------------------------------
login carol@pve carolpassword
api GET /access/tfa/bob@pve
check "auditor reads bob's entries" [ "$CODE" = 200 -a "$(jget '.data | length')" = 2 ]
api GET /access/tfa
check "auditor lists all users" [ "$(jget '[.data[].userid] | join(",")')" = bob@pve ]
api DELETE "/access/tfa/bob@pve/$TOTP_ID?password=carolpassword"
check "auditor cannot delete bob's entry: 403" [ "$CODE" = 403 ]
login dave@pve davepassword
api GET /access/tfa/bob@pve
check "unprivileged user cannot read bob's entries: 403" [ "$CODE" = 403 ]
api GET /access/tfa
check "... and lists only his own (none)" [ "$CODE" = 200 -a "$(jget '.data | length')" = 0 ]
api POST /access/tfa/root@pam -d type=recovery -d password=davepassword
check "nobody but root touches root@pam's factors: 403" [ "$CODE" = 403 ]

login root@pam "$ROOT_PASSWORD"
api PUT "/access/tfa/bob@pve/$TOTP_ID" -d enable=0 -d description=old-phone
check "root updates bob's entry without a password" [ "$CODE" = 200 ]
check "... disabled in tfa.cfg" \
    [ "$(tfa_file | jq -r '.users["bob@pve"].totp[0].enable')" = false -a \
    "$(tfa_file | jq -r '.users["bob@pve"].totp[0].description')" = old-phone ]
login_step1 bob@pve bobpassword
challenge=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1].split(":")[1][5:]))' "$HALF")
check "a disabled TOTP is not offered, recovery still required" \
    [ "$(jget .data.NeedTFA)" = 1 -a "$(printf '%s' "$challenge" | jq -r '.totp // "no"')" = no ]
login_step2 bob@pve "$HALF" "totp:$(totp $SECRET)"
check "... and its code is refused" [ "$CODE" = 401 ]

# lock state from the file: listed, and unlock-tfa clears it
login root@pam "$ROOT_PASSWORD"
tfa_file | jq '.users["bob@pve"]["totp-locked"] = true' >"$TMP/tfa.cfg"
cp "$TMP/tfa.cfg" "$MNT/priv/tfa.cfg"
api GET /access/tfa
check "a locked user shows totp-locked" [ "$(jget '.data[0]["totp-locked"]')" = true ]
api PUT /access/users/bob@pve/unlock-tfa
check "unlock-tfa: true when locked" [ "$CODE" = 200 -a "$(jget .data)" = true ]
api PUT /access/users/bob@pve/unlock-tfa
check "... false when not" [ "$CODE" = 200 -a "$(printf '%s' "$BODY" | jq -r .data)" = false ]

# a broken tfa.cfg never lets a login skip its second factor
cp "$MNT/priv/tfa.cfg" "$TMP/tfa.good"
printf '{"users": {"bob@pve": ' >"$MNT/priv/tfa.cfg"
login_step1 bob@pve bobpassword
check "broken tfa.cfg: 500 naming the file, no ticket" \
    [ "$CODE" = 500 -a -z "$HALF" ] && re_match "$BODY" 'tfa.cfg'
cp "$TMP/tfa.good" "$MNT/priv/tfa.cfg"

login root@pam "$ROOT_PASSWORD"

api DELETE "/access/tfa/bob@pve/$TOTP_ID"
check "delete the TOTP entry" [ "$CODE" = 200 ]
api DELETE /access/tfa/bob@pve/recovery
check "delete the recovery keys" [ "$CODE" = 200 ]
check "a user without factors leaves tfa.cfg" [ "$(tfa_file | jq '.users | length')" = 0 ]
login bob@pve bobpassword
check "one-step login again" [ "$CODE" = 200 -a -z "$(jget .data.NeedTFA)" ]

login root@pam "$ROOT_PASSWORD"
api POST /access/tfa/dave@pve -d type=recovery
check "root adds recovery keys for dave without a password" [ "$CODE" = 200 ]
api DELETE /access/users/dave@pve
check "deleting dave drops his second factors" \
    [ "$CODE" = 200 -a "$(tfa_file | jq '.users | has("dave@pve")')" = false ]

api_finish
