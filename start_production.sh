#!/usr/bin/env bash
# Usage: ./start_production.sh
# Start the production stack on this host, in the background: gunicorn with uvicorn workers (API),
# a Celery worker, Celery beat (the periodic recovery sweep: run exactly one per deployment) and
# Flower (basic auth, 127.0.0.1 only). Refuses to start on an example SECRET_KEY or the default
# Flower credentials. Runs init_db.py (migrations) first. Needs .venv with requirements.lock.
# Env (or .env): WEB_CONCURRENCY (4) BIND (0.0.0.0:8001) CELERY_CONCURRENCY (4) FLOWER_PORT (5555)
# START_FLOWER (yes) START_BEAT (yes: set no on all hosts but one when several run this script).
# The reverse proxy whose X-Forwarded-For is believed: TRUSTED_PROXIES in .env (default 127.0.0.1,::1).
# Pid files in run/production/, output in logs/prod-*.out. Stop with ./stop.sh.
set -euo pipefail
app_log_dir=${LOG_DIR-} # lib.sh assigns LOG_DIR, which would override the service's own setting
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"
OUT_DIR=$LOG_DIR # process output (startup errors, tracebacks); the service logs go to its LOG_DIR
if [[ -n $app_log_dir ]]; then export LOG_DIR=$app_log_dir; else unset LOG_DIR; fi
# A directory of its own: the dev scripts' run/celery.pid and run/flower.pid must not be mistaken
# for (or stopped as) production processes.
RUN_DIR="$ROOT_DIR/run/production"

case ${1:-} in
  '') ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown argument: $1" ;;
esac

[[ -x $VPY ]] || die "$VPY not found. Create it first:
       python3 -m venv .venv && .venv/bin/pip install --require-hashes -r requirements.lock"
export ENVIRONMENT=production

# 1. Configuration: the same validation the service runs at import, so a bad .env fails here with
# one clear line instead of in four logs.
if ! check=$("$VPY" - 2>&1 <<'EOF'
import sys
from pydantic import ValidationError
from fastapi_app.core.config import Settings
try:
    s = Settings(ENVIRONMENT="production")
except ValidationError as exc:
    for err in exc.errors():
        print(str(err.get("msg", err)).removeprefix("Value error, "))
    sys.exit(1)
if s.DEBUG:
    print("WARNING: DEBUG is on: 500 responses show exception details and secrets are not checked")
if s.is_sqlite:
    print("WARNING: DATABASE_URL is SQLite; use PostgreSQL for several API and worker processes")
if s.broker_kind != "redis":
    print("WARNING: CELERY_BROKER_URL is not Redis; the embedded broker is for development only")
EOF
); then
  die "refusing to start in production:
$check
       Fix .env (or the environment) and run ./start_production.sh again."
fi
[[ -n $check ]] && warn "$check"

WEB_CONCURRENCY=${WEB_CONCURRENCY:-4}
BIND=${BIND:-0.0.0.0:8001}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-4}
mkdir -p "$OUT_DIR" "$RUN_DIR" media/documents media/reports data

# 2. Database schema
"$VPY" init_db.py

# 3. Processes. One Prometheus multiprocess directory for every gunicorn worker and Celery child, so
# /metrics sums them; emptied only when none of them runs (stale files would double-count).
if [[ -z ${PROMETHEUS_MULTIPROC_DIR:-} && -z $(env_get PROMETHEUS_MULTIPROC_DIR "") ]]; then
  export PROMETHEUS_MULTIPROC_DIR="$RUN_DIR/prometheus"
  if ! pid_get gunicorn >/dev/null && ! pid_get worker >/dev/null; then
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  fi
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
# The proxy whose X-Forwarded-* headers are believed is TRUSTED_PROXIES (.env), applied by the app;
# this worker class keeps gunicorn/uvicorn from applying a second list of their own.
start_bg gunicorn "$OUT_DIR/prod-gunicorn.out" "$VPY" -m gunicorn fastapi_app.main:app \
  -k fastapi_app.gunicorn_worker.UvicornWorker --workers "$WEB_CONCURRENCY" --bind "$BIND" \
  --graceful-timeout 30 --timeout 120
# No -Q: this worker consumes both CELERY_QUEUE and CELERY_WEBHOOK_QUEUE. To keep webhook deliveries
# off the document slots, run another worker with -Q <CELERY_WEBHOOK_QUEUE> and give this one -Q <CELERY_QUEUE>.
start_bg worker "$OUT_DIR/prod-worker.out" "$VPY" -m celery -A "$CELERY_APP" worker --loglevel=INFO \
  "--concurrency=$CELERY_CONCURRENCY" -n 'prod@%h'
if [[ ${START_BEAT:-yes} == yes ]]; then
  start_bg beat "$OUT_DIR/prod-beat.out" "$VPY" -m celery -A "$CELERY_APP" beat --loglevel=INFO \
    --schedule "$RUN_DIR/celerybeat-schedule"
fi
if [[ ${START_FLOWER:-yes} == yes ]]; then
  flower_cmd "$(env_get FLOWER_BASIC_AUTH)"
  start_bg flower "$OUT_DIR/prod-flower.out" "${FLOWER_CMD[@]}"
fi

# 4. Readiness
case $BIND in
  unix:*) probe='' ;;
  0.0.0.0:* | :*) probe="127.0.0.1:${BIND##*:}" ;;
  '[::]':*) probe="[::1]:${BIND##*:}" ;;
  *) probe=$BIND ;;
esac
if [[ -z $probe ]]; then
  warn "BIND is a unix socket; not waiting for /health"
else
  info "Waiting for http://$probe/health ..."
  healthy() {
    pid_get gunicorn >/dev/null || return 0 # died: stop waiting, reported below
    "$VPY" -c 'import sys,urllib.request as u; sys.exit(u.urlopen(sys.argv[1], timeout=2).status != 200)' \
      "http://$probe/health" 2>/dev/null
  }
  if ! wait_until 90 healthy || ! pid_get gunicorn >/dev/null; then
    tail -n 40 "$OUT_DIR/prod-gunicorn.out" >&2 || true
    die "the API did not become healthy at http://$probe/health (see $OUT_DIR/prod-gunicorn.out; ./stop.sh stops the rest)"
  fi
fi
cat <<EOF

  API:     $([[ -n $probe ]] && echo "http://$probe" || echo "$BIND") (gunicorn, $WEB_CONCURRENCY workers)
  Worker:  concurrency $CELERY_CONCURRENCY$([[ ${START_BEAT:-yes} == yes ]] && echo ", beat on this host")
  Flower:  $([[ ${START_FLOWER:-yes} == yes ]] && echo "http://127.0.0.1:${FLOWER_PORT:-5555} (basic auth)" || echo off)
  Logs:    $OUT_DIR/prod-*.out (process output), $(env_get LOG_DIR logs)/ (service logs)

Stop with ./stop.sh
EOF
