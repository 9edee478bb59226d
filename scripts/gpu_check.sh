#!/usr/bin/env bash
# The prepared GPU check (scripts/gpu_check.py has the rows): under 5 minutes on one GPU, one table.
#   bash scripts/gpu_check.sh             on a GPU machine; put the table into the README with the card's name
#   bash scripts/gpu_check.sh --dry-run   on the CPU, tiny sizes and gloo (CI runs it so the check cannot rot)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python scripts/gpu_check.py "$@"
