#!/usr/bin/env bash
# Installs the Debian packages corral builds and tests with. Idempotent: installs only what is
# missing, so a warm machine skips apt entirely.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev                 # libFuzzer targets
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libfmt-dev libcli11-dev libcpp-httplib-dev
  libssl-dev libcurl4-openssl-dev libutf8proc-dev libsqlite3-dev
  libpq-dev postgresql                     # jobs: PostgreSQL queue (tests/integration/jobs_postgres.sh)
  haproxy                                  # the fleet behind a balancer (tests/integration/fleet.sh)
  python3-yaml                             # deploy/ manifests parsed (tests/integration/deploy_manifests.sh)
  docker-registry python3 python3-requests curl
  python3-jinja2                           # chat-template cross-check (tests/node/jinja_render_py.py)
  tmux                                     # corral run interactive mode (tests/integration/cli_run.sh)
  faketime tzdata util-linux locales       # the suite again under a shifted clock, zone, locale and host (scripts/test-shifted-clock.sh)
  chromium                                 # probe report rendered headless (tests/integration/probe_fake.sh)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# A locale whose decimal separator is a comma, for the shifted-clock run.
if ! locale -a 2>/dev/null | grep -qix 'de_DE.utf8'; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen
  grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' | $SUDO tee -a /etc/locale.gen >/dev/null
  $SUDO locale-gen >/dev/null
fi
# The base image ships Node.js (with npm) from its own source; Debian's npm would conflict with it.
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
# Node packages used by the cross-implementation tests (tokenizers, Jinja, API clients).
if [ -f tests/node/package.json ]; then
  (cd tests/node && { [ -d node_modules ] && npm ls >/dev/null 2>&1 || npm install --no-audit --no-fund --loglevel=error; })
fi
