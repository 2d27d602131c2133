#!/usr/bin/env bash
# Store commands end to end: create (GGUF path stored once), list, show (+flags), cp, rm with GC,
# prune, and bad input (Modelfile errors, missing files, full disk) leaving the store unchanged.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SHARED_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
T=$(mktemp -d)
MNT=""
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
export CORRAL_MODELS=$T/models
unset OLLAMA_MODELS
fail() { echo "FAIL: $*" >&2; exit 1; }
# Every file in the store with its size and hash (the lock file aside).
snap() { (cd "$CORRAL_MODELS" && find . -type f ! -name .corral.lock -printf '%p %s\n' | sort; \
          find . -type f ! -name .corral.lock -exec sha256sum {} + | sort) ; }
expect_fail() {  # expect_fail "<substring>" cmd...
  local want=$1; shift
  local out
  if out=$("$@" 2>&1); then fail "expected failure: $*"; fi
  grep -qF -- "$want" <<<"$out" || fail "error for '$*' lacks '$want': $out"
}

cp "$CORRAL_SHARED_DIR/models/stories260K.gguf" "$T/stories.gguf"
GGUF_SHA=$(sha256sum "$T/stories.gguf" | cut -d' ' -f1)
cat > "$T/Modelfile" <<'MF'
# test model
FROM ./stories.gguf
PARAMETER temperature 0.2
PARAMETER stop "<|end|>"
TEMPLATE """{{ .System }}
{{ .Prompt }}"""
SYSTEM Tell short stories.
LICENSE """MIT License
Permission is hereby granted."""
MESSAGE user Once upon a time
MF
"$BIN" create stories -f "$T/Modelfile" >/dev/null
# Stored once, as a hard link (same filesystem), at the content address.
[ -f "$CORRAL_MODELS/blobs/sha256-$GGUF_SHA" ] || fail "model blob missing"
[ "$(stat -c %h "$T/stories.gguf")" = 2 ] || fail "GGUF was not hard-linked"
[ "$(stat -c %i "$T/stories.gguf")" = "$(stat -c %i "$CORRAL_MODELS/blobs/sha256-$GGUF_SHA")" ] || fail "not the same inode"
M=$CORRAL_MODELS/manifests/registry.ollama.ai/library/stories/latest
[ -f "$M" ] || fail "manifest not at the Ollama path"
python3 - "$M" "$GGUF_SHA" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schemaVersion"] == 2 and m["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
assert m["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
types = [l["mediaType"] for l in m["layers"]]
assert types[0] == "application/vnd.ollama.image.model", types
assert m["layers"][0]["digest"] == "sha256:" + sys.argv[2]
for t in ["template", "system", "params", "license", "messages"]:
    assert "application/vnd.ollama.image." + t in types, (t, types)
PY
# Creating again from the same file stores nothing new.
before=$(snap)
"$BIN" create stories -f "$T/Modelfile" >/dev/null
[ "$(snap | grep -v manifests)" = "$(grep -v manifests <<<"$before")" ] || fail "re-create changed blobs"

# list: header and one row shaped like Ollama's.
out=$("$BIN" list)
head -1 <<<"$out" | grep -Eq '^NAME +ID +SIZE +MODIFIED$' || fail "list header: $out"
grep -Eq '^stories:latest +[0-9a-f]{12} +1\.[0-9] MB +(Less than a second|[0-9]+ seconds?) ago$' <<<"$out" || fail "list row: $out"

# show and its flags.
out=$("$BIN" show stories)
for want in "architecture        llama" "parameters" "context length" "embedding length" \
            "quantization" "temperature" "Tell short stories." "MIT License"; do
  grep -qF "$want" <<<"$out" || fail "show lacks '$want': $out"
done
[ "$("$BIN" show stories --system)" = "Tell short stories." ] || fail "show --system"
[ "$("$BIN" show stories --template)" = $'{{ .System }}\n{{ .Prompt }}' ] || fail "show --template"
"$BIN" show stories --parameters | grep -Eq '^stop +"<\|end\|>"$' || fail "show --parameters"
"$BIN" show stories --license | grep -q "Permission is hereby granted." || fail "show --license"
"$BIN" show stories --modelfile > "$T/Modelfile.out"
grep -q "^FROM $CORRAL_MODELS/blobs/sha256-$GGUF_SHA$" "$T/Modelfile.out" || fail "show --modelfile FROM"
# The generated Modelfile builds the same model again.
"$BIN" create stories-again -f "$T/Modelfile.out" >/dev/null
[ "$("$BIN" show stories-again --parameters)" = "$("$BIN" show stories --parameters)" ] || fail "round trip"
"$BIN" rm stories-again >/dev/null

# cp shares blobs; rm keeps blobs the copy uses; the last rm collects them.
"$BIN" cp stories me/copy:v1 >/dev/null
cmp "$M" "$CORRAL_MODELS/manifests/registry.ollama.ai/me/copy/v1" || fail "cp manifest differs"
n_blobs=$(ls "$CORRAL_MODELS/blobs" | wc -l)
"$BIN" rm stories >/dev/null
[ "$(ls "$CORRAL_MODELS/blobs" | wc -l)" = "$n_blobs" ] || fail "rm removed blobs still in use"
"$BIN" show me/copy:v1 >/dev/null || fail "copy unusable after rm"
"$BIN" rm me/copy:v1 >/dev/null
[ -z "$(ls "$CORRAL_MODELS/blobs")" ] || fail "blobs left after last rm: $(ls "$CORRAL_MODELS/blobs")"
[ "$(stat -c %h "$T/stories.gguf")" = 1 ] || fail "user's GGUF affected by rm"
expect_fail "not found" "$BIN" rm stories
expect_fail "not found" "$BIN" show nothing-here

# prune removes orphans only.
"$BIN" create stories -f "$T/Modelfile" >/dev/null
echo orphan > "$T/orphan"
ORPH=$(sha256sum "$T/orphan" | cut -d' ' -f1)
cp "$T/orphan" "$CORRAL_MODELS/blobs/sha256-$ORPH"
out=$("$BIN" prune)
grep -q "removed 1 unused blob" <<<"$out" || fail "prune: $out"
[ ! -e "$CORRAL_MODELS/blobs/sha256-$ORPH" ] || fail "orphan kept"
"$BIN" show stories >/dev/null || fail "prune broke a model"

# Bad input: clear error, non-zero exit, store unchanged.
before=$(snap)
printf 'FROM ./stories.gguf\nFOO bar\n' > "$T/bad1"
expect_fail "line 2: unknown instruction" "$BIN" create bad -f "$T/bad1"
printf 'FROM ./stories.gguf\n\nPARAMETER num_ctx lots\n' > "$T/bad2"
expect_fail "line 3: invalid value \"lots\"" "$BIN" create bad -f "$T/bad2"
printf 'FROM ./stories.gguf\nPARAMETER nope 1\n' > "$T/bad3"
expect_fail "line 2: unknown parameter \"nope\"" "$BIN" create bad -f "$T/bad3"
printf 'FROM ./missing.gguf\n' > "$T/bad4"
expect_fail "line 1: FROM ./missing.gguf: no such file" "$BIN" create bad -f "$T/bad4"
printf 'FROM nosuch:model\n' > "$T/bad5"
expect_fail "not found" "$BIN" create bad -f "$T/bad5"
echo "not a gguf" > "$T/junk.gguf"
printf 'FROM ./junk.gguf\n' > "$T/bad6"
expect_fail "junk.gguf" "$BIN" create bad -f "$T/bad6"
expect_fail "cannot open" "$BIN" create bad -f "$T/no-such-Modelfile"
expect_fail "invalid model name" "$BIN" create "bad name" -f "$T/Modelfile"
expect_fail "invalid model name" "$BIN" cp stories "a/b/c/d"
[ "$(snap)" = "$before" ] || fail "store changed by failed commands"

# Full disk: a 1 MiB tmpfs store (or, where mount is not allowed, a 512 KiB file-size limit).
if mkdir -p "$T/small" && mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
  MNT=$T/small
  export CORRAL_MODELS=$T/small/models
  "$BIN" list >/dev/null
  before=$(snap)
  printf 'FROM %s\n' "$CORRAL_SHARED_DIR/models/stories260K.gguf" > "$T/Modelfile.abs"
  expect_fail "No space left on device" "$BIN" create big -f "$T/Modelfile.abs"
  [ "$(snap)" = "$before" ] || fail "store changed by a full-disk create"
  echo "full disk: tmpfs"
else
  export CORRAL_MODELS=$T/limited
  "$BIN" list >/dev/null
  before=$(snap)
  # The GGUF may be hard-linked (no bytes written), so a 600 KB LICENSE layer hits the limit.
  { printf 'FROM %s\nLICENSE """' "$T/stories.gguf"; head -c 600000 /dev/zero | tr '\0' 'x'; printf '"""\n'; } > "$T/Modelfile.big"
  expect_fail "File too large" bash -c "trap '' XFSZ; ulimit -f 512; exec '$BIN' create big -f '$T/Modelfile.big'"
  [ "$(snap)" = "$before" ] || fail "store changed by a full-disk create"
  echo "full disk: ulimit -f"
fi
echo "store_cli: ok"
