#!/usr/bin/env bash
# Usage: ./start_dev.sh [-f|--with-flower]
# Start the dev stack in the background: uvicorn (API) + Celery worker (+ Flower with -f).
# Creates .venv (installs requirements.lock, hash-checked, when it changed), .env (from .env.example
# with a new SECRET_KEY), runs init_db.py. Broker: CELERY_BROKER_URL (env or .env) if set,
# else Redis on 127.0.0.1:6379 (started if redis-server is installed), else the embedded
# SQLite broker. Env: HOST (127.0.0.1) PORT (8001) CELERY_CONCURRENCY (2) FLOWER_PORT (5555)
# FLOWER_BASIC_AUTH (admin:password123). Safe to run twice. Stop with ./stop_dev.sh.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"

with_flower=no
for arg in "$@"; do
  case $arg in
    -f | --with-flower) with_flower=yes ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done
HOST=${HOST:-127.0.0.1} PORT=${PORT:-8001}
mkdir -p logs run media/documents data

# 1. Python + virtualenv + requirements
PY=$(find_python) || exit 1
if [[ ! -x $VPY ]]; then
  info "Creating .venv with $PY"
  "$PY" -m venv "$VENV_DIR" || {
    rm -rf "$VENV_DIR"
    die "python -m venv failed; on Debian/Ubuntu: apt-get install -y python3-venv (or python3.X-venv)"
  }
  "$VPY" -m pip install -q --upgrade pip || warn "could not upgrade pip"
fi
REQ=requirements.lock # requirements-fastapi.txt with every dependency pinned (scripts/lock.sh)
[[ -f $REQ ]] || die "$REQ not found in $ROOT_DIR"
req_sum=$("$VPY" -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$REQ")
if [[ $(cat "$VENV_DIR/.requirements.sha256" 2>/dev/null) != "$req_sum" ]]; then
  info "Installing $REQ into .venv ..."
  "$VPY" -m pip install --disable-pip-version-check --require-hashes -r "$REQ"
  echo "$req_sum" >"$VENV_DIR/.requirements.sha256"
fi

# 2. System libraries: libmagic (required), tesseract (optional OCR)
if ! magic_err=$("$VPY" -c 'import magic' 2>&1); then
  if [[ $magic_err == *libmagic* ]]; then
    if can_apt && info "Installing libmagic1 ..." && apt_install libmagic1 \
      && "$VPY" -c 'import magic' 2>/dev/null; then
      info "libmagic installed"
    else
      die "libmagic is missing. Install it with: sudo apt-get install -y libmagic1
       (Fedora: sudo dnf install file-libs; macOS: brew install libmagic), then re-run."
    fi
  else
    warn "python-magic not importable: ${magic_err##*$'\n'}"
  fi
fi
ocr_stamp="$VENV_DIR/.tesseract-install-failed" # don't retry apt on every start
if ! command -v tesseract >/dev/null 2>&1; then
  if [[ ! -f $ocr_stamp ]] && can_apt && info "Installing tesseract-ocr (best effort) ..." \
    && apt_install tesseract-ocr tesseract-ocr-kor; then
    info "tesseract installed"
  else
    touch "$ocr_stamp"
    warn "tesseract not installed: OCR unavailable (apt-get install tesseract-ocr tesseract-ocr-kor)"
  fi
fi

# 3. .env, broker, database
if [[ ! -f $ENV_FILE ]]; then
  [[ -f .env.example ]] || warn ".env.example not found; .env will only contain SECRET_KEY"
  make_env .env.example "$ENV_FILE"
  info "Created .env with a new SECRET_KEY"
fi
resolve_broker yes
info "Broker: $BROKER_DESC"
"$VPY" init_db.py

# 4. Processes
# One Prometheus multiprocess directory for the API and the worker, so /metrics shows the worker's
# document counters too; emptied only when nothing is running (stale files must not double-count).
if [[ -z ${PROMETHEUS_MULTIPROC_DIR:-} && -z $(env_get PROMETHEUS_MULTIPROC_DIR "") ]]; then
  export PROMETHEUS_MULTIPROC_DIR="$RUN_DIR/prometheus"
  if ! pid_get uvicorn >/dev/null && ! pid_get celery >/dev/null; then
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  fi
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
# --no-proxy-headers: X-Forwarded-For is believed only from TRUSTED_PROXIES, which the app applies itself.
start_bg uvicorn logs/uvicorn.out "$VPY" -m uvicorn fastapi_app.main:app --host "$HOST" --port "$PORT" --no-proxy-headers
touch logs/celery.out
celery_log_start=0 # only look for the "ready." banner printed by a worker we start now
pid_get celery >/dev/null || celery_log_start=$(wc -l <logs/celery.out)
# No -Q: the worker consumes both CELERY_QUEUE (documents) and CELERY_WEBHOOK_QUEUE (webhook deliveries).
start_bg celery logs/celery.out "$VPY" -m celery -A "$CELERY_APP" worker --loglevel=INFO \
  "--concurrency=${CELERY_CONCURRENCY:-2}" -n 'dev@%h'
flower_url=''
if [[ $with_flower == yes ]]; then
  if "$VPY" -c 'import flower' 2>/dev/null; then
    flower_cmd "$(env_get FLOWER_BASIC_AUTH admin:password123)"
    start_bg flower logs/flower.out "${FLOWER_CMD[@]}"
    flower_url="http://127.0.0.1:${FLOWER_PORT:-5555}"
  else
    warn "flower is not installed in .venv (add it to requirements-fastapi.txt, run scripts/lock.sh); Flower not started"
  fi
fi

# 5. Readiness
case $HOST in 0.0.0.0 | '') probe=127.0.0.1 ;; :: | '[::]') probe='[::1]' ;; *:*) probe="[$HOST]" ;; *) probe=$HOST ;; esac
base="http://$probe:$PORT"
api_ok=no
info "Waiting for $base/health ..."
for ((t = 0; t < 60; t++)); do
  pid_get uvicorn >/dev/null || break # died (port in use? import error?)
  if "$VPY" -c 'import sys,urllib.request as u; sys.exit(u.urlopen(sys.argv[1], timeout=2).status != 200)' \
    "$base/health" 2>/dev/null; then
    api_ok=yes
    break
  fi
  sleep 1
done
if [[ $api_ok != yes ]] || ! pid_get uvicorn >/dev/null; then
  printf '%s\n' "---- last 40 lines of logs/uvicorn.out ----" >&2
  tail -n 40 logs/uvicorn.out >&2 || true
  die "API did not become healthy at $base/health (see logs/uvicorn.out; ./stop_dev.sh stops the rest)"
fi
worker="dev@$(hostname 2>/dev/null || "$VPY" -c 'import socket;print(socket.gethostname())')"
worker_ready() {
  pid_get celery >/dev/null || return 1
  tail -n "+$((celery_log_start + 1))" logs/celery.out | grep -qF "$worker ready." && return 0
  "$VPY" -m celery -A "$CELERY_APP" inspect ping -d "$worker" --timeout 2 >/dev/null 2>&1
}
info "Waiting for the Celery worker $worker ..."
wait_until 60 worker_ready || warn "Celery worker did not answer within 60 s (see logs/celery.out)"

cat <<EOF

  API:     $base
  Docs:    $base/docs
  ReDoc:   $base/redoc${flower_url:+
  Flower:  $flower_url}
  Broker:  $BROKER_DESC
  Logs:    ./logs_dev.sh

Stop with ./stop_dev.sh
EOF
