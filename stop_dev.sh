#!/usr/bin/env bash
# Usage: ./stop_dev.sh
# Stop what ./start_dev.sh started, using the pid files in run/: flower, celery, uvicorn,
# and redis-server only if run/redis.pid exists (i.e. start_dev started it).
# Each process group gets SIGTERM, then SIGKILL after 15 s. Exits 0 if nothing was running.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"

case ${1:-} in
  '') ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown argument: $1" ;;
esac
stop_all flower celery uvicorn redis
