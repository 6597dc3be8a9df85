#!/usr/bin/env bash
# Builds the manifesto container image from ./Dockerfile with buildah, on
# machines without a Docker engine and without Docker Hub, and prints the
# image's size in bytes as the last line on stdout (everything else goes to
# stderr).
#
#   ./scripts/build-image.sh                 # -> localhost/manifesto:test
#   MANIFESTO_IMAGE=localhost/manifesto:dev ./scripts/build-image.sh
#
# The Dockerfile's bases (golang:<version>-alpine, alpine:<version>) cannot be
# pulled here, so two local stand-ins are made first and reused afterwards:
#
#   localhost/golang:local  the machine's Go toolchain (/usr/local/go, or
#                           $(go env GOROOT)) and CA certificates, no shell;
#                           remade when the machine's Go version changes
#   localhost/base:local    Debian's busybox-static (/bin/sh and the usual
#                           applets) and CA certificates
#
# MANIFESTO_REBUILD_BASES=1 remakes both. Module downloads during the build
# go through the host network to $(go env GOPROXY).
#
# Environment:
#   MANIFESTO_IMAGE         tag to build (default localhost/manifesto:test)
#   MANIFESTO_VERSION       version stamped into the binary (default: git
#                           describe, else "dev")
#   MANIFESTO_REBUILD_BASES 1 to remake the local base images
#   MANIFESTO_BUILD_CACHE   1 (default) bind-mounts the host's Go build and
#                           module caches into the build, so a rebuild only
#                           compiles what changed; 0 builds from nothing, as
#                           `docker build` does
#
# Needs root. Installs buildah first (scripts/install-buildah.sh) and uses its
# private vfs storage (CONTAINERS_STORAGE_CONF).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

image="${MANIFESTO_IMAGE:-localhost/manifesto:test}"
go_base="localhost/golang:local"
final_base="localhost/base:local"

log() { echo "build-image.sh: $*" >&2; }

# Stdout of the install script is the storage.conf path; its chatter is
# stderr.
CONTAINERS_STORAGE_CONF="$(bash scripts/install-buildah.sh | tail -n 1)"
export CONTAINERS_STORAGE_CONF
storage_dir="$(dirname "${CONTAINERS_STORAGE_CONF}")"

# One build at a time per storage: two concurrent runs would race on the base
# images' names.
exec 9>"${storage_dir}/build.lock"
if ! flock -w 900 9; then
	log "another build holds ${storage_dir}/build.lock for 15 minutes; giving up"
	exit 1
fi

image_exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }

