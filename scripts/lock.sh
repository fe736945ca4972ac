#!/usr/bin/env bash
# Usage: scripts/lock.sh [uv pip compile options, e.g. --upgrade-package NAME]
# Rewrites requirements.lock (from requirements-fastapi.txt) and requirements-dev.lock (from
# requirements-dev.txt, held to the versions of requirements.lock): every transitive dependency
# pinned with its sha256 hashes, one resolution valid for Python 3.11+ on every platform (pip
# ignores the lines whose markers do not apply). start_dev.sh, run_tests.sh and the Dockerfile
# install them with `pip install --require-hashes`. Run it after editing a requirements file.
# Uses uv from .venv (pinned in requirements-dev.txt), else the one on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
uv=.venv/bin/uv
[[ -x $uv ]] || uv=$(command -v uv) || {
  echo "ERROR: uv not found: pip install uv (or ./run_tests.sh, which installs requirements-dev.lock)" >&2
  exit 1
}
compile=("$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes
  --custom-compile-command scripts/lock.sh "$@")
"${compile[@]}" requirements-fastapi.txt -o requirements.lock
"${compile[@]}" requirements-dev.txt -c requirements.lock -o requirements-dev.lock
echo "Wrote requirements.lock and requirements-dev.lock"
