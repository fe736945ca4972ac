#!/usr/bin/env bash
# Usage: ./run_tests.sh [pytest args...]
# Runs the whole test suite: lint, unit, integration (real PostgreSQL and Redis) and end-to-end
# (real uvicorn and Celery worker processes). Creates .venv and installs requirements-dev.txt
# when they changed. TEST_DATABASE_URL / TEST_REDIS_URL point at the servers (defaults:
# postgresql://postgres@127.0.0.1:5432/test and redis://127.0.0.1:6379/13). With CI=true a test
# whose server is missing fails instead of skipping.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

PY=$(find_python) || exit 1
[[ -x $VPY ]] || "$PY" -m venv "$VENV_DIR"
req_sum=$(cat requirements-fastapi.txt requirements-dev.txt | "$VPY" -c 'import hashlib,sys;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [[ $(cat "$VENV_DIR/.requirements-dev.sha256" 2>/dev/null) != "$req_sum" ]]; then
  info "Installing requirements-dev.txt into .venv ..."
  "$VPY" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$req_sum" >"$VENV_DIR/.requirements-dev.sha256"
fi

info "ruff check"
"$VPY" -m ruff check fastapi_app tests bench init_db.py alembic
info "pytest"
exec "$VPY" -m pytest tests/ -p no:cacheprovider "$@"
