#!/usr/bin/env bash
# Push and pull against a real OCI registry (Debian's docker-registry) on 127.0.0.1: push a model,
# pull it into a fresh store, compare digests; then bad input (unknown tag, unreachable registry,
# http without --insecure, full disk) and two pulls at once.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SHARED_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
REGISTRY=${DOCKER_REGISTRY_BIN:-/usr/bin/docker-registry}
if [ ! -x "$REGISTRY" ]; then
  echo "store_registry: $REGISTRY missing (apt-get install docker-registry)" >&2
  exit 1
fi
T=$(mktemp -d)
REG_PID=""
MNT=""
cleanup() {
  local rc=$?  # the script's own status; stopping the registry must not replace it
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
  if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null || true; fi
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$T/registry.log" ] && tail -20 "$T/registry.log" >&2; exit 1; }
snap() { (cd "$CORRAL_MODELS" && find . -type f ! -name .corral.lock -printf '%p %s\n' | sort); }
expect_fail() {
  local want=$1; shift
  local out
  if out=$("$@" 2>&1); then fail "expected failure: $*"; fi
  grep -qF -- "$want" <<<"$out" || fail "error for '$*' lacks '$want': $out"
}

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/registry-data"
cat > "$T/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
YML
"$REGISTRY" serve "$T/config.yml" > "$T/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null || fail "registry did not start"
HOST=127.0.0.1:$PORT

# A model in store A.
export CORRAL_MODELS=$T/a
cat > "$T/Modelfile" <<MF
FROM $CORRAL_SHARED_DIR/models/stories260K.gguf
TEMPLATE {{ .Prompt }}
PARAMETER top_k 5
MF
"$BIN" create "$HOST/test/stories:v1" -f "$T/Modelfile" >/dev/null
expect_fail "insecure" "$BIN" push "http://$HOST/test/stories:v1"
"$BIN" push --insecure "$HOST/test/stories:v1" > "$T/push.log" || fail "push: $(cat "$T/push.log")"
grep -q '^success$' "$T/push.log" || fail "push output: $(cat "$T/push.log")"
# Push again: every blob already there.
"$BIN" push --insecure "$HOST/test/stories:v1" >/dev/null

# Pull into a fresh store B and compare.
export CORRAL_MODELS=$T/b
"$BIN" pull --insecure "$HOST/test/stories:v1" > "$T/pull.log" || fail "pull: $(cat "$T/pull.log")"
for want in "pulling manifest" "verifying sha256 digest" "writing manifest" "success"; do
  grep -qx "$want" "$T/pull.log" || fail "pull output lacks '$want': $(cat "$T/pull.log")"
done
grep -Eq '^pulling [0-9a-f]{12}: 100% 1\.[0-9] MB$' "$T/pull.log" || fail "no layer line: $(cat "$T/pull.log")"
MA=$T/a/manifests/$HOST/test/stories/v1
MB=$T/b/manifests/$HOST/test/stories/v1
cmp "$MA" "$MB" || fail "manifests differ"
(cd "$T/a/blobs" && sha256sum * | sort) > "$T/a.sums"
(cd "$T/b/blobs" && sha256sum * | sort) > "$T/b.sums"
cmp "$T/a.sums" "$T/b.sums" || fail "blobs differ"
# Every blob's name is its content's digest.
while read -r sum name; do [ "sha256-$sum" = "$name" ] || fail "blob $name has digest $sum"; done < "$T/b.sums"
[ "$("$BIN" show "$HOST/test/stories:v1" --parameters | tr -s ' ')" = "top_k 5" ] || fail "pulled params"
"$BIN" list | grep -q "^$HOST/test/stories:v1 " || fail "list after pull"
ls "$T/b/blobs" | grep -q partial && fail "partial files left"

# A second pull is a no-op on blobs.
before=$(snap)
"$BIN" pull --insecure "$HOST/test/stories:v1" >/dev/null
[ "$(snap)" = "$before" ] || fail "re-pull changed the store"

# Bad input leaves store B exactly as it was.
expect_fail "not found" "$BIN" pull --insecure "$HOST/test/stories:nope"
expect_fail "not found" "$BIN" pull --insecure "$HOST/test/other:v1"
expect_fail "insecure" "$BIN" pull "http://$HOST/test/stories:v1"
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_fail "cannot reach" "$BIN" pull --insecure "127.0.0.1:$DEAD/test/stories:v1"
expect_fail "invalid model name" "$BIN" pull --insecure "$HOST/a/b/c/d"
[ "$(snap)" = "$before" ] || fail "store changed by failed pulls"

# Two pulls of the same model at once into a fresh store: both succeed, one consistent copy.
export CORRAL_MODELS=$T/c
"$BIN" pull --insecure "$HOST/test/stories:v1" > "$T/c1.log" 2>&1 &
P1=$!
"$BIN" pull --insecure "$HOST/test/stories:v1" > "$T/c2.log" 2>&1 &
P2=$!
wait $P1 || fail "concurrent pull 1: $(cat "$T/c1.log")"
wait $P2 || fail "concurrent pull 2: $(cat "$T/c2.log")"
(cd "$T/c/blobs" && sha256sum * | sort) > "$T/c.sums"
cmp "$T/a.sums" "$T/c.sums" || fail "concurrent pulls: blobs differ"
cmp "$MA" "$T/c/manifests/$HOST/test/stories/v1" || fail "concurrent pulls: manifest differs"

# Full disk during a pull: a 1 MiB tmpfs store (model is 1.2 MB), else a file-size limit.
if mkdir -p "$T/small" && mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
  MNT=$T/small
  export CORRAL_MODELS=$T/small/models
  "$BIN" list >/dev/null
  before=$(snap)
  expect_fail "No space left on device" "$BIN" pull --insecure "$HOST/test/stories:v1"
else
  export CORRAL_MODELS=$T/limited
  "$BIN" list >/dev/null
  before=$(snap)
  expect_fail "File too large" bash -c "trap '' XFSZ; ulimit -f 512; exec '$BIN' pull --insecure '$HOST/test/stories:v1'"
fi
[ "$(snap)" = "$before" ] || fail "store changed by a full-disk pull: $(snap)"

# rm after pull collects the blobs.
export CORRAL_MODELS=$T/b
"$BIN" rm "$HOST/test/stories:v1" >/dev/null
[ -z "$(ls "$T/b/blobs")" ] || fail "blobs left after rm"
echo "store_registry: ok"
