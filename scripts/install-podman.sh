#!/usr/bin/env bash
# Ensures rootful podman (Debian's podman and runc) is installed and
# configured privately for the real-runner tests (e2e/runners_*_test.go:
# nektos/act and Woodpecker through podman's Docker API), then prints the
# configuration directory as the last line on stdout. Idempotent and fast
# when everything is already there. Sourcing the script also exports the
# three variables below in the caller.
#
# Directory: ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/podman/
#   containers.conf  CONTAINERS_CONF
#   registries.conf  CONTAINERS_REGISTRIES_CONF: no unqualified search, no
#                    short names (nothing is ever pulled from Docker Hub)
#   storage.conf     CONTAINERS_STORAGE_CONF: a link to buildah's private vfs
#                    storage (scripts/install-buildah.sh), so podman sees the
#                    images scripts/build-image.sh builds
#   events.log       podman's event log (no journald here)
# Nothing outside the directory and buildah's storage is configured.
#
# The three fixes containers.conf carries (each found failing without it on
# these machines, Debian 12 as root with no systemd and no CAP_SYS_RESOURCE):
#   default_ulimits  "crun/runc: setrlimit RLIMIT_NOFILE: Operation not
#                    permitted" (open files are capped at 20000 here)
#   runtime = runc, cgroup_manager = cgroupfs
#                    "cgroups in hybrid mode not supported" with crun
#   events_logger = file
#                    journald/events errors without systemd
# netns and cgroupns "host" let containers reach a registry on 127.0.0.1.
#
# A Docker API for act and woodpecker-cli: the tests start
#   podman system service --time=0 unix://SOMEDIR/podman.sock
# themselves and stop it when they end (DOCKER_HOST=unix://SOMEDIR/podman.sock).
#
# Needs root (apt-get) the first time.

_manifesto_install_podman() {
	local here
	here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
	local cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
	local dir="${cache_dir}/podman"

	# shellcheck source=scripts/lib/apt.sh
	source "${here}/lib/apt.sh"
	apt_need install-podman.sh podman podman runc || return 1
	apt_need install-podman.sh runc runc || return 1

	# buildah's storage (and the signature policy it makes sure of).
	local storage_conf
	storage_conf="$(bash "${here}/install-buildah.sh" | tail -n 1)" || return 1

	mkdir -p "${dir}"
	_manifesto_podman_write "${dir}/containers.conf" "$(printf '%s\n' \
		'# Written by scripts/install-podman.sh: rootful podman for the real-runner tests.' \
		'[containers]' \
		'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]' \
		'netns = "host"' \
		'cgroupns = "host"' \
		'[engine]' \
		'runtime = "runc"' \
		'cgroup_manager = "cgroupfs"' \
		'events_logger = "file"' \
		"events_logfile_path = \"${dir}/events.log\"")" || return 1
	_manifesto_podman_write "${dir}/registries.conf" "$(printf '%s\n' \
		'# Written by scripts/install-podman.sh: never resolve short names.' \
		'unqualified-search-registries = []' \
		'short-name-mode = "disabled"')" || return 1
	if [[ "$(readlink "${dir}/storage.conf" 2>/dev/null)" != "${storage_conf}" ]]; then
		ln -sfn "${storage_conf}" "${dir}/storage.conf.tmp.$$"
		mv -fT "${dir}/storage.conf.tmp.$$" "${dir}/storage.conf"
	fi

	export CONTAINERS_CONF="${dir}/containers.conf"
	export CONTAINERS_REGISTRIES_CONF="${dir}/registries.conf"
	export CONTAINERS_STORAGE_CONF="${dir}/storage.conf"
	if ! podman --version >&2; then
		echo "install-podman.sh: podman does not run" >&2
		return 1
	fi
	echo "${dir}"
}

# _manifesto_podman_write FILE CONTENT: writes CONTENT (plus a newline) to
# FILE unless it already holds exactly that; write then rename, so a
# concurrent reader never sees half a file.
_manifesto_podman_write() {
	if [[ -f "$1" && "$(cat "$1")" == "$2" ]]; then
		return 0
	fi
	printf '%s\n' "$2" >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	_manifesto_install_podman
else
	_manifesto_install_podman
fi
