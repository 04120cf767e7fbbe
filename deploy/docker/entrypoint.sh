#!/bin/sh
# Runs one Aduan service: aduan-service intake|verification|routing|sla|notifications.
# Each replica names itself after its host (the container or pod), so that logs and
# metrics tell the instances apart; <SERVICE>_INSTANCE overrides it.
#   aduan-service --health   asks the running service's /health (the image's HEALTHCHECK).
set -eu
if [ "${1:-}" = "--health" ]; then
  exec python - <<'PY'
import os, sys, urllib.request
port = os.environ.get("ADUAN_HEALTH_PORT", "8080")
try:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
except Exception as exc:
    sys.exit(f"unhealthy: {exc}")
PY
fi
service="${1:?usage: aduan-service SERVICE}"
prefix=$(echo "$service" | tr '[:lower:]' '[:upper:]')
eval "current=\${${prefix}_INSTANCE:-}"
if [ -z "$current" ]; then
  export "${prefix}_INSTANCE=$(hostname)"
fi
exec python -m services.serve "$service"
