#!/usr/bin/env bash
# Ensures the CNCF Distribution registry binary used by the integration tests
# (internal/testregistry) is installed, and prints its path as the last line
# on stdout. Idempotent and fast when the right version is already there.
#
# Location: ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/registry
# It is built from source with the local Go toolchain (only the Go module
# proxy is needed). Keep REGISTRY_VERSION equal to testregistry.Version.
set -euo pipefail

REGISTRY_VERSION="v3.1.2"
REGISTRY_MODULE="github.com/distribution/distribution/v3/cmd/registry"

cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
bin_dir="${cache_dir}/bin"
bin="${bin_dir}/registry"

# "registry --version" prints e.g.
#   registry github.com/distribution/distribution/v3 v3.1.2+unknown
installed_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" --version 2>/dev/null)" || return 1
	[[ " ${out} " == *" ${REGISTRY_VERSION} "* || " ${out} " == *" ${REGISTRY_VERSION}+"* ]]
}

if installed_version_ok; then
	echo "${bin}"
	exit 0
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-registry.sh: 'go' not found on PATH" >&2
	exit 1
fi

mkdir -p "${bin_dir}"
echo "install-registry.sh: building ${REGISTRY_MODULE}@${REGISTRY_VERSION} into ${bin_dir} (takes about a minute)" >&2

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
		go install "${REGISTRY_MODULE}@${REGISTRY_VERSION}" >&2
)
mv -f "${tmp_dir}/registry" "${bin}"

if ! installed_version_ok; then
	echo "install-registry.sh: ${bin} does not report version ${REGISTRY_VERSION}:" >&2
	"${bin}" --version >&2 || true
	exit 1
fi
echo "${bin}"
