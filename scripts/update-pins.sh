#!/usr/bin/env bash
# Regenerates constraints.txt: the exact version of everything `pip install -e '.[test]'`
# pulls in, for every Python the project supports (3.10 and up) and every platform, with
# environment markers where they differ. `make test` installs with `-c constraints.txt`,
# so a fresh machine runs the suite against the versions it last passed with, not against
# whatever was released this morning.
#
#   scripts/update-pins.sh               move every pin to the newest release (make lock)
#   scripts/update-pins.sh aiohttp ruff  move only these packages; the others stay
#   scripts/update-pins.sh --keep        keep every pin; only add or drop what a change to
#                                        pyproject.toml's dependencies needs
#
# Then run `make test` (the venv reinstalls because constraints.txt changed) and commit
# constraints.txt with the result. README.md, "Development", says how often.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# The resolver itself is pinned too: a new uv may resolve the same input differently.
UV_VERSION=0.13.10
OUT=constraints.txt

mode=(--upgrade)
if [ "${1:-}" = "--keep" ]; then
  mode=()
elif [ $# -gt 0 ]; then
  mode=()
  for package in "$@"; do mode+=(--upgrade-package "$package"); done
fi

uv="$VENV/bin/uv"
if ! [ -x "$uv" ] || [ "$("$uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi

# uv keeps the versions already in $OUT unless told to upgrade them.
"$uv" pip compile pyproject.toml --extra test --universal --python-version 3.10 \
  --custom-compile-command "make lock" --quiet -o "$OUT" "${mode[@]}"
echo "updated $OUT; now run: make test" >&2
