#!/usr/bin/env bash
# What `pip install nebula-command` costs a user: the packages and megabytes a base install
# and an `[all]` install add to a fresh venv, installed offline from a local wheelhouse (the
# project's wheel and its dependencies' wheels at the pinned versions in constraints.txt),
# so the network does not enter the time. pip and setuptools, which every venv has, are not
# counted. bench/RESULTS.md, "Install size", has the numbers.
#
#   bench/install_size.sh            # base and [all], in a temporary folder
#   WORK=/tmp/sizes bench/install_size.sh   # keep the wheelhouse and venvs there
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WORK=${WORK:-$(mktemp -d)}
wheels="$WORK/wheelhouse"

mkdir -p "$wheels"
"$PYTHON" -m pip wheel --quiet -w "$wheels" -c constraints.txt '.[all]'

for target in base all; do
  venv="$WORK/venv-$target"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  spec=nebula-command
  [ "$target" = all ] && spec='nebula-command[all]'
  start=$(date +%s.%N)
  "$venv/bin/python" -m pip install --quiet --no-index --find-links "$wheels" "$spec"
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  # Each distribution's files from its RECORD, so the count and size are exactly what it
  # installed (its scripts in bin/ too), and pip's and setuptools' own are left out.
  "$venv/bin/python" - "$target" "$seconds" "$site" <<'EOF'
import importlib.metadata as md
import sys
from pathlib import Path

target, seconds, site = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])


def size(dist: md.Distribution) -> int:
    paths = (Path(dist.locate_file(p)) for p in dist.files or ())
    return sum(path.stat().st_size for path in paths if path.is_file())


sizes = {d.metadata["Name"]: size(d) for d in md.distributions(path=[str(site)])
         if d.metadata["Name"].lower() not in {"pip", "setuptools"}}
print(f"{target}: {len(sizes)} packages, {sum(sizes.values()) / 1e6:.1f} MB, "
      f"installed in {seconds:.1f} s")
largest = sorted(sizes.items(), key=lambda item: -item[1])[:6]
print("  largest (MB): " + ", ".join(f"{name} {b / 1e6:.1f}" for name, b in largest))
EOF
done
