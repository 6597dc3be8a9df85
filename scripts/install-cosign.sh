#!/usr/bin/env bash
# Ensures the cosign CLI used by the Sigstore interoperability tests
# (e2e/sigstore_test.go) is installed, and prints its path as the last line on
# stdout. Idempotent and fast when the right version is already there.
#
# Location: ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/cosign
# It is built from source with the local Go toolchain (only the Go module
# proxy is needed; about five minutes on two cores the first time).
set -euo pipefail

COSIGN_VERSION="v3.1.3"
COSIGN_MODULE="github.com/sigstore/cosign/v3/cmd/cosign"

cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
bin_dir="${cache_dir}/bin"
bin="${bin_dir}/cosign"

# "cosign version" prints, among its banner, e.g.
#   GitVersion:    v3.1.3
installed_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" version 2>/dev/null)" || return 1
	[[ "${out}" =~ (^|$'\n')GitVersion:[[:space:]]+${COSIGN_VERSION//./\\.}([[:space:]]|$) ]]
}

if installed_version_ok; then
	echo "${bin}"
	exit 0
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-cosign.sh: 'go' not found on PATH" >&2
	exit 1
fi

mkdir -p "${bin_dir}"
echo "install-cosign.sh: building ${COSIGN_MODULE}@${COSIGN_VERSION} into ${bin_dir} (takes about five minutes)" >&2

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
		go install "${COSIGN_MODULE}@${COSIGN_VERSION}" >&2
)
mv -f "${tmp_dir}/cosign" "${bin}"

if ! installed_version_ok; then
	echo "install-cosign.sh: ${bin} does not report version ${COSIGN_VERSION}:" >&2
	"${bin}" version >&2 || true
	exit 1
fi
echo "${bin}"
