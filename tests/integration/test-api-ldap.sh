#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# LDAP realms against a real OpenLDAP slapd (Debian's, own config and database in the test's
# tmp dir, listening on 127.0.0.1 of the test's private network namespace): realms created
# through the API, anonymous and bind_dn searches, wrong and empty passwords, users missing in
# LDAP or in user.cfg, filter injection, the realm `filter`, failover to server2, STARTTLS.
# TAP on stdout; exit 77 without slapd.

. "$(dirname "$0")/lib-api.sh"
SLAPD=/usr/sbin/slapd
[ -x "$SLAPD" ] && command -v slapadd >/dev/null && command -v slappasswd >/dev/null ||
    skip_all "no slapd (Debian packages slapd, ldap-utils)"
API_GUESTS=1 # private network namespace: slapd's port and the dead server2 stay ours
api_setup

BASE_DN=dc=example,dc=com
LPORT=3899
LDIR=$TMP/ldap
mkdir -p "$LDIR/db"
SLAPD_PID=
cleanup_slapd() { [ -n "$SLAPD_PID" ] && kill "$SLAPD_PID" 2>/dev/null; }
trap 'cleanup_slapd; api_cleanup' EXIT

# TLS for STARTTLS: a throwaway self-signed certificate
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$LDIR/key.pem" -out "$LDIR/cert.pem" 2>/dev/null
chmod 644 "$LDIR/key.pem"
cat >"$LDIR/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $LDIR/slapd.pid
TLSCertificateFile $LDIR/cert.pem
TLSCertificateKeyFile $LDIR/key.pem
database mdb
maxsize 10485760
suffix "$BASE_DN"
rootdn "cn=admin,$BASE_DN"
rootpw adminsecret
directory $LDIR/db
access to attrs=userPassword by anonymous auth by self read by * none
access to dn.subtree="ou=hidden,$BASE_DN" by dn.exact="cn=reader,$BASE_DN" read by * none
access to * by * read
EOF
pw() { slappasswd -s "$1"; }
cat >"$LDIR/data.ldif" <<EOF
dn: $BASE_DN
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,$BASE_DN
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,$BASE_DN
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
userPassword: $(pw alicepw)

dn: uid=bob,ou=people,$BASE_DN
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
employeeType: contractor
userPassword: $(pw bobpw)

dn: uid=dave,ou=people,$BASE_DN
objectClass: inetOrgPerson
uid: dave
cn: Dave
sn: D
userPassword: $(pw davepw)

dn: cn=reader,$BASE_DN
objectClass: inetOrgPerson
cn: reader
sn: R
userPassword: $(pw readerpw)

dn: ou=hidden,$BASE_DN
objectClass: organizationalUnit
ou: hidden

dn: uid=carol,ou=hidden,$BASE_DN
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C
userPassword: $(pw carolpw)
EOF
if ! slapadd -f "$LDIR/slapd.conf" -l "$LDIR/data.ldif" >"$LDIR/slapadd.log" 2>&1; then
    not_ok "slapadd loaded the test directory" "$(cat "$LDIR/slapadd.log")"
    api_finish
fi
"$SLAPD" -f "$LDIR/slapd.conf" -h "ldap://127.0.0.1:$LPORT/ ldaps://127.0.0.1:$((LPORT + 1))/" -u root -g root 2>"$LDIR/slapd.log"
wait_until 10 test -s "$LDIR/slapd.pid"
SLAPD_PID=$(cat "$LDIR/slapd.pid" 2>/dev/null)
check "slapd runs on 127.0.0.1:$LPORT" eval 'wait_until 10 eval "ldapsearch -x -H ldap://127.0.0.1:$LPORT -b $BASE_DN -s base >/dev/null 2>&1"'

login root@pam "$ROOT_PASSWORD"
# realm ldap1: anonymous search; server1 is a dead address, server2 the real one (failover)
api POST /access/domains -d realm=ldap1 -d type=ldap -d server1=127.0.0.2 -d server2=127.0.0.1 \
    -d port=$LPORT --data-urlencode "base_dn=ou=people,$BASE_DN" -d user_attr=uid
check "POST /access/domains creates the ldap realm" [ "$CODE" = 200 ]
for u in alice bob nobody '*' carol; do
    api POST /access/users --data-urlencode "userid=$u@ldap1"
done
check "ldap users exist in user.cfg" grep -q "^user:alice@ldap1:" "$MNT/user.cfg"
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF

TICKET=
login alice@ldap1 alicepw
check "alice@ldap1 logs in with her LDAP password (server1 down, server2 answers)" \
    eval '[ "$CODE" = 200 ] && [ "$(jget .data.username)" = alice@ldap1 ]'
api GET /access/permissions
check "her ticket works for API calls" eval '[ "$CODE" = 200 ] && [ "$(jget ".data | type")" = object ]'

