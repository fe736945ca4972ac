#!/usr/bin/env bash
# Usage: ./restart_dev.sh [-f|--with-flower]
# ./stop_dev.sh, then ./start_dev.sh with the same arguments.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"

case ${1:-} in -h | --help) usage; exit 0 ;; esac
"$ROOT_DIR/stop_dev.sh"
exec "$ROOT_DIR/start_dev.sh" "$@"
