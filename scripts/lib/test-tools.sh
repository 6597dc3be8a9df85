# shellcheck shell=bash
# Shared by scripts/test.sh and .ci/run (source it): installs, once and
# cached, every helper binary the tests run against, and exports the
# variables the tests find them by (internal/testbin):
#   MANIFESTO_REGISTRY_BIN       CNCF Distribution (integration tests)
#   MANIFESTO_ORAS_BIN           oras, the peer tool (e2e interop)
#   MANIFESTO_NOTARY_SERVER_BIN  notary-server (trust/notary, e2e)
#   MANIFESTO_REGCTL_BIN         regctl, the other peer tool (e2e interop)
#   MANIFESTO_OLAREG_BIN         olareg, a registry with the referrers API
#   MANIFESTO_COSIGN_BIN         cosign v3 (e2e Sigstore interop)
# Run from the repository root.

# test_tool VAR SCRIPT: runs SCRIPT (which prints the binary's path as its
# last line) and exports VAR as that path.
test_tool() {
	local var="$1" script="$2" bin
	bin="$(bash "${script}" | tail -n 1)"
	if [[ ! -x "${bin}" ]]; then
		echo "${script} did not produce an executable (got '${bin}')" >&2
		return 1
	fi
	export "${var}=${bin}"
}

test_tool MANIFESTO_REGISTRY_BIN scripts/install-registry.sh
test_tool MANIFESTO_ORAS_BIN scripts/install-oras.sh
test_tool MANIFESTO_NOTARY_SERVER_BIN scripts/install-notary.sh
test_tool MANIFESTO_REGCTL_BIN scripts/install-regctl.sh
test_tool MANIFESTO_OLAREG_BIN scripts/install-olareg.sh
test_tool MANIFESTO_COSIGN_BIN scripts/install-cosign.sh
