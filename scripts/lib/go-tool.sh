# shellcheck shell=bash
# Shared by scripts/install-*.sh and bench/install-*.sh (source it): build a
# pinned Go command into the cache and print its path as the last line.
#
# A script sets, before calling go_tool_install:
#   TOOL_NAME      binary name, e.g. oras
#   TOOL_MODULE    package to `go install`, e.g. oras.land/oras/cmd/oras
#   TOOL_VERSION   e.g. v1.3.6
#   TOOL_DURATION  how long a cold build takes, for the log ("about a minute")
#   TOOL_VIA_MODULE  optional, 1: build inside a throw-away module that
#                  requires TOOL_MODULE@TOOL_VERSION ('go get', then 'go
#                  build'), for modules 'go install pkg@version' refuses
#                  (the proxy answers 403 to its deprecation lookup)
# and defines tool_version_ok, which succeeds when "${bin}" is the right
# version. Builds use only the Go module proxy; the binary goes to
#   ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/<name>

cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
bin_dir="${cache_dir}/bin"

# go_tool_goflags: GOFLAGS without -mod=... ('go install pkg@version'
# ignores the current module, and -mod would make it fail); the rest, such
# as -buildvcs=false, is kept.
go_tool_goflags() {
	local f out=""
	for f in ${GOFLAGS:-}; do
		case "${f}" in
		-mod=*) ;;
		*) out="${out:+${out} }${f}" ;;
		esac
	done
	echo "${out}"
}

# go_tool_tmpdir: a temporary directory next to the final binary (so the
# last step is an atomic rename), removed on exit.
go_tool_tmpdir() {
	mkdir -p "${bin_dir}"
	tmp_dir="$(mktemp -d "${bin_dir}/.install.XXXXXX")"
	# Module cache files are read-only: make them removable first.
	trap 'chmod -R u+w "${tmp_dir}" 2>/dev/null || true; rm -rf "${tmp_dir}"' EXIT
}

go_tool_install() {
	bin="${bin_dir}/${TOOL_NAME}"
	local script
	script="$(basename "$0")"
	if tool_version_ok; then
		echo "${bin}"
		return 0
	fi
	if ! command -v go >/dev/null 2>&1; then
		echo "${script}: 'go' not found on PATH" >&2
		return 1
	fi
	echo "${script}: building ${TOOL_MODULE}@${TOOL_VERSION} into ${bin_dir} (${TOOL_DURATION})" >&2
	go_tool_tmpdir
	(
		cd "${tmp_dir}" || exit 1
		export GOFLAGS="$(go_tool_goflags)" GO111MODULE=on GOWORK=off CGO_ENABLED=0
		if [[ "${TOOL_VIA_MODULE:-}" == 1 ]]; then
			go mod init manifesto.local/build-tool >&2 &&
				go get "${TOOL_MODULE}@${TOOL_VERSION}" >&2 &&
				go build -o "${tmp_dir}/${TOOL_NAME}" "${TOOL_MODULE}" >&2
		else
			GOBIN="${tmp_dir}" go install "${TOOL_MODULE}@${TOOL_VERSION}" >&2
		fi
	)
	mv -f "${tmp_dir}/${TOOL_NAME}" "${bin}"
	if ! tool_version_ok; then
		echo "${script}: ${bin} is not ${TOOL_NAME} ${TOOL_VERSION}" >&2
		return 1
	fi
	echo "${bin}"
}
