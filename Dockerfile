# syntax=docker/dockerfile:1
# The image is the static binary and a CA bundle on an empty base: no registry base image,
# and no compiler in the image build. The binaries are cross-built outside Docker first (one
# musl build per architecture; see scripts/test and .github/workflows/release.yml), then laid
# out by scripts/dist: dist/<arch>/amplify-start-job and dist/ca-certificates.crt (Debian's
# ca-certificates). `docker buildx build --platform linux/amd64,linux/arm64 .` picks each
# architecture's binary by TARGETARCH, so rustc never runs under emulation.
FROM scratch
ARG TARGETARCH
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/${TARGETARCH}/amplify-start-job /amplify-start-job
ENTRYPOINT ["/amplify-start-job"]
