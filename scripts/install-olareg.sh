#!/usr/bin/env bash
# Ensures olareg, a registry with the OCI 1.1 referrers API (regclient's
# registry; internal/testregistry.StartOlareg), is installed, and prints its
# path as the last line on stdout. Idempotent and fast when the right version
# is already there (scripts/lib/go-tool.sh). Keep TOOL_VERSION equal to
# testregistry.OlaregVersion.
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=olareg
TOOL_MODULE=github.com/olareg/olareg/cmd/olareg
TOOL_VERSION=v0.2.2
TOOL_DURATION="about 30 seconds"
TOOL_VIA_MODULE=1

# The binary's build information names the module version:
#   go version -m olareg  ->  "mod  github.com/olareg/olareg  v0.2.2  h1:..."
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$(go version -m "${bin}" 2>/dev/null)" || return 1
	[[ "${out}" =~ (^|$'\n')[[:space:]]*mod[[:space:]]+github\.com/olareg/olareg[[:space:]]+${TOOL_VERSION//./\\.}[[:space:]] ]]
}

go_tool_install
