#!/usr/bin/env bash
# Ensures the crane CLI (go-containerregistry), the peer tool the streaming
# benchmark (bench/stream_test.go) compares against, is installed, and prints
# its path as the last line on stdout. Idempotent and fast when the right
# version is already there.
#
# Location: ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/crane
# (the same cache as scripts/install-registry.sh). It is built from source
# with the local Go toolchain (only the Go module proxy is needed). The
# version is the go-containerregistry release go.mod requires, so both tools
# share the same registry client code.
set -euo pipefail

CRANE_VERSION="v0.22.1"
CRANE_MODULE="github.com/google/go-containerregistry/cmd/crane"

cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
bin_dir="${cache_dir}/bin"
bin="${bin_dir}/crane"

# "crane version" prints the module version, e.g. "v0.22.1".
installed_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" version 2>/dev/null)" || return 1
	[[ "${out}" == "${CRANE_VERSION}" ]]
}

if installed_version_ok; then
	echo "${bin}"
	exit 0
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-crane.sh: 'go' not found on PATH" >&2
	exit 1
fi

mkdir -p "${bin_dir}"
echo "install-crane.sh: building ${CRANE_MODULE}@${CRANE_VERSION} into ${bin_dir}" >&2

# Install into a temporary directory first so that an interrupted build never
# leaves a half-written binary at the final path, then rename (atomic).
tmp_dir="$(mktemp -d "${bin_dir}/.install.XXXXXX")"
trap 'rm -rf "${tmp_dir}"' EXIT

# 'go install pkg@version' ignores the current module, but -mod=... in GOFLAGS
# would make it fail; drop it and keep the rest (e.g. -buildvcs=false).
goflags=""
for f in ${GOFLAGS:-}; do
	case "${f}" in
	-mod=*) ;;
	*) goflags="${goflags:+${goflags} }${f}" ;;
	esac
done

(
	cd "${tmp_dir}"
	GOBIN="${tmp_dir}" GOFLAGS="${goflags}" GO111MODULE=on GOWORK=off CGO_ENABLED=0 \
		go install "${CRANE_MODULE}@${CRANE_VERSION}" >&2
)
mv -f "${tmp_dir}/crane" "${bin}"

if ! installed_version_ok; then
	echo "install-crane.sh: ${bin} does not report version ${CRANE_VERSION}:" >&2
	"${bin}" version >&2 || true
	exit 1
fi
echo "${bin}"
