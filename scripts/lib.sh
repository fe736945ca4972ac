# shellcheck shell=bash
# scripts/lib.sh — helpers shared by start_dev.sh, stop_dev.sh, restart_dev.sh,
# logs_dev.sh and start_flower.sh. Source it (it cd's to the repo root); don't run it.

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$ROOT_DIR/run"
LOG_DIR="$ROOT_DIR/logs"
VENV_DIR="$ROOT_DIR/.venv"
VPY="$VENV_DIR/bin/python"
ENV_FILE="$ROOT_DIR/.env"
CELERY_APP="fastapi_app.tasks.celery_app"
REDIS_PORT=6379
cd "$ROOT_DIR" || exit 1

# ---- messages -------------------------------------------------------------
if [[ -t 2 && -z ${NO_COLOR:-} ]]; then
  _C_RED=$'\033[31m' _C_YEL=$'\033[33m' _C_OFF=$'\033[0m'
else
  _C_RED='' _C_YEL='' _C_OFF=''
fi
info() { printf '%s\n' "$*"; }
warn() { printf '%sWARNING: %s%s\n' "$_C_YEL" "$*" "$_C_OFF" >&2; }
die() { printf '%sERROR: %s%s\n' "$_C_RED" "$*" "$_C_OFF" >&2; exit 1; }
# usage: print the leading comment block of the running script
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p;}' "$0"; }

# ---- python -----------------------------------------------------------------
# find_python: print the path of a working Python >= 3.11, or fail with a message.
find_python() {
  local c exe
  for c in python3.12 python3.11 python3; do
    command -v "$c" >/dev/null 2>&1 || continue
    # run it: pyenv shims exist even when that version isn't selected
    exe=$("$c" -c 'import sys; print(sys.executable if sys.version_info >= (3, 11) else "")' \
      2>/dev/null) || continue
    [[ -n $exe ]] && { printf '%s\n' "$exe"; return 0; }
  done
  c=$(python3 --version 2>&1 || echo "no python3 found")
  printf 'ERROR: Python 3.11+ is required (python3.12/python3.11/python3; found: %s).\n' "$c" >&2
  return 1
}
# helper_python: interpreter for small helper snippets (venv if present).
helper_python() { if [[ -x $VPY ]]; then echo "$VPY"; else echo python3; fi; }

