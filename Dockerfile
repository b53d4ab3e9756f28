# syntax=docker/dockerfile:1
# Gungnir: a two-stage build on Debian bookworm.
#   docker build -t gungnir:dev .
# The build stage compiles a Release binary (no tests); the runtime stage holds only the shared
# libraries it loads, ca-certificates, and the binary, and runs as the non-root user 65532
# (the "nonroot" uid of distroless images), which the Deployment in manifests/manager expects.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- build ------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake make gcc libc6-dev pkg-config \
      libmicrohttpd-dev libgnutls28-dev libssl-dev libjansson-dev \
      libcurl4-openssl-dev libhiredis-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore keeps build trees and .git out of the context.
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DGUNGNIR_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target gungnir \
 && strip /build/gungnir \
 && /build/gungnir --help >/dev/null

# ---- runtime ----------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# libmicrohttpd12 pulls in libgnutls30 (the webhook's TLS); libssl3 is libcrypto; libcurl4 and
# libhiredis0.14 are the controller's (kube client, Valkey connections), libyaml-0-2 its
# kubeconfig reader.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libgnutls30 libjansson4 libcurl4 libhiredis0.14 libyaml-0-2 libssl3 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/gungnir /usr/local/bin/gungnir
LABEL org.opencontainers.image.title="gungnir" \
      org.opencontainers.image.description="Kubernetes operator for Valkey: admission webhook and controller"
USER 65532:65532
# 9443 webhook (HTTPS), 8080 metrics, 8081 health probes.
EXPOSE 9443 8080 8081
ENTRYPOINT ["/usr/local/bin/gungnir"]
