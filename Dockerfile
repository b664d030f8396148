# Build stage: the toolchain and the dependency cache stay here.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY migrations ./migrations
# A workspace member (the bench's storm client): cargo reads every member's manifest.
COPY bench/storm ./bench/storm
COPY src ./src
COPY openapi ./openapi
RUN cargo build --release --locked --bin canyu

# Runtime stage: the binary, CA certificates (for WeChat's HTTPS API) and an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/canyu --create-home canyu
COPY --from=build /src/target/release/canyu /usr/local/bin/canyu
USER canyu
WORKDIR /var/lib/canyu
ENV CANYU_HOST=0.0.0.0 \
    CANYU_PORT=8080 \
    CANYU_DATA_DIR=/var/lib/canyu \
    CANYU_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["canyu", "healthcheck"]
ENTRYPOINT ["canyu"]
CMD ["serve"]
