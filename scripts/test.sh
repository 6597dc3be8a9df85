#!/usr/bin/env bash
# The project's test command: ./scripts/test.sh [go test flags/packages...]
#
# Installs (once, cached) the CNCF Distribution registry the integration
# tests run against, then runs every test. Extra arguments are passed to
# 'go test', e.g.  ./scripts/test.sh -run TestStore -v
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

registry_bin="$(bash scripts/install-registry.sh | tail -n 1)"
if [[ ! -x "${registry_bin}" ]]; then
	echo "test.sh: scripts/install-registry.sh did not produce an executable (got '${registry_bin}')" >&2
	exit 1
fi
export MANIFESTO_REGISTRY_BIN="${registry_bin}"

# The oras CLI (the peer tool) for the interoperability tests in e2e/.
oras_bin="$(bash scripts/install-oras.sh | tail -n 1)"
if [[ ! -x "${oras_bin}" ]]; then
	echo "test.sh: scripts/install-oras.sh did not produce an executable (got '${oras_bin}')" >&2
	exit 1
fi
export MANIFESTO_ORAS_BIN="${oras_bin}"

# notary-server for the trust tests (trust/notary, e2e).
notary_bin="$(bash scripts/install-notary.sh | tail -n 1)"
if [[ ! -x "${notary_bin}" ]]; then
	echo "test.sh: scripts/install-notary.sh did not produce an executable (got '${notary_bin}')" >&2
	exit 1
fi
export MANIFESTO_NOTARY_SERVER_BIN="${notary_bin}"

# cosign v3 for the Sigstore interoperability tests (e2e/sigstore_test.go).
cosign_bin="$(bash scripts/install-cosign.sh | tail -n 1)"
if [[ ! -x "${cosign_bin}" ]]; then
	echo "test.sh: scripts/install-cosign.sh did not produce an executable (got '${cosign_bin}')" >&2
	exit 1
fi
export MANIFESTO_COSIGN_BIN="${cosign_bin}"

exec go test -count=1 ./... "$@"
