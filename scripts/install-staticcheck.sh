#!/usr/bin/env bash
# Ensures the pinned staticcheck that .ci/run lints with is installed, and
# prints its path as the last line on stdout. Idempotent and fast when the
# right version is already there (scripts/lib/go-tool.sh).
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=staticcheck
TOOL_MODULE=honnef.co/go/tools/cmd/staticcheck
TOOL_VERSION=v0.8.2
TOOL_DURATION="about a minute"

# "staticcheck -version" prints e.g. "staticcheck 2026.2.2 (0.8.2)".
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" -version 2>/dev/null)" || return 1
	[[ "${out}" == *"(${TOOL_VERSION#v})"* ]]
}

go_tool_install
