# syntax=docker/dockerfile:1
# One static image with all three binaries, running as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
# The binaries are built from go.mod alone, not the go.work that adds the
# test-only modules (deploy/, tests/browser/).
ENV GOWORK=off
RUN go build -trimpath -ldflags "-s -w -X github.com/qyshook/qyshook/qys.Version=${VERSION}" -o /out/bin/ ./cmd/qyshook ./cmd/receiver ./cmd/dispatcher \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/ /usr/local/bin/
# The data dir (embedded NATS store, SQLite ledger, documents) belongs to
# the non-root user (65532 in distroless).
COPY --from=build --chown=65532:65532 /out/data /var/lib/qyshook
WORKDIR /var/lib/qyshook
ENV QYSHOOK_DATA_DIR=/var/lib/qyshook \
    QYSHOOK_HTTP_ADDR=:8080
USER nonroot:nonroot
EXPOSE 8080 8081
VOLUME ["/var/lib/qyshook"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/qyshook", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/qyshook"]
CMD ["serve"]
