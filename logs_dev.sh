#!/usr/bin/env bash
# Usage: ./logs_dev.sh [app|error|celery|access|uvicorn|flower|all]...
# Follow (tail -F) the dev logs in logs/ with colour: ERROR/CRITICAL red, WARNING yellow.
#   app → app.log   error → error.log   celery → celery.log + celery.out (worker output)
#   access → access.log   uvicorn → uvicorn.out   flower → flower.out   all (default)
# Missing files are created empty first. NO_COLOR=1 disables colour.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"

files=()
for what in "${@:-all}"; do
  case $what in
    app | error | access) files+=("logs/$what.log") ;;
    celery) files+=(logs/celery.log logs/celery.out) ;;
    uvicorn | flower) files+=("logs/$what.out") ;;
    all) files+=(logs/app.log logs/error.log logs/celery.log logs/celery.out logs/access.log
      logs/uvicorn.out logs/flower.out) ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown log: $what" ;;
  esac
done
mkdir -p logs
touch "${files[@]}"

if [[ -n ${NO_COLOR:-} ]]; then red='' yellow='' cyan='' off=''
else red=$'\033[31m' yellow=$'\033[33m' cyan=$'\033[36m' off=$'\033[0m'; fi
tail -n 50 -F "${files[@]}" | awk -v r="$red" -v y="$yellow" -v c="$cyan" -v o="$off" '
  /^==> .* <==$/               { print c $0 o; fflush(); next }
  /ERROR|CRITICAL|Traceback/   { print r $0 o; fflush(); next }
  /WARNING/                    { print y $0 o; fflush(); next }
                               { print; fflush() }'
