#!/usr/bin/env bash
# What the container image costs: the time to build it from the Containerfile, its size over
# its base, and the time from `podman run` to /healthz answering. The base is a Debian 12 root
# filesystem made by mmdebstrap (python3, python3-venv), as tests/test_container.py makes it,
# since no registry is reachable here; pip installs from a local wheelhouse so the network
# does not enter the time. Podman keeps everything under one temp dir. Run as root.
# bench/RESULTS.md, "Container image", has the numbers.
#
#   bench/container_image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'podman rm -af -t 0 >/dev/null 2>&1 || true; podman system reset -f >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\ntmp_dir = "%s/tmp"\n[network]\nnetwork_config_dir = "%s/networks"\n' "$WORK" "$WORK" > "$WORK/containers.conf"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/root"\nrunroot = "%s/runroot"\n' "$WORK" "$WORK" > "$WORK/storage.conf"
export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf

seconds() { echo "$(date +%s.%N) - $1" | bc; }
start=$(date +%s.%N)
mmdebstrap --quiet --variant=apt --include=python3,python3-venv bookworm "$WORK/base.tar"
podman import -q "$WORK/base.tar" localhost/nebula-base:bench >/dev/null
echo "base: made and imported in $(seconds "$start") s"

mkdir "$WORK/context"
git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$WORK/context"
"$PYTHON" -m pip wheel --quiet -c constraints.txt -w "$WORK/context/wheels" \
  '.[docker,postgres,dns]' hatchling 2>/dev/null
start=$(date +%s.%N)
podman build -q --format docker -t localhost/nebula-command:bench \
  --build-arg BASE=localhost/nebula-base:bench \
  --build-arg "PIP_OPTIONS=--no-index --find-links /src/wheels" "$WORK/context" >/dev/null
echo "build: $(seconds "$start") s"
size() { podman image inspect --format '{{.Size}}' "$1"; }
base=$(size localhost/nebula-base:bench); image=$(size localhost/nebula-command:bench)
echo "image: $((image / 1000000)) MB, of which the base $((base / 1000000)) MB and Nebula's layer $(((image - base) / 1000000)) MB"

port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$(date +%s.%N)
podman run -d -q -p "127.0.0.1:$port:8765" localhost/nebula-command:bench >/dev/null
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.02; done
echo "run to /healthz: $(seconds "$start") s"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
