#!/usr/bin/env bash
# Installs corral as a systemd service: the binary in /usr/local/bin, a `corral` system user, the
# store under /var/lib/corral (owned by that user), /etc/corral for keys and settings, and the
# unit (deploy/systemd/corral.service), enabled and started.
# Usage: sudo deploy/install.sh [path/to/corral]   (default: build/release/src/corral)
# DESTDIR=/some/root installs into another root without touching systemd (packaging, tests).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/release/src/corral}
root=${DESTDIR:-}
[ -x "$bin" ] || { echo "install: no corral binary at $bin (build it: cmake --preset release && cmake --build --preset release)" >&2; exit 1; }
[ -n "$root" ] || [ "$(id -u)" = 0 ] || { echo "install: run as root (sudo)" >&2; exit 1; }

install -D -m 0755 "$bin" "$root/usr/local/bin/corral"
install -D -m 0644 "$here/systemd/corral.service" "$root/etc/systemd/system/corral.service"
install -d -m 0750 "$root/etc/corral"
[ -f "$root/etc/corral/log-level" ] || echo info >"$root/etc/corral/log-level"
[ -f "$root/etc/corral/corral.env" ] || cat >"$root/etc/corral/corral.env" <<'ENV'
# Settings for corral serve (see docs/deployment.md). Uncomment to use.
# CORRAL_API_KEYS_FILE=/etc/corral/keys
# CORRAL_PRELOAD=qwen3:0.6b
# CORRAL_JOBS_DSN=postgresql://corral@db.internal/jobs
ENV
install -d -m 0750 "$root/var/lib/corral" "$root/var/lib/corral/models"

if [ -z "$root" ]; then
  getent group corral >/dev/null || groupadd --system corral
  getent passwd corral >/dev/null ||
    useradd --system --gid corral --home-dir /var/lib/corral --no-create-home --shell /usr/sbin/nologin corral
  chown -R corral:corral /var/lib/corral
  chgrp -R corral /etc/corral
  systemctl daemon-reload
  systemctl enable --now corral
  echo "corral installed: systemctl status corral; logs: journalctl -u corral"
else
  echo "corral installed under $root (no user created, systemd untouched)"
fi
