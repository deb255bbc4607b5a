# syntax=docker/dockerfile:1.7
#
# Images for the four MCP servers and the sre-agent bot, one target each, for
# people with Docker. Without Docker, scripts/build-images.sh builds the same
# five images with buildah (FROM scratch, OCI archives) and is what the tests
# check (deploy/check/tests/images.rs); keep the two consistent: same cargo
# profile, user 65532, entrypoints, working directory, environment and labels.
#
#   REV=$(git rev-parse HEAD)
#   docker build --target mcp-kubernetes --build-arg REVISION=$REV -t ghcr.io/sre-agent/mcp-kubernetes:0.1.0 .
#   docker build --target mcp-signoz     --build-arg REVISION=$REV -t ghcr.io/sre-agent/mcp-signoz:0.1.0 .
#   docker build --target mcp-mongodb    --build-arg REVISION=$REV -t ghcr.io/sre-agent/mcp-mongodb:0.1.0 .
#   docker build --target mcp-slack      --build-arg REVISION=$REV -t ghcr.io/sre-agent/mcp-slack:0.1.0 .
#   docker build --target sre-agent      --build-arg REVISION=$REV -t ghcr.io/sre-agent/sre-agent:0.1.0 .
#
# Needs BuildKit (the default builder of Docker 23+). The `build` stage compiles
# all five binaries with `cargo build --profile $PROFILE --locked` (default
# `image`, see Cargo.toml; `--build-arg PROFILE=release` for the fully
# optimised and slower build); BuildKit runs it once for all five targets, and
# the cargo registry and target directory are cache mounts, so a rebuild after
# a change compiles only what changed.
#
# Runtime: distroless/cc (glibc, libgcc, CA certificates, no shell), the binary,
# user 65532 (nonroot). The servers' default transport is stdio
# (`docker run -i --rm IMAGE`); Kubernetes starts them with
# `--transport http --listen 0.0.0.0:8080` (deploy/kustomize, deploy/helm).
# docs/operations.md has the figures (build time, sizes).

ARG RUST_VERSION=1.95
ARG PROFILE=image

FROM rust:${RUST_VERSION}-bookworm AS source
ARG PROFILE
WORKDIR /src
COPY . .

# One stage compiles the five binaries in one cargo run, as
# scripts/build-images.sh does: the dependencies are compiled once, and each
# image below copies its binary from here.
FROM source AS build
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --profile "$PROFILE" --locked \
      -p mcp-kubernetes -p mcp-signoz -p mcp-mongodb -p mcp-slack -p sre-agent-cli \
    && for bin in mcp-kubernetes mcp-signoz mcp-mongodb mcp-slack sre-agent; do \
         install -D -m 0755 "target/$PROFILE/$bin" "/out/$bin"; \
       done

# distroless/cc on Debian 12, like the builder's glibc (bookworm).
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.source=https://github.com/sre-agent/sre-agent \
      org.opencontainers.image.licenses=Apache-2.0
ENV HOME=/home/nonroot \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 8080

FROM runtime AS mcp-kubernetes
LABEL org.opencontainers.image.title=mcp-kubernetes
COPY --from=build /out/mcp-kubernetes /usr/local/bin/mcp-kubernetes
ENTRYPOINT ["/usr/local/bin/mcp-kubernetes"]

FROM runtime AS mcp-signoz
LABEL org.opencontainers.image.title=mcp-signoz
COPY --from=build /out/mcp-signoz /usr/local/bin/mcp-signoz
ENTRYPOINT ["/usr/local/bin/mcp-signoz"]

FROM runtime AS mcp-mongodb
LABEL org.opencontainers.image.title=mcp-mongodb
COPY --from=build /out/mcp-mongodb /usr/local/bin/mcp-mongodb
ENTRYPOINT ["/usr/local/bin/mcp-mongodb"]

FROM runtime AS mcp-slack
LABEL org.opencontainers.image.title=mcp-slack
COPY --from=build /out/mcp-slack /usr/local/bin/mcp-slack
ENTRYPOINT ["/usr/local/bin/mcp-slack"]

# The bot. The incident scenarios (fixtures/scenarios, each folder carrying the
# cluster, telemetry and MongoDB recordings it replays) come along, so the
# offline demo runs in the container from its working directory:
#   docker run --rm ghcr.io/sre-agent/sre-agent:0.1.0 investigate --scenario fixtures/scenarios/...
FROM runtime AS sre-agent
LABEL org.opencontainers.image.title=sre-agent
WORKDIR /usr/share/sre-agent
COPY --chown=0:0 fixtures/scenarios/ ./fixtures/scenarios/
COPY --from=build /out/sre-agent /usr/local/bin/sre-agent
ENTRYPOINT ["/usr/local/bin/sre-agent"]
CMD ["--help"]
