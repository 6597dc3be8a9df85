#!/usr/bin/env bash
# Ensures actionlint (the GitHub Actions workflow linter .ci/run runs on
# .github/workflows/ and testdata/runners/github/) is installed, and prints
# its path as the last line on stdout. Idempotent and fast when the right
# version is already there.
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=actionlint
TOOL_MODULE=github.com/rhysd/actionlint/cmd/actionlint
TOOL_VERSION=v1.7.12
TOOL_DURATION="about half a minute"

# "actionlint -version" prints the version on its first line ("v1.7.12" or
# "1.7.12").
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out want="${TOOL_VERSION#v}"
	out="$("${bin}" -version 2>/dev/null | head -n 1)" || return 1
	[[ "${out}" == "${want}" || "${out}" == "v${want}" ]]
}

go_tool_install