# ---- .env -------------------------------------------------------------------
# dotenv_get KEY FILE: value of the last `KEY=value` line (comments, `export`, quotes handled).
dotenv_get() {
  [[ -f $2 ]] || return 0
  awk -v k="$1" -v sq="'" '
    { sub(/\r$/, "") }
    /^[[:space:]]*(#|$)/ { next }
    {
      line = $0; sub(/^[[:space:]]*(export[[:space:]]+)?/, "", line)
      i = index(line, "="); if (i == 0) next
      name = substr(line, 1, i - 1); sub(/[[:space:]]+$/, "", name)
      if (name != k) next
      v = substr(line, i + 1); sub(/^[[:space:]]+/, "", v)
      q = substr(v, 1, 1)
      if (q == "\"" || q == sq) { v = substr(v, 2); j = index(v, q); if (j) v = substr(v, 1, j - 1) }
      else { sub(/[[:space:]]+#.*$/, "", v); sub(/[[:space:]]+$/, "", v) }
      val = v; found = 1
    }
    END { if (found) print val }' "$2"
}
# env_get KEY [DEFAULT]: $KEY from the environment if non-empty, else from .env, else DEFAULT.
env_get() {
  local val=${!1-}
  [[ -n $val ]] || val=$(dotenv_get "$1" "$ENV_FILE")
  printf '%s\n' "${val:-${2-}}"
}
# make_env EXAMPLE TARGET: create TARGET from EXAMPLE with a freshly generated SECRET_KEY.
make_env() {
  local example=$1 target=$2 key
  [[ -f $target ]] && return 0
  key=$("$(helper_python)" -c 'import secrets;print(secrets.token_urlsafe(48))')
  (
    umask 077
    if [[ -f $example ]]; then
      awk -v key="$key" '
        /^[[:space:]]*(export[[:space:]]+)?SECRET_KEY[[:space:]]*=/ { print "SECRET_KEY=" key; done = 1; next }
        { print }
        END { if (!done) print "SECRET_KEY=" key }' "$example" >"$target.tmp"
    else
      printf 'SECRET_KEY=%s\n' "$key" >"$target.tmp"
    fi
  )
  mv "$target.tmp" "$target"
}

# ---- root / apt ---------------------------------------------------------------
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }
can_apt() {
  command -v apt-get >/dev/null 2>&1 || return 1
  [[ $EUID -eq 0 ]] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }
}
# apt_install PKG...: best effort, output in logs/apt.log; runs apt-get update once on failure.
apt_install() {
  local log="$LOG_DIR/apt.log"
  mkdir -p "$LOG_DIR"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$log" 2>&1 && return 0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$log" 2>&1
}

# ---- broker -----------------------------------------------------------------
# redis_ping HOST PORT: 0 if a Redis answers +PONG there.
redis_ping() {
  "$(helper_python)" - "$1" "$2" >/dev/null 2>&1 <<'EOF'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
    s.settimeout(1)
    s.sendall(b"PING\r\n")
    ok = s.recv(64).startswith(b"+PONG")
except OSError:
    ok = False
sys.exit(0 if ok else 1)
EOF
}
# start_redis: start a private redis-server on 127.0.0.1:6379 (pid in run/redis.pid).
start_redis() {
  local i
  command -v redis-server >/dev/null 2>&1 || return 1
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
    --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log" \
    --save "" --appendonly no >/dev/null 2>&1 || return 1
  for ((i = 0; i < 50; i++)); do
    redis_ping 127.0.0.1 "$REDIS_PORT" && { info "Started redis-server (log logs/redis.log)"; return 0; }
    sleep 0.2
  done
  warn "redis-server did not answer on 127.0.0.1:$REDIS_PORT (see logs/redis.log)"
  stop_proc redis >/dev/null || rm -f "$RUN_DIR/redis.pid"
  return 1
}
# resolve_broker [yes|no]: choose the broker (yes = may start redis-server) and export
# CELERY_BROKER_URL, CELERY_RESULT_BACKEND, REDIS_URL; sets BROKER_DESC for display.
# shellcheck disable=SC2034  # BROKER_DESC is read by the callers
resolve_broker() {
  local url
  url=$(env_get CELERY_BROKER_URL)
  if [[ -n $url ]]; then
    CELERY_RESULT_BACKEND=$(env_get CELERY_RESULT_BACKEND)
    REDIS_URL=$(env_get REDIS_URL)
    BROKER_DESC="${url%%:*} ($(mask_url "$url"))"
  elif redis_ping 127.0.0.1 "$REDIS_PORT" || { [[ ${1:-no} == yes ]] && start_redis; }; then
    url="redis://127.0.0.1:$REDIS_PORT/0"
    CELERY_RESULT_BACKEND="redis://127.0.0.1:$REDIS_PORT/1"
    REDIS_URL=$url
    BROKER_DESC="redis ($url)"
  else
    CELERY_RESULT_BACKEND='' REDIS_URL=''
    BROKER_DESC="embedded (SQLite, no server needed)"
  fi
  CELERY_BROKER_URL=$url
  export CELERY_BROKER_URL CELERY_RESULT_BACKEND REDIS_URL
}
mask_url() { sed -E 's#(://[^:/@]*:)[^@/]*@#\1***@#' <<<"$1"; }

# ---- processes ----------------------------------------------------------------
pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }
# alive PID: process exists and is not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r /proc/$1/stat ]] || return 0
  local st; st=$(<"/proc/$1/stat"); st=${st##*) }
  [[ ${st:0:1} != Z ]]
}
# group_alive PGID: some non-zombie process is still in that process group.
group_alive() {
  command -v ps >/dev/null 2>&1 || { kill -0 -- "-$1" 2>/dev/null; return; }
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}
is_group_leader() { [[ $(ps -o pgid= -p "$1" 2>/dev/null | tr -d ' ') == "$1" ]]; }
_running() { if [[ $2 == -* ]]; then group_alive "$1"; else alive "$1"; fi; }
# pid_get NAME: print the pid from run/NAME.pid if that process is alive (and its command
# line mentions NAME, against pid reuse); otherwise remove the stale pid file and fail.
pid_get() {
  local f pid
  f=$(pid_file "$1")
  [[ -f $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  if [[ -n $pid && $pid -gt 1 ]] && alive "$pid" \
    && { [[ ! -r /proc/$pid/cmdline ]] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$1"; }; then
    printf '%s\n' "$pid"
    return 0
  fi
  rm -f "$f"
  return 1
}
# start_bg NAME LOGFILE CMD...: start CMD detached in its own session (setsid) unless
# already running; output appended to LOGFILE; pid written to run/NAME.pid.
start_bg() {
  local name=$1 log=$2 pid
  shift 2
  if pid=$(pid_get "$name"); then
    info "$name already running (pid $pid)"
    return 0
  fi
  mkdir -p "$RUN_DIR" "$(dirname "$log")"
  if command -v setsid >/dev/null 2>&1; then
    nohup setsid "$@" >>"$log" 2>&1 </dev/null &
  else
    nohup "$@" >>"$log" 2>&1 </dev/null &
  fi
  pid=$!
  echo "$pid" >"$(pid_file "$name")"
  info "Started $name (pid $pid, log ${log#"$ROOT_DIR"/})"
}
# stop_proc NAME: SIGTERM the process from run/NAME.pid, then its whole process group once
# it has exited (or after 5 s), SIGKILL the group after 15 s; remove the pid file.
# (Leader first so a Celery worker shuts its pool down cleanly.) Fails if not running.
stop_proc() {
  local name=$1 pid target i
  pid=$(pid_get "$name") || return 1
  if is_group_leader "$pid"; then target=-$pid; else target=$pid; fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    _running "$pid" "$target" || break
    if [[ $target == -* ]] && { ! alive "$pid" || ((i == 10)); }; then
      kill -TERM -- "$target" 2>/dev/null || true
    fi
    sleep 0.5
  done
  if _running "$pid" "$target"; then
    warn "$name (pid $pid) still running after 15 s; sending SIGKILL"
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
  info "Stopped $name (pid $pid)"
}
# stop_all NAME...: stop_proc each, in order; says so when none of them was running.
stop_all() {
  local name stopped=0
  for name in "$@"; do
    if stop_proc "$name"; then stopped=$((stopped + 1)); fi
  done
  ((stopped > 0)) || info "Nothing was running."
}
# flower_cmd AUTH: set FLOWER_CMD to the Flower command line.
# shellcheck disable=SC2034  # FLOWER_CMD is read by the callers
flower_cmd() {
  FLOWER_CMD=("$VPY" -m celery -A "$CELERY_APP" flower "--port=${FLOWER_PORT:-5555}"
    --address=127.0.0.1 "--basic_auth=$1")
}
# wait_until SECONDS CMD...: retry CMD every second until it succeeds or time runs out.
wait_until() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 1
  done
}
