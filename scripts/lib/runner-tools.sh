# shellcheck shell=bash
# Sourced by .ci/run (and by hand, to run the real-runner tests locally):
# installs, once and cached, the CI runners e2e/runners_*_test.go drive and
# exports the variables the tests find them by:
#   MANIFESTO_PODMAN_DIR           podman's private configuration
#                                  (scripts/install-podman.sh)
#   MANIFESTO_ACT_BIN              nektos/act (GitHub Actions)
#   MANIFESTO_WOODPECKER_BIN       woodpecker-cli (Woodpecker)
#   MANIFESTO_GITLAB_CI_LOCAL_BIN  gitlab-ci-local (GitLab CI), with its Node
# The act and Woodpecker tests also need the image (MANIFESTO_CONTAINER_IMAGE,
# scripts/build-image.sh). Run from the repository root. Needs root the first
# time (apt-get).

# runner_tool VAR SCRIPT: runs SCRIPT (which prints a path as its last line)
# and exports VAR as that path, which must exist.
runner_tool() {
	local var="$1" script="$2" out
	out="$(bash "${script}" | tail -n 1)"
	if [[ -z "${out}" || ! -e "${out}" ]]; then
		echo "${script} did not produce a path that exists (got '${out}')" >&2
		return 1
	fi
	export "${var}=${out}"
}

runner_tool MANIFESTO_PODMAN_DIR scripts/install-podman.sh
runner_tool MANIFESTO_ACT_BIN scripts/install-act.sh
runner_tool MANIFESTO_WOODPECKER_BIN scripts/install-woodpecker-cli.sh
runner_tool MANIFESTO_GITLAB_CI_LOCAL_BIN scripts/install-gitlab-ci-local.sh
