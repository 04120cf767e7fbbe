# Kannel from Debian's packages: bearerbox and smsbox in one container.
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kannel \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/spool/kannel /var/log/kannel
COPY kannel-start.sh /usr/local/bin/kannel-start
EXPOSE 13013
CMD ["kannel-start"]
