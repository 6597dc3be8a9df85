#!/usr/bin/env bash
# Ensures buildah (Debian's package) is installed and that a private container
# storage is configured for it, then prints the path of that storage.conf as
# the last line on stdout. Idempotent and fast when everything is already
# there. Callers export it:
#
#   export CONTAINERS_STORAGE_CONF="$(bash scripts/install-buildah.sh | tail -n 1)"
#
# (Sourcing the script also works and exports the variable in the caller.)
#
# Storage: ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/buildah/
#   storage.conf  driver "vfs" (works on any filesystem, no fuse/overlay
#                 needed), graphroot and runroot below this directory
#   graphroot/    images and containers
#   runroot/      run-time state
# Nothing outside that directory is configured, so the machine's own
# containers (if any) are left alone. Builds and runs need
# "--isolation chroot": the OCI runtimes fail on these machines' cgroup setup.
#
# Needs root (apt-get) the first time, when buildah is missing.

_manifesto_install_buildah() {
	local cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
	local dir="${cache_dir}/buildah"
	local conf="${dir}/storage.conf"

	# shellcheck source=scripts/lib/apt.sh
	source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
	apt_need install-buildah.sh buildah buildah || return 1
	# The default signature policy; buildah refuses to pull or commit without
	# one. Debian's containers-common ships it; write the permissive default
	# if it is somehow missing.
	if [[ ! -e /etc/containers/policy.json ]]; then
		mkdir -p /etc/containers
		printf '%s\n' '{"default":[{"type":"insecureAcceptAnything"}]}' >/etc/containers/policy.json
	fi

	mkdir -p "${dir}/graphroot" "${dir}/runroot"
	local want
	want="$(printf '%s\n' \
		'# Written by scripts/install-buildah.sh: private vfs storage for manifesto builds.' \
		'[storage]' \
		'driver = "vfs"' \
		"graphroot = \"${dir}/graphroot\"" \
		"runroot = \"${dir}/runroot\"")"
	if [[ ! -f "${conf}" || "$(cat "${conf}")" != "${want}" ]]; then
		# Write then rename, so a concurrent reader never sees half a file.
		printf '%s\n' "${want}" >"${conf}.tmp.$$"
		mv -f "${conf}.tmp.$$" "${conf}"
	fi
	export CONTAINERS_STORAGE_CONF="${conf}"

	if ! buildah --version >&2; then
		echo "install-buildah.sh: buildah does not run" >&2
		return 1
	fi
	echo "${conf}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	_manifesto_install_buildah
else
	_manifesto_install_buildah
fi
