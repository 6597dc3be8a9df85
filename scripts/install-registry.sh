#!/usr/bin/env bash
# Ensures the CNCF Distribution registry binary used by the integration tests
# (internal/testregistry) is installed, and prints its path as the last line
# on stdout. Idempotent and fast when the right version is already there
# (scripts/lib/go-tool.sh). Keep TOOL_VERSION equal to testregistry.Version.
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=registry
TOOL_MODULE=github.com/distribution/distribution/v3/cmd/registry
TOOL_VERSION=v3.1.2
TOOL_DURATION="about a minute"

# "registry --version" prints e.g.
#   registry github.com/distribution/distribution/v3 v3.1.2+unknown
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" --version 2>/dev/null)" || return 1
	[[ " ${out} " == *" ${TOOL_VERSION} "* || " ${out} " == *" ${TOOL_VERSION}+"* ]]
}

go_tool_install
