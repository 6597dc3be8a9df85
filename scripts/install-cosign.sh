#!/usr/bin/env bash
# Ensures the cosign CLI used by the Sigstore interoperability tests
# (e2e/sigstore_test.go) is installed, and prints its path as the last line on
# stdout. Idempotent and fast when the right version is already there
# (scripts/lib/go-tool.sh).
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=cosign
TOOL_MODULE=github.com/sigstore/cosign/v3/cmd/cosign
TOOL_VERSION=v3.1.3
TOOL_DURATION="about five minutes on two cores"

# "cosign version" prints, among its banner, "GitVersion:    v3.1.3".
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" version 2>/dev/null)" || return 1
	[[ "${out}" =~ (^|$'\n')GitVersion:[[:space:]]+${TOOL_VERSION//./\\.}([[:space:]]|$) ]]
}

go_tool_install
