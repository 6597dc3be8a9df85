# shellcheck shell=bash
# Shared by the install scripts (source it): the one way they install a
# Debian package. apt_need SCRIPT COMMAND PACKAGE... installs PACKAGE(s)
# unless COMMAND is already on PATH: package lists updated first (a stale or
# empty list makes the install fail), no recommends, output on stderr. Fails
# with a message naming what to install when apt-get is not there. Needs
# root the first time.
apt_need() {
	local script="$1" cmd="$2"
	shift 2
	command -v "${cmd}" >/dev/null 2>&1 && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "${script}: ${cmd} is missing and apt-get is not available: install $* yourself" >&2
		return 1
	fi
	echo "${script}: installing $* with apt-get" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}
