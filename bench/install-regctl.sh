#!/usr/bin/env bash
# Ensures the regctl CLI (regclient), a peer tool the peer benchmarks
# (bench/peers_test.go) compare against, is installed, and prints its path as
# the last line on stdout. Idempotent and fast when the right version is
# already there.
#
# Location: ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/regctl
# (the same cache as scripts/install-registry.sh). It is built from source
# with the local Go toolchain (only the Go module proxy is needed). v0.11.7 is
# the release the registry landscape note measured (16 concurrent writers on
# CNCF Distribution v3.1.2: 6 of 16 kept); it builds with Go 1.26.
set -euo pipefail

REGCTL_VERSION="v0.11.7"
REGCTL_MODULE="github.com/regclient/regclient/cmd/regctl"

cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
bin_dir="${cache_dir}/bin"
bin="${bin_dir}/regctl"

# "regctl version --format {{.VCSTag}}" prints the release, e.g. "v0.11.7"
# (for a "go install module@version" build, taken from the build info).
installed_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" version --format '{{.VCSTag}}' 2>/dev/null)" || return 1
	[[ "${out}" == "${REGCTL_VERSION}" ]]
}

if installed_version_ok; then
	echo "${bin}"
	exit 0
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-regctl.sh: 'go' not found on PATH" >&2
	exit 1
fi

mkdir -p "${bin_dir}"
echo "install-regctl.sh: building ${REGCTL_MODULE}@${REGCTL_VERSION} into ${bin_dir} (takes about a minute)" >&2

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
		go install "${REGCTL_MODULE}@${REGCTL_VERSION}" >&2
)
mv -f "${tmp_dir}/regctl" "${bin}"

if ! installed_version_ok; then
	echo "install-regctl.sh: ${bin} is not ${REGCTL_MODULE}@${REGCTL_VERSION}:" >&2
	"${bin}" version >&2 || true
	exit 1
fi
echo "${bin}"
