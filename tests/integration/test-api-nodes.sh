#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# API integration test for the nodes endpoints (placeholder; being written). TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
api_setup
login root@pam "$ROOT_PASSWORD"
check "root@pam login" [ "$CODE" = 200 ]
api_finish
