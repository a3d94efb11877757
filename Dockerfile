# syntax=docker/dockerfile:1
# Conveyor: one static binary on a distroless base, running as non-root.
#   docker build -t conveyor .
#   docker run --env-file .env -p 3000:3000 conveyor

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so that source edits do not invalidate the module cache layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /conveyor ./cmd/conveyor

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /conveyor /conveyor
# The embedded policy bundle and migrations ship inside the binary; SQLite
# (the default DATABASE_URL) needs a writable directory: mount a volume at /data.
ENV PORT=3000
WORKDIR /data
USER nonroot:nonroot
EXPOSE 3000
ENTRYPOINT ["/conveyor", "serve"]
