#!/usr/bin/env bash
# Renders every reference chat template over the test conversations with @huggingface/jinja
# (node) and Python Jinja2, then checks that corral's Jinja engine (unit_chat, JinjaNpm test)
# renders identically. Builds nothing.
set -euo pipefail
: "${CORRAL_SOURCE_DIR:?}" "${CORRAL_BINARY_DIR:?}" "${CORRAL_SHARED_DIR:?}"
node_dir="$CORRAL_SOURCE_DIR/tests/node"
unit="$CORRAL_BINARY_DIR/tests/unit_chat"
[ -x "$unit" ] || { echo "FAIL: $unit not built"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node not installed (scripts/install-deps.sh)"; exit 1; }
[ -d "$node_dir/node_modules/@huggingface/jinja" ] || { echo "FAIL: npm packages missing; run npm install in tests/node"; exit 1; }
python3 -c 'import jinja2' 2>/dev/null || { echo "FAIL: python3 jinja2 missing (scripts/install-deps.sh)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$node_dir" && timeout 120 node jinja_render.mjs "$work/expected.json" "$CORRAL_SHARED_DIR")
timeout 120 python3 "$node_dir/jinja_render_py.py" "$work/expected.json"
CORRAL_JINJA_EXPECTED="$work/expected.json" timeout 120 "$unit" --gtest_filter='JinjaNpm.*'
