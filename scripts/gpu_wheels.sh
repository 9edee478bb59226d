#!/usr/bin/env bash
# Wheels for a GPU machine that has PyTorch but not this project's other needs and no package index (as the lent
# GPU machines: Python 3.12, torch, torchvision, numpy, OpenCV, scikit-image, tifffile, PyYAML, rich, ...).
# Run it where pip reaches PyPI, then carry .whl/ along; scripts/gpu_check.sh installs it first when it is there:
#   bash scripts/gpu_wheels.sh [PYTHON_VERSION]     # default 3.12; writes .whl/ (git-ignored), whole or not at all
# The versions are the ones installed here, which the test suite ran with. The list is what `import basicsr_ext`,
# BasicSR and the option loader import beyond such an image: BasicSR itself (an sdist on PyPI: built into a wheel
# here), mmengine (option files' _base_ chains) and their small pure-Python needs, and lmdb (compiled: a wheel for
# the target Python).
set -euo pipefail
cd "$(dirname "$0")/.."
target_python="${1:-3.12}"
version() { python -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }
pure=(addict mmengine termcolor yapf platformdirs)
tmp=".whl.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp"
specs=()
for name in "${pure[@]}"; do specs+=("$name==$(version "$name")"); done
python -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "${specs[@]}"
python -m pip download -q --no-deps --only-binary=:all: --python-version "$target_python" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$tmp" "lmdb==$(version lmdb)"
python -m pip wheel -q --no-deps --no-build-isolation -w "$tmp" "basicsr==$(version basicsr)"
rm -rf .whl
mv "$tmp" .whl
trap - EXIT
ls -1 .whl
