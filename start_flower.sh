#!/usr/bin/env bash
# Usage: ./start_flower.sh [-d|--detach]
# Run Flower (Celery monitoring) on 127.0.0.1:${FLOWER_PORT:-5555}, in the foreground, or
# in the background with -d (pid in run/flower.pid, output in logs/flower.out; stop it
# with ./stop_dev.sh). Needs FLOWER_BASIC_AUTH=user:password in the environment or .env,
# and .venv (run ./start_dev.sh once). Uses the same broker choice as start_dev.sh.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"

detach=no
for arg in "$@"; do
  case $arg in
    -d | --detach) detach=yes ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done
[[ -x $VPY ]] || die ".venv not found; run ./start_dev.sh first"
auth=$(env_get FLOWER_BASIC_AUTH)
[[ -n $auth ]] || die "FLOWER_BASIC_AUTH is empty; set FLOWER_BASIC_AUTH=user:password in .env"
"$VPY" -c 'import flower' 2>/dev/null || die "flower is not installed in .venv (.venv/bin/pip install flower)"
if pid=$(pid_get flower); then
  info "flower already running (pid $pid)"
  exit 0
fi
resolve_broker no
info "Broker: $BROKER_DESC"
flower_cmd "$auth"
info "Flower: http://127.0.0.1:${FLOWER_PORT:-5555}"
if [[ $detach == yes ]]; then
  start_bg flower logs/flower.out "${FLOWER_CMD[@]}"
else
  exec "${FLOWER_CMD[@]}"
fi
