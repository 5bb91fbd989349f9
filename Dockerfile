# syntax=docker/dockerfile:1
# A static musl binary on an empty base: the image is the binary and a CA bundle.
# Bases are pinned by tag here; the release workflow resolves and records their digests
# (see README, "Image"): pin them by digest in forks that build from this file.
FROM --platform=$BUILDPLATFORM rust:1.95-slim-bookworm AS build
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported architecture $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && rustup target add "$target" \
 && cargo build --release --locked --target "$target" -p amplify-start-job \
 && cp "target/$target/release/amplify-start-job" /amplify-start-job

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /amplify-start-job /amplify-start-job
ENTRYPOINT ["/amplify-start-job"]
