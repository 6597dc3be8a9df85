#!/usr/bin/env bash
# Ensures woodpecker-cli (its `exec` runs a Woodpecker pipeline locally; with
# --backend-engine docker through podman's Docker API, see
# scripts/install-podman.sh) is installed, and prints its path as the last
# line on stdout. Used by e2e/runners_woodpecker_test.go. Idempotent and
# fast when the right version is already there.
#
# v1.0.5, built from its module's source: the Go module proxy refuses
# Woodpecker v2 and v3 (403); v1.0.5 is served as
# github.com/woodpecker-ci/woodpecker, but its go.mod declares
# go.woodpecker-ci.org/woodpecker, so neither 'go install' nor a module
# requiring it can build it. 'go mod download' fetches the source, and
# cmd/cli builds inside it with its own go.mod and go.sum. The version is
# stamped the way Woodpecker's release builds do (-X .../version.Version).
set -euo pipefail
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

TOOL_NAME=woodpecker-cli
TOOL_MODULE=github.com/woodpecker-ci/woodpecker
TOOL_VERSION=v1.0.5
TOOL_DURATION="about two minutes"

# "woodpecker-cli --version" prints "woodpecker-cli version 1.0.5".
tool_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" --version 2>/dev/null)" || return 1
	[[ "${out}" == "woodpecker-cli version ${TOOL_VERSION#v}" ]]
}

bin="${bin_dir}/${TOOL_NAME}"
if tool_version_ok; then
	echo "${bin}"
	exit 0
fi
script="$(basename "$0")"
if ! command -v go >/dev/null 2>&1; then
	echo "${script}: 'go' not found on PATH" >&2
	exit 1
fi
echo "${script}: building ${TOOL_MODULE}@${TOOL_VERSION}/cmd/cli into ${bin_dir} (${TOOL_DURATION})" >&2
go_tool_tmpdir
(
	export GOFLAGS="$(go_tool_goflags)" GO111MODULE=on GOWORK=off CGO_ENABLED=0
	cd "${tmp_dir}"
	src="$(go mod download -json "${TOOL_MODULE}@${TOOL_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	if [[ -z "${src}" || ! -f "${src}/go.mod" ]]; then
		echo "${script}: go mod download ${TOOL_MODULE}@${TOOL_VERSION} gave no source directory" >&2
		exit 1
	fi
	# A writable copy: the module cache is read-only, and the build may
	# want to update go.sum.
	cp -R "${src}" "${tmp_dir}/src"
	chmod -R u+w "${tmp_dir}/src"
	cd "${tmp_dir}/src"
	main_module="$(go list -m)"
	go build -mod=mod -trimpath \
		-ldflags "-s -w -X ${main_module}/version.Version=${TOOL_VERSION#v}" \
		-o "${tmp_dir}/${TOOL_NAME}" ./cmd/cli >&2
)
mv -f "${tmp_dir}/${TOOL_NAME}" "${bin}"
if ! tool_version_ok; then
	echo "${script}: ${bin} is not ${TOOL_NAME} ${TOOL_VERSION}" >&2
	exit 1
fi
echo "${bin}"