image_label() {
	buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

# The working container of a base image being made, removed if the script
# stops half-way.
pending_ctr=""
cleanup() {
	if [[ -n "${pending_ctr}" ]]; then
		buildah rm "${pending_ctr}" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

# rootfs_commit CTR IMAGE: commits the working container CTR as IMAGE and
# removes it.
rootfs_commit() {
	buildah umount "$1" >/dev/null
	buildah commit --quiet --rm "$1" "$2" >/dev/null
	pending_ctr=""
}

goroot="$(go env GOROOT)"
goversion="$(go env GOVERSION)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
if [[ ! -s "${ca_bundle}" ]]; then
	log "${ca_bundle} is missing (apt-get install ca-certificates)"
	exit 1
fi

make_go_base() {
	local t0=${SECONDS} ctr root
	log "making ${go_base} from ${goroot} (${goversion})"
	ctr="$(buildah from --quiet scratch)"
	pending_ctr="${ctr}"
	root="$(buildah mount "${ctr}")"
	mkdir -p "${root}/usr/local" "${root}/etc/ssl/certs" "${root}/root" "${root}/go" "${root}/tmp"
	chmod 1777 "${root}/tmp"
	cp -a "${goroot}/." "${root}/usr/local/go/"
	cp -L "${ca_bundle}" "${root}/etc/ssl/certs/ca-certificates.crt"
	# What the official golang image sets, so the Dockerfile behaves alike.
	buildah config \
		--env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--env HOME=/root \
		--env GOPATH=/go \
		--env GOTOOLCHAIN=local \
		--env GOFLAGS=-buildvcs=false \
		--workingdir /go \
		--label "dev.manifesto.go-version=${goversion}" \
		"${ctr}"
	rootfs_commit "${ctr}" "${go_base}"
	log "made ${go_base} in $((SECONDS - t0))s"
}

make_final_base() {
	local t0=${SECONDS} ctr root tmp deb applet
	log "making ${final_base} from Debian's busybox-static"
	tmp="$(mktemp -d)"
	chmod 755 "${tmp}" # apt-get download runs as _apt unless told otherwise
	if ! (cd "${tmp}" && apt-get download -qq -o APT::Sandbox::User=root busybox-static >&2); then
		log "apt-get download failed; updating the package lists and retrying"
		apt-get update -qq >&2
		(cd "${tmp}" && apt-get download -qq -o APT::Sandbox::User=root busybox-static >&2)
	fi
	deb="$(ls "${tmp}"/busybox-static_*.deb)"
	dpkg-deb -x "${deb}" "${tmp}/deb"

	ctr="$(buildah from --quiet scratch)"
	pending_ctr="${ctr}"
	root="$(buildah mount "${ctr}")"
	mkdir -p "${root}/bin" "${root}/usr/bin" "${root}/usr/local/bin" "${root}/etc/ssl/certs" \
		"${root}/root" "${root}/tmp" "${root}/var/tmp"
	chmod 1777 "${root}/tmp" "${root}/var/tmp"
	chmod 700 "${root}/root"
	install -m 0755 "${tmp}/deb/bin/busybox" "${root}/bin/busybox"
	# One symlink per applet (sh, cat, ls, env, ...), like `busybox --install -s`.
	for applet in $("${root}/bin/busybox" --list); do
		[[ "${applet}" == busybox || -e "${root}/bin/${applet}" ]] || ln -s busybox "${root}/bin/${applet}"
	done
	cp -L "${ca_bundle}" "${root}/etc/ssl/certs/ca-certificates.crt"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"${root}/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\n' >"${root}/etc/group"
	buildah config \
		--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--cmd /bin/sh \
		--label "dev.manifesto.busybox=$(basename "${deb}" .deb)" \
		"${ctr}"
	rootfs_commit "${ctr}" "${final_base}"
	rm -rf "${tmp}"
	log "made ${final_base} in $((SECONDS - t0))s"
}

if [[ "${MANIFESTO_REBUILD_BASES:-0}" == 1 ]] || ! image_exists "${go_base}" ||
	[[ "$(image_label "${go_base}" dev.manifesto.go-version)" != "${goversion}" ]]; then
	make_go_base
else
	log "reusing ${go_base} (${goversion})"
fi
if [[ "${MANIFESTO_REBUILD_BASES:-0}" == 1 ]] || ! image_exists "${final_base}"; then
	make_final_base
else
	log "reusing ${final_base}"
fi

version="${MANIFESTO_VERSION:-}"
if [[ -z "${version}" ]]; then
	version="$(git describe --tags --always --dirty 2>/dev/null || true)"
	version="${version:-dev}"
fi

build_args=(
	--build-arg "GO_IMAGE=${go_base}"
	--build-arg "BASE_IMAGE=${final_base}"
	--build-arg "VERSION=${version}"
	--build-arg "GOPROXY=$(go env GOPROXY)"
)

volumes=()
if [[ "${MANIFESTO_BUILD_CACHE:-1}" == 1 ]]; then
	gocache="$(go env GOCACHE)"
	gomodcache="$(go env GOMODCACHE)"
	mkdir -p "${gocache}" "${gomodcache}"
	# The paths the build stage uses (HOME=/root, GOPATH=/go). The build
	# output is the same with or without them; they only save work.
	volumes=(-v "${gocache}:/root/.cache/go-build" -v "${gomodcache}:/go/pkg/mod")
fi

log "building ${image} (version ${version})"
t0=${SECONDS}
# --pull=false: the bases are local; never ask a registry about them.
# No --layers: on vfs every cached layer is a full copy of the Go toolchain
# (250 MB each); the bind-mounted caches above make rebuilds fast instead.
buildah bud --isolation chroot --pull=false --no-cache --force-rm \
	"${build_args[@]}" "${volumes[@]}" \
	-t "${image}" . >&2
log "built ${image} in $((SECONDS - t0))s"

# The previous build of the tag is now dangling; vfs keeps a full copy of it.
buildah rmi --prune >/dev/null 2>&1 || true

# Uncompressed size: the sum of the layer sizes in the image manifest (what
# `docker images` shows).
manifest="$(buildah inspect --type image --format '{{.Manifest}}' "${image}")"
layers="${manifest#*\"layers\":}"
bytes=0
while read -r n; do
	bytes=$((bytes + n))
done < <(grep -o '"size":[0-9]*' <<<"${layers%%]*}" | cut -d: -f2)
log "image ${image}: ${bytes} bytes ($((bytes / 1000000)).$((bytes % 1000000 / 100000)) MB) uncompressed, $(grep -o '"size":' <<<"${layers%%]*}" | wc -l) layers"
echo "${bytes}"
