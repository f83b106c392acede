# syntax=docker/dockerfile:1
#
# hookline: a two-stage build. The builder compiles the server with the locked dependency
# set; the runtime image holds the binary, CA-free (the server makes no outbound calls),
# running as an unprivileged user with the database on a volume.
#
#   docker build -t hookline .
#   docker run -e WEBHOOK_SECRET=... -p 8000:8000 -v hookline-data:/data hookline

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
# rust-toolchain.toml pins 1.95.0 and asks for rustfmt and clippy, which the slim image
# lacks; the image already is 1.95, so the pin is dropped here instead of fetching
# components that a release build does not use.
COPY . .
RUN rm -f rust-toolchain.toml
# Cache mounts keep the registry and target folder between builds (BuildKit); the binary
# is copied out of the cached target folder in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p hookline \
    && install -D -m 0755 target/release/hookline /out/hookline

FROM ${RUNTIME_IMAGE} AS runtime
ARG UID=10001
RUN groupadd --system --gid "${UID}" hookline \
    && useradd --system --uid "${UID}" --gid hookline --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hookline \
    && mkdir -p /data \
    && chown hookline:hookline /data \
    && chmod 0750 /data
COPY --from=builder /out/hookline /usr/local/bin/hookline

ENV DATABASE_URL=sqlite:////data/app.db \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_LEVEL=INFO
# The named volume is initialised from this folder, so it starts owned by the hookline user.
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
# No curl in the image: the binary probes itself (GET /health/live on $PORT, exit 0/1).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/hookline", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hookline"]
