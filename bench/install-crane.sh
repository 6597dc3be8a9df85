#!/usr/bin/env bash
# Ensures the crane CLI (go-containerregistry), the peer tool the streaming
# benchmark (bench/stream_test.go) compares against, is installed, and prints
# its path as the last line on stdout (scripts/lib/go-tool.sh). The version is
# the go-containerregistry release go.mod requires, so both tools share the
# same registry client code.
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/go-tool.sh"

TOOL_NAME=crane
TOOL_MODULE=github.com/google/go-containerregistry/cmd/crane
TOOL_VERSION=v0.22.1
TOOL_DURATION="about a minute"

# "crane version" prints the module version, e.g. "v0.22.1".
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" version 2>/dev/null)" || return 1
	[[ "${out}" == "${TOOL_VERSION}" ]]
}

go_tool_install
