#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The OpenAPI document pvedaemon serves at GET /api2/openapi.json (public): validated with a
# real OpenAPI 3 validator (npm @apidevtools/swagger-parser against the official OpenAPI 3.0
# schema, pinned by openapi-validator/package-lock.json), plus the rules that schema cannot
# express and its agreement with upstream's endpoint list and with what the server answers
# (openapi-validator/validate.cjs). Generic: it checks whatever is registered.
#
# The validator is installed with `npm ci` into $PVE_TEST_NPM_CACHE (default
# /var/cache/pve-tests), keyed by the lockfile's hash, so reruns and both CI builds share it.
# Skips (77) only when node/npm are missing or the install fails. TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-checks.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SPECS=${PVE_SPECS_DIR:-$(cd "$HERE/../.." && pwd)/../shared/specs}

# install the pinned validator (before the namespace: npm needs nothing from it)
install_validator() {
    local src=$HERE/openapi-validator cache=${PVE_TEST_NPM_CACHE:-/var/cache/pve-tests} key
    command -v node >/dev/null && command -v npm >/dev/null || skip_all "node/npm missing"
    key=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
    VALIDATOR_DIR=$cache/openapi-validator-$key
    mkdir -p "$cache" || skip_all "cannot create $cache"
    (
        flock 9
        [ -e "$VALIDATOR_DIR/.installed" ] && exit 0
        rm -rf "$VALIDATOR_DIR" && mkdir -p "$VALIDATOR_DIR" &&
            cp "$src/package.json" "$src/package-lock.json" "$VALIDATOR_DIR/" &&
            (cd "$VALIDATOR_DIR" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund \
                --loglevel=error --cache "$cache/npm") >&2 &&
            touch "$VALIDATOR_DIR/.installed"
    ) 9>"$cache/openapi-validator.lock" || skip_all "npm ci of the pinned OpenAPI validator failed"
}

[ -n "${PVE_API_TEST_NS:-}" ] || install_validator
[ -f "$SPECS/api-endpoints.tsv" ] || skip_all "api-endpoints.tsv not found (set PVE_SPECS_DIR)"
export VALIDATOR_DIR
api_setup

DOC=$TMP/openapi.json
hdr=$(curl -s -D - -o "$DOC" -w '%{http_code}' "${BASE%/json}/openapi.json")
CODE=${hdr##*$'\n'}
check "GET /api2/openapi.json without login: 200" [ "$CODE" = 200 ]
check "served as JSON" grep -qi '^content-type: application/json' <<<"$hdr"
BODY=$(head -c 300 "$DOC")
doc_has() { jq -e "$1" "$DOC" >/dev/null; }
check "document parses" doc_has '.paths | type == "object"'
check "GET /version documented" doc_has '.paths["/version"].get'

validate() { # doc base: validate.cjs output
    NODE_PATH=$VALIDATOR_DIR/node_modules node "$HERE/openapi-validator/validate.cjs" \
        "$1" "$SPECS/api-endpoints.tsv" "$2" "${TICKET:-}" "$NODE" 2>&1
}

# The checks must catch broken documents: a copy with a missing "responses" (schema), an
# unnamed template, a path parameter missing, a duplicate operationId, a boolean default 1,
# a Perl-only pattern and a required key that is no property.
jq '.paths["/version"].get |= del(.responses)
    | .paths["/x/{a}/{b:c}"] = {get: {operationId: "get_nodes", parameters: [], responses: {}}}
    | .paths["/y/{id}"] = {get: {operationId: "dup", responses: {"200": {description: "ok"}},
        parameters: [{name: "q", in: "query", schema: {type: "boolean", default: 1,
            pattern: "(?^:x)"}}]}}
    | .paths["/z"] = {get: {operationId: "dup", responses: {"200": {description: "ok",
        content: {"application/json": {schema: {type: "object", required: ["nope"],
            properties: {}}}}}}}}' "$DOC" >"$TMP/broken.json"
bad=$(validate "$TMP/broken.json" -)
for c in "document valid against" "paths use" "path parameters match" "operationIds" \
    "schemas:"; do
    check "self-check: a broken document fails '$c'" grep -q "^FAIL $c" <<<"$bad"
done
for c in "default 1 is not of type boolean" "(?^:x)" 'required "nope"' "{b:c}" "dup:"; do
    check "self-check: detail '$c' reported" grep -qF "$c" <<<"$bad"
done

login root@pam "$ROOT_PASSWORD"
check "root@pam login" [ "$CODE" = 200 ]

out=$(validate "$DOC" "$BASE")
report_checks "$out"
grep -q '^PASS document valid\|^FAIL document valid' <<<"$out" ||
    not_ok "validator ran all its checks" "$out"

api_finish
