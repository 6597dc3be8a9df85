#!/usr/bin/env bash
# Ensures the regctl CLI (regclient), a peer tool the peer benchmarks
# (bench/peers_test.go) and the e2e interop tests use, is installed, and prints its path as
# the last line on stdout (scripts/lib/go-tool.sh). v0.11.7 is the release the
# registry landscape note measured (16 concurrent writers on CNCF
# Distribution v3.1.2: 6 of 16 kept); it builds with Go 1.26.
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=regctl
TOOL_MODULE=github.com/regclient/regclient/cmd/regctl
TOOL_VERSION=v0.11.7
TOOL_DURATION="about a minute"

# "regctl version --format {{.VCSTag}}" prints the release, e.g. "v0.11.7".
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" version --format '{{.VCSTag}}' 2>/dev/null)" || return 1
	[[ "${out}" == "${TOOL_VERSION}" ]]
}

go_tool_install
