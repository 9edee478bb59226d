#!/usr/bin/env bash
# The prepared GPU check (scripts/gpu_check.py has the rows): under 5 minutes on one GPU, one table.
#   bash scripts/gpu_check.sh             on a GPU machine; put the table into the README with the card's name
#   bash scripts/gpu_check.sh --dry-run   on the CPU, tiny sizes and gloo (CI runs it so the check cannot rot)
# On a machine with PyTorch but without this project's other packages and without a package index, make the
# wheels first where pip works (bash scripts/gpu_wheels.sh) and bring .whl/ along: when those packages are missing
# they are installed into a temporary folder first. The project itself runs from this checkout (no install needed).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-$(command -v python3 || command -v python)}"
missing='import importlib.util as u, sys; sys.exit(all(u.find_spec(m) for m in ("basicsr", "lmdb", "mmengine")))'
if [ -d .whl ] && "$python" -c "$missing"; then
  site="$(mktemp -d)"
  trap 'rm -rf "$site"' EXIT
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$python" scripts/gpu_check.py "$@"
