#!/usr/bin/env bash
# Ensures nektos/act (runs GitHub Actions workflows locally through a Docker
# API; here podman's, see scripts/install-podman.sh) is installed, and prints
# its path as the last line on stdout. Used by e2e/runners_github_test.go.
# Idempotent and fast when the right version is already there.
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=act
TOOL_MODULE=github.com/nektos/act
TOOL_VERSION=v0.2.82
TOOL_DURATION="about two minutes"

# "act --version" prints "act version 0.2.82".
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" --version 2>/dev/null)" || return 1
	[[ "${out}" == "act version ${TOOL_VERSION#v}" ]]
}

go_tool_install
