#!/usr/bin/env bash
# Usage: ./stop.sh
# Stop what ./start_production.sh started (pid files in run/production/): gunicorn first (no new
# uploads), then beat, flower and the Celery worker. Each gets SIGTERM, then its process group
# SIGKILL after 15 s; a document killed mid-way is re-queued by the recovery sweep, never lost.
# Exits 0 if nothing was running.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"
# shellcheck disable=SC2034  # read by stop_proc in scripts/lib.sh
RUN_DIR="$ROOT_DIR/run/production" # see start_production.sh

case ${1:-} in
  '') ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown argument: $1" ;;
esac
stop_all gunicorn beat flower worker
