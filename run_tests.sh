#!/usr/bin/env bash
# Usage: ./run_tests.sh [pytest args...]     e.g. ./run_tests.sh tests/unit -x
# Runs the whole test suite on a fresh Debian machine with Python 3.11+: lint, unit, integration (real
# PostgreSQL and Redis) and end-to-end (real uvicorn, Celery workers and nginx). Needs nothing outside
# the repository:
# - apt-installs the system packages the tests use when they are missing (as root or with passwordless
#   sudo; otherwise it says which are missing and what will fail), output in logs/apt.log;
# - creates .venv and installs requirements-dev.lock (every dependency pinned with its hash) when the
#   lock changed;
# - when no PostgreSQL answers at TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test)
#   or no Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379/13), starts a private one on a free
#   port (tests/support/servers.py), points the tests at it and stops it on exit.
# With CI=true a test whose server is missing fails instead of skipping. The summary lists every test
# not run, with its reason (-rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

LOCK=requirements-dev.lock

# What fails without each system package (also what .ci/run relied on before).
declare -A NEEDED_FOR=(
  [libmagic1]="file-type detection: nearly every upload and extraction test"
  [tesseract-ocr]="the OCR tests (images, scanned PDFs)"
  [tesseract-ocr-kor]="the Korean OCR tests"
  [tesseract-ocr-eng]="the English OCR tests"
  [tesseract-ocr-osd]="orientation detection of turned scans (tests/unit/test_scan_orientation.py); without it a slower projection-profile fallback runs"
  [fonts-nanum]="Korean PDF reports and the sample/OCR tests that draw Korean text"
  [nginx]="tests/cluster: the nginx config checks and the fault drills"
  [curl]="the README curl walk-through (tests/e2e/test_readme_examples.py)"
  [poppler-utils]="pdftoppm/pdftotext, to look at report PDFs as a person would"
  [git]="the fresh-clone test (tests/e2e/test_fresh_clone.py)"
  [prometheus]="promtool: the Prometheus config, alert rules and their promtool unit tests (tests/unit/test_monitoring.py)"
  [chromium]="the real-browser tests (tests/browser: Playwright drives Debian's chromium; it never downloads a browser)"
  [postgresql]="the integration, e2e and cluster tests (no PostgreSQL answers and none can be started)"
  [redis-server]="the integration, e2e and cluster tests (no Redis answers and none can be started)"
)

system_packages_missing() {
  command -v tesseract >/dev/null 2>&1 || echo tesseract-ocr
  compgen -G '/usr/share/tesseract-ocr/*/tessdata/kor.traineddata' >/dev/null || echo tesseract-ocr-kor
  compgen -G '/usr/share/tesseract-ocr/*/tessdata/eng.traineddata' >/dev/null || echo tesseract-ocr-eng
  compgen -G '/usr/share/tesseract-ocr/*/tessdata/osd.traineddata' >/dev/null || echo tesseract-ocr-osd
  command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || echo nginx
  [[ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ]] || echo fonts-nanum
  { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | grep -q 'libmagic\.so\.1' || echo libmagic1
  command -v pdftotext >/dev/null 2>&1 || echo poppler-utils
  command -v curl >/dev/null 2>&1 || echo curl
  command -v git >/dev/null 2>&1 || echo git
  command -v promtool >/dev/null 2>&1 || echo prometheus
  command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || echo chromium
}

# install_or_explain PKG...: apt-get install them, or say what will fail without them.
install_or_explain() {
  (($#)) || return 0
  if can_apt; then
    info "Installing system packages: $* (log: logs/apt.log) ..."
    apt_install "$@" && return 0
    warn "apt-get install failed (see logs/apt.log)"
  else
    warn "cannot install system packages here (needs apt-get and root or passwordless sudo)"
  fi
  local pkg
  warn "missing: $* (install with: sudo apt-get install -y $*). Without them, these tests fail or are skipped:"
  for pkg in "$@"; do warn "  $pkg: ${NEEDED_FOR[$pkg]:-}"; done
}

# 1. Python and .venv (Debian's python3 needs python3-venv for `-m venv`)
PY=$(find_python) || exit 1
if [[ ! -x $VPY ]]; then
  if ! "$PY" -m venv "$VENV_DIR" >/dev/null 2>&1; then
    rm -rf "$VENV_DIR"
    minor=$("$PY" -c 'import sys;print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    can_apt && info "Installing python$minor-venv ..." && apt_install "python$minor-venv" || true
    "$PY" -m venv "$VENV_DIR" || die "python -m venv failed; on Debian/Ubuntu: apt-get install -y python$minor-venv"
  fi
fi
lock_sum=$("$VPY" -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$LOCK")
if [[ $(cat "$VENV_DIR/.requirements-dev.sha256" 2>/dev/null) != "$lock_sum" ]]; then
  info "Installing $LOCK into .venv ..."
  "$VPY" -m pip install -q --disable-pip-version-check --require-hashes -r "$LOCK"
  echo "$lock_sum" >"$VENV_DIR/.requirements-dev.sha256"
fi

# 2. System packages, and the server binaries for the services that do not answer
mapfile -t missing < <(system_packages_missing)
read -ra server_pkgs <<<"$("$VPY" -m tests.support.servers missing-packages)"
install_or_explain ${missing[@]+"${missing[@]}"} ${server_pkgs[@]+"${server_pkgs[@]}"}
# Only promtool is wanted: where systemd runs, the package starts its daemons on install. Stop them.
if [[ " ${missing[*]-} " == *" prometheus "* ]] && can_apt; then
  for unit in prometheus prometheus-node-exporter; do
    as_root systemctl disable --now "$unit" >/dev/null 2>&1 || as_root service "$unit" stop >/dev/null 2>&1 || true
  done
fi

# kubectl (its built-in kustomize v5) renders deploy/k8s for tests/cluster/test_kubernetes.py, offline.
# This project's machines have the `kubectl` apt package; Debian's own archive has only
# kubernetes-client 1.20 (kustomize v2, too old for the overlays), so it is installed only where an
# apt source offers `kubectl`; elsewhere the test fails under CI=true, naming what is missing.
if ! command -v kubectl >/dev/null 2>&1; then
  candidate=$(apt-cache policy kubectl 2>/dev/null | awk '/Candidate:/ {print $2}')
  if can_apt && [[ -n $candidate && $candidate != "(none)" ]]; then
    info "Installing kubectl (log: logs/apt.log) ..."
    apt_install kubectl || warn "apt-get install kubectl failed (see logs/apt.log)"
  else
    warn "kubectl not found and no apt source offers it: tests/cluster/test_kubernetes.py fails under CI=true"
    warn "  (install kubectl 1.27 or newer from the Kubernetes project's apt repository)"
  fi
fi

# 3. Lint and the import layers, then pytest with answering PostgreSQL and Redis (private ones when needed)
info "ruff check"
"$VPY" -m ruff check fastapi_app tests bench init_db.py alembic clients/python
info "import contracts (pyproject.toml [tool.importlinter], docs/ARCHITECTURE.md)"
"$VENV_DIR/bin/lint-imports" --no-cache --no-logo
info "pytest"
exec "$VPY" -m tests.support.servers run -- "$VPY" -m pytest -p no:cacheprovider -rfEs "$@"
