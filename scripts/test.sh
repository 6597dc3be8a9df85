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

# -timeout: the e2e package runs real CI runners (e2e/runners_*_test.go),
# several minutes on two cores; go test's default of 10m per package is too
# tight. A -timeout given as an argument comes later and wins.
exec go test -count=1 -timeout 30m ./... "$@"