# failures in parallel: each failed login is delayed >= 3 s
fail_login() { # name user password -> file with the status code
    curl -s -o /dev/null -w '%{http_code}' --data-urlencode "username=$2" \
        --data-urlencode "password=$3" "$BASE/access/ticket" >"$TMP/fail.$1"
}
jobs_=()
fail_login wrong alice@ldap1 wrongpw & jobs_+=($!)
fail_login empty alice@ldap1 "" & jobs_+=($!)
fail_login unknown nobody@ldap1 whatever & jobs_+=($!)
fail_login star '*@ldap1' alicepw & jobs_+=($!)
fail_login notincfg dave@ldap1 davepw & jobs_+=($!)
fail_login outside carol@ldap1 carolpw & jobs_+=($!)
wait "${jobs_[@]}"
check "wrong password: 401" [ "$(cat "$TMP/fail.wrong")" = 401 ]
check "empty password: 401 (no anonymous bind success)" [ "$(cat "$TMP/fail.empty")" = 401 ]
check "user missing in LDAP: 401" [ "$(cat "$TMP/fail.unknown")" = 401 ]
check "username '*' with alice's password: 401 (filter value escaped)" [ "$(cat "$TMP/fail.star")" = 401 ]
check "user in LDAP but not in user.cfg: 401" [ "$(cat "$TMP/fail.notincfg")" = 401 ]
check "user outside base_dn: 401" [ "$(cat "$TMP/fail.outside")" = 401 ]

# realm filter: only non-contractors
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 --data-urlencode "filter=(!(employeeType=contractor))"
check "PUT filter on the realm" [ "$CODE" = 200 ]
TICKET=
login alice@ldap1 alicepw
check "with the filter alice still logs in" [ "$CODE" = 200 ]
TICKET=
login bob@ldap1 bobpw
check "with the filter bob (a contractor) is refused" [ "$CODE" = 401 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 -d delete=filter
TICKET=
login bob@ldap1 bobpw
check "without the filter bob logs in" [ "$CODE" = 200 ]

# realm ldap2: the hidden subtree needs bind_dn + its password (priv/realm/ldap2.pw)
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api POST /access/domains -d realm=ldap2 -d type=ldap -d server1=127.0.0.1 -d port=$LPORT \
    --data-urlencode "base_dn=ou=hidden,$BASE_DN" -d user_attr=uid \
    --data-urlencode "bind_dn=cn=reader,$BASE_DN" -d password=wrongreaderpw
api POST /access/users -d userid=carol@ldap2
check "bind password stored in priv/realm/ldap2.pw" test -s "$MNT/priv/realm/ldap2.pw"
TICKET=
login carol@ldap2 carolpw
check "wrong bind password: carol@ldap2 refused" [ "$CODE" = 401 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap2 -d password=readerpw
TICKET=
login carol@ldap2 carolpw
check "with the right bind password carol@ldap2 logs in" [ "$CODE" = 200 ]

# STARTTLS (certificate not verified: verify defaults to off, as upstream)
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 --data-urlencode mode=ldap+starttls -d server1=127.0.0.1 -d delete=server2
check "PUT mode=ldap+starttls, server1, delete server2" eval '[ "$CODE" = 200 ] && grep -q "mode ldap+starttls" "$MNT/domains.cfg"'
TICKET=
login alice@ldap1 alicepw
check "mode ldap+starttls: alice logs in" [ "$CODE" = 200 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 -d verify=1
check "PUT verify=1" eval '[ "$CODE" = 200 ] && grep -q "verify 1" "$MNT/domains.cfg"'
TICKET=
login alice@ldap1 alicepw
check "verify=1 with an untrusted self-signed server certificate: refused" [ "$CODE" = 401 ]

TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 -d mode=ldaps -d port=$((LPORT + 1)) -d delete=verify
check "PUT mode=ldaps port=$((LPORT + 1))" [ "$CODE" = 200 ]
TICKET=
login alice@ldap1 alicepw
check "mode ldaps: alice logs in" [ "$CODE" = 200 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 -d mode=ldap
TICKET=
login alice@ldap1 alicepw
check "plain ldap to the ldaps port: refused" [ "$CODE" = 401 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 -d delete=port

# the directory is gone: refused, not hung
kill "$SLAPD_PID"
wait_until 5 eval '! kill -0 $SLAPD_PID 2>/dev/null'
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
api PUT /access/domains/ldap1 -d port=$LPORT
TICKET=
t0=$SECONDS
login alice@ldap1 alicepw
check "LDAP server down: 401 within the 3 s failure delay + timeouts" \
    eval '[ "$CODE" = 401 ] && [ $((SECONDS - t0)) -lt 15 ]'
api_finish
