#!/usr/bin/env bash
# Ensures the oras CLI used by the interoperability tests (e2e/oras_test.go)
# is installed, and prints its path as the last line on stdout. Idempotent and
# fast when the right version is already there (scripts/lib/go-tool.sh).
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=oras
TOOL_MODULE=oras.land/oras/cmd/oras
TOOL_VERSION=v1.3.6
TOOL_DURATION="about a minute"

# "oras version" prints e.g. "Version:    1.3.6" and "Go version: go1.26.8".
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out want="${TOOL_VERSION#v}"
	out="$("${bin}" version 2>/dev/null)" || return 1
	[[ "${out}" =~ (^|$'\n')Version:[[:space:]]+v?${want//./\\.}([+[:space:]]|$) ]]
}

go_tool_install
