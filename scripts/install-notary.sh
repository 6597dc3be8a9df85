#!/usr/bin/env bash
# Ensures the notary-server binary used by the trust tests (internal/testnotary,
# trust/notary) is installed, and prints its path as the last line on stdout.
# Idempotent and fast when the right build is already there.
#
# Location: ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/notary-server
# Keep NOTARY_VERSION equal to testnotary.Version and to the notary module in
# go.mod.
#
# What is built: notary v0.7.0 (the last release; the module proxy has no later
# version) from the module proxy's source with the local Go toolchain, plus the
# one-line server fix of upstream PR #1635: notary-server reads the role of an
# uploaded file from the multipart filename with Part.FileName(), which since
# Go 1.17 strips everything up to the last "/", so a stock v0.7.0 server built
# with any current Go rejects every delegation upload ("targets/ci" arrives as
# "ci": INVALID_ROLE; theupdateframework/notary#1630). The fix reads the raw
# filename parameter instead. Nothing else changes.
#
# Debian's "notary" package (0.7.0+ds1, /usr/bin/notary-server) carries the same
# fix and works too (testnotary finds it on PATH); this script is preferred
# because it needs only the Go toolchain and the module proxy (no root, any
# distribution), builds exactly the server of the client library in go.mod, and
# stamps the version so a stale cached binary is rebuilt.
set -euo pipefail

NOTARY_VERSION="v0.7.0"
NOTARY_MODULE="github.com/theupdateframework/notary"
# Marks this build (version + fix) in "notary-server -version"; change it
# whenever the build changes so that cached binaries are rebuilt.
BUILD_MARK="manifesto-pr1635"

# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"
bin="${bin_dir}/notary-server"

# "notary-server -version" prints e.g.
#   notary-server Version: 0.7.0, Git commit: manifesto-pr1635, Go version: go1.26.8
installed_version_ok() {
	[[ -x "${bin}" ]] || return 1
	local out
	out="$("${bin}" -version 2>/dev/null)" || return 1
	[[ "${out}" == *"Version: ${NOTARY_VERSION#v}, Git commit: ${BUILD_MARK},"* ]]
}

if installed_version_ok; then
	echo "${bin}"
	exit 0
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-notary.sh: 'go' not found on PATH" >&2
	exit 1
fi

mkdir -p "${bin_dir}"
echo "install-notary.sh: building ${NOTARY_MODULE}/cmd/notary-server@${NOTARY_VERSION} (+ PR #1635 fix) into ${bin_dir} (takes about a minute)" >&2

# Build in a temporary directory first so that an interrupted build never
# leaves a half-written binary at the final path, then rename (atomic).
go_tool_tmpdir
GOFLAGS="$(go_tool_goflags)"
export GOFLAGS GO111MODULE=on GOWORK=off CGO_ENABLED=0

# The release's source, from the module proxy (checked against go.sum's
# checksum database like any module download).
src_dir="$(cd "${tmp_dir}" && go mod download -json "${NOTARY_MODULE}@${NOTARY_VERSION}" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "${src_dir}" || ! -f "${src_dir}/server/handlers/default.go" ]]; then
	echo "install-notary.sh: could not download ${NOTARY_MODULE}@${NOTARY_VERSION}" >&2
	exit 1
fi
cp -R "${src_dir}" "${tmp_dir}/src"
chmod -R u+w "${tmp_dir}/src"

# The fix (upstream PR #1635, same effect): the raw filename parameter.
handler="${tmp_dir}/src/server/handlers/default.go"
old='role := data.RoleName(strings.TrimSuffix(part.FileName(), ".json"))'
new='role := data.RoleName(strings.TrimSuffix(rawFileName(part), ".json"))'
if [[ "$(grep -cF "${old}" "${handler}")" != 1 ]]; then
	echo "install-notary.sh: ${handler} does not contain the line to fix exactly once" >&2
	exit 1
fi
sed -i.orig "s|$(printf '%s' "${old}" | sed 's/[][\.*^$|]/\\&/g')|${new}|" "${handler}"
grep -qF "${new}" "${handler}" || {
	echo "install-notary.sh: patching ${handler} failed" >&2
	exit 1
}
cat >"${tmp_dir}/src/server/handlers/rawfilename.go" <<'GO'
package handlers

import (
	"mime"
	"mime/multipart"
)

// rawFileName returns the filename parameter of the part's
// Content-Disposition as sent. Part.FileName applies filepath.Base since
// Go 1.17, which turns the delegation role "targets/ci" into "ci".
func rawFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}
GO

ldflags="-X ${NOTARY_MODULE}/version.NotaryVersion=${NOTARY_VERSION#v} -X ${NOTARY_MODULE}/version.GitCommit=${BUILD_MARK}"
(
	cd "${tmp_dir}/src"
	# -mod=mod: the dependency versions of the release's go.mod, as
	# 'go install ...@v0.7.0' would use (not its stale vendor/ tree).
	go build -mod=mod -trimpath -ldflags "${ldflags}" -o "${tmp_dir}/notary-server" ./cmd/notary-server >&2
)
mv -f "${tmp_dir}/notary-server" "${bin}"

if ! installed_version_ok; then
	echo "install-notary.sh: ${bin} does not report ${NOTARY_VERSION} (${BUILD_MARK}):" >&2
	"${bin}" -version >&2 || true
	exit 1
fi
echo "${bin}"
