#!/usr/bin/env bash
# The project's test command: ./scripts/test.sh [go test flags/packages...]
#
# Installs (once, cached) the CNCF Distribution registry, oras, notary-server
# and cosign the integration tests run against (scripts/lib/test-tools.sh),
# then runs every test. Extra arguments are passed to 'go test', e.g.
#   ./scripts/test.sh -run TestStore -v
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/test-tools.sh
source scripts/lib/test-tools.sh

exec go test -count=1 ./... "$@"
