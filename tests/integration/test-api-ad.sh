#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Active Directory realms (`ad` in domains.cfg) against fake-ad-ldap.py, a stand-in domain
# controller that answers LDAP simple binds by user principal name as AD does (slapd cannot:
# `alice@example.com` is no DN). Realms created through the API; the UPN built from the realm's
# `domain`, a user part that already holds an `@`, wrong and empty passwords, users missing in
# user.cfg, failover to server2, a realm without `domain`, all servers down.
# TAP on stdout; runs in a private network namespace (API_GUESTS=1).

. "$(dirname "$0")/lib-api.sh"
command -v python3 >/dev/null || skip_all "no python3"
API_GUESTS=1 # private network namespace: the fake DC's port and the dead server1 stay ours
api_setup

APORT=3891
ALOG=$TMP/ad.log
AD_PID=
cleanup_ad() { [ -n "$AD_PID" ] && kill "$AD_PID" 2>/dev/null; }
trap 'cleanup_ad; api_cleanup' EXIT
python3 "$(dirname "$0")/fake-ad-ldap.py" 127.0.0.1 $APORT "$ALOG" \
    alice@example.com=alicepw dave@example.com=davepw carol@corp.example=carolpw &
AD_PID=$!
check "the fake domain controller listens on 127.0.0.1:$APORT" wait_until 10 grep -q ready "$ALOG"
binds() { grep -c "^BIND $1\$" "$ALOG"; }

login root@pam "$ROOT_PASSWORD"
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
as_root() { TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF; }
api POST /access/domains -d realm=ad1 -d type=ad -d server1=127.0.0.2 -d server2=127.0.0.1 \
    -d port=$APORT -d domain=example.com
check "POST /access/domains creates the ad realm" \
    eval '[ "$CODE" = 200 ] && grep -q "^ad: ad1" "$MNT/domains.cfg" && grep -q "domain example.com" "$MNT/domains.cfg"'
for u in alice nobody 'carol@corp.example'; do
    api POST /access/users --data-urlencode "userid=$u@ad1"
done
check "ad users exist in user.cfg" grep -q "^user:carol@corp.example@ad1:" "$MNT/user.cfg"

TICKET=
login alice@ad1 alicepw
check "alice@ad1 logs in (server1 down, server2 answers)" \
    eval '[ "$CODE" = 200 ] && [ "$(jget .data.username)" = alice@ad1 ]'
check "the bind was made as the UPN alice@example.com" [ "$(binds alice@example.com)" = 1 ]
api GET /access/permissions
check "her ticket works for API calls" eval '[ "$CODE" = 200 ] && [ "$(jget ".data | type")" = object ]'
login carol@corp.example@ad1 carolpw
check "a user part with an @ binds as given (carol@corp.example)" \
    eval '[ "$CODE" = 200 ] && [ "$(binds carol@corp.example)" = 1 ]'

# failures in parallel: each failed login is delayed >= 3 s
fail_login() { # name user password -> file with the status code
    curl -s -o /dev/null -w '%{http_code}' --data-urlencode "username=$2" \
        --data-urlencode "password=$3" "$BASE/access/ticket" >"$TMP/fail.$1"
}
jobs_=()
fail_login wrong alice@ad1 wrongpw & jobs_+=($!)
fail_login empty alice@ad1 "" & jobs_+=($!)
fail_login unknown nobody@ad1 whatever & jobs_+=($!)
fail_login notincfg dave@ad1 davepw & jobs_+=($!)
wait "${jobs_[@]}"
check "wrong password: 401" [ "$(cat "$TMP/fail.wrong")" = 401 ]
check "empty password: 401" [ "$(cat "$TMP/fail.empty")" = 401 ]
check "an empty password never reaches the server (one more bind for alice: the wrong one)" \
    [ "$(binds alice@example.com)" = 2 ]
check "user unknown to the directory: 401" [ "$(cat "$TMP/fail.unknown")" = 401 ]
check "user in the directory but not in user.cfg: 401" [ "$(cat "$TMP/fail.notincfg")" = 401 ]
check "no bind for a user missing in user.cfg" [ "$(binds dave@example.com)" = 0 ]

# without `domain` the user part is the bind name as is
as_root
api PUT /access/domains/ad1 -d delete=domain
check "PUT delete=domain" eval '[ "$CODE" = 200 ] && ! grep -q "domain example.com" "$MNT/domains.cfg"'
TICKET=
login alice@ad1 alicepw
check "without domain alice binds as 'alice' and is refused" \
    eval '[ "$CODE" = 401 ] && [ "$(binds alice)" = 1 ]'

# every server down: refused, not hung
as_root
api PUT /access/domains/ad1 -d domain=example.com -d server2=127.0.0.3
kill "$AD_PID"
wait_until 5 eval '! kill -0 $AD_PID 2>/dev/null'
TICKET=
t0=$SECONDS
login alice@ad1 alicepw
check "all servers down: 401 within the failure delay + timeouts" \
    eval '[ "$CODE" = 401 ] && [ $((SECONDS - t0)) -lt 15 ]'
api_finish
