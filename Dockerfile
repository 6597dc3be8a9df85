# manifesto as a container: a GitHub Docker container action, a GitLab CI
# image, a Tekton/Drone/Woodpecker step, or just `docker run`.
#
#   docker build -t manifesto .
#   docker run --rm manifesto version
#
# Entrypoint: /usr/local/bin/manifesto. Run with no arguments inside a CI system
# it is a pipeline step (inputs from INPUT_* / MANIFESTO_* / PLUGIN_* variables,
# outputs to the CI system's output files); with arguments it is the CLI.
#
# GitLab runs `script:` through a shell, so the final image has /bin/sh. Clear
# the entrypoint there, or the runner hands the script to manifesto:
#
#   manifesto:
#     image:
#       name: ghcr.io/manifesto-dev/manifesto:1
#       entrypoint: [""]
#     script:
#       - manifesto get "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA" seccomp -o seccomp.json
#
# Every RUN uses the exec form: the build stage may be a base without a shell
# (scripts/build-image.sh builds from a shell-less copy of the local Go
# toolchain, since these machines cannot pull from Docker Hub):
#
#   buildah bud --isolation chroot --build-arg GO_IMAGE=localhost/golang:local \
#     --build-arg BASE_IMAGE=localhost/base:local -t localhost/manifesto:test .
#
# Keep GO_IMAGE's Go version equal to the go directive in go.mod.
ARG GO_IMAGE=golang:1.26.8-alpine
# BASE_IMAGE needs /bin/sh (GitLab `script:`) and CA certificates at
# /etc/ssl/certs/ca-certificates.crt (HTTPS registries); alpine has both.
ARG BASE_IMAGE=alpine:3.22

FROM ${GO_IMAGE} AS build
# GOPROXY: passed through when given with --build-arg, otherwise the
# toolchain's default (https://proxy.golang.org,direct) applies.
ARG GOPROXY
ENV CGO_ENABLED=0
WORKDIR /src
# Modules first: this layer stays cached while only the sources change.
COPY go.mod go.sum ./
RUN ["go", "mod", "download"]
COPY . .
# RUN's exec form does not expand ${VERSION}, ENV does: go reads -trimpath and
# the quoted -ldflags from GOFLAGS, which is the same as
#   go build -trimpath -ldflags "-s -w -X main.version=${VERSION}"
ARG VERSION=dev
ENV GOFLAGS="-buildvcs=false -trimpath '-ldflags=-s -w -X main.version=${VERSION}'"
RUN ["go", "build", "-o", "/out/manifesto", "."]

FROM ${BASE_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="manifesto" \
      org.opencontainers.image.description="Keep metadata next to your container images, in the registry that already holds them" \
      org.opencontainers.image.source="https://github.com/manifesto-dev/manifesto" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/manifesto /usr/local/bin/manifesto
# Root on purpose: GitHub mounts the workspace and file-command directories
# owned by the runner's user, which only root can write into from a container
# action (GitHub's own advice for container actions).
ENTRYPOINT ["/usr/local/bin/manifesto"]
