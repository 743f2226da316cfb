# carebot: multi-stage build. gojieba needs cgo and a C++ compiler, and the
# binary links libstdc++, so the runtime is slim Debian, not scratch.
#   docker build -t carebot .
#   docker run -p 8080:8080 -v carebot-data:/data carebot

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/carebot ./cmd/carebot
# A -trimpath binary cannot find jieba's dictionaries in the module cache,
# so ship the five files it needs and point CAREBOT_JIEBA_DICT at them.
RUN dict="$(go list -m -f '{{.Dir}}' github.com/yanyiwu/gojieba)/deps/cppjieba/dict" \
 && mkdir -p /out/jieba-dict \
 && cp "$dict/jieba.dict.utf8" "$dict/hmm_model.utf8" "$dict/user.dict.utf8" \
       "$dict/idf.utf8" "$dict/stop_words.utf8" /out/jieba-dict/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libstdc++6 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin carebot \
 && mkdir -p /data && chown carebot:carebot /data
COPY --from=build /out/carebot /usr/local/bin/carebot
COPY --from=build /out/jieba-dict /usr/share/carebot/jieba-dict
ENV CAREBOT_ADDR=0.0.0.0:8080 \
    CAREBOT_DATA=/data \
    CAREBOT_JIEBA_DICT=/usr/share/carebot/jieba-dict
USER carebot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["carebot", "health"]
ENTRYPOINT ["carebot"]
CMD ["serve"]
