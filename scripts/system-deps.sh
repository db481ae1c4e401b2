#!/usr/bin/env bash
# Installs the Debian packages the tests' real components need (when run as root with apt),
# or names them so they can be installed by hand.
set -euo pipefail

# One line per package, with what needs it.
PACKAGES=(
  podman runc busybox-static   # docker plugin: a Docker-API engine and a local test image
  mmdebstrap podman-compose    # Containerfile, compose.yaml: a base image from Debian packages
                               # (podman-compose: also the apps plugin's stack tests)
  postgresql                   # postgres plugin, the store on PostgreSQL (tests/store, tests/fleet): initdb, pg_ctl, pg_dump, pg_restore
  dnsmasq-base                 # domains plugin: a real DNS server on loopback
  bind9                        # ddns plugin: a real BIND 9 (named) takes RFC 2136 updates with TSIG
  chromium                     # web panel: headless browser tests
  zbar-tools                   # web panel: reads back the TOTP QR code we draw (zbarimg)
  prometheus                   # /metrics: a real Prometheus scrapes the agent; promtool lints
  systemd                      # nebula service: systemd-analyze verifies the unit install writes
  fail2ban                     # docs/fail2ban.md: fail2ban-regex runs the filter on a real log
  caddy nginx-light openssl    # docs/reverse-proxy.md: Caddy and nginx before an agent; a cert
                               # (and the caddy plugin's tests: a real Caddy, its internal CA)
  logrotate bsdutils systemd-journal-remote  # logs plugin: real rotation, `logger`, journal files
  samba smbclient              # nas plugin: a real SMB server on loopback (shares, full disk)
  sshfs openssh-server         # nas plugin: a network mount that goes stale (FUSE over sshd)
  openssh-client               # fleet: ssh-keygen and ssh-keyscan beside the sshd (agentless host)
  apt                          # security plugin: apt-get -s upgrade (openssh-server above: sshd -T
                               # and a real sshd refusing passwords; podman: containers' settings)
  iproute2                     # network plugin: `ip netns` and a veth pair as a second host
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "The tests need these system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
