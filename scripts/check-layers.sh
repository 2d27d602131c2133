#!/usr/bin/env bash
# Rejects #includes that break the layer rule of ../shared/guide/architecture.md
# (the same allowed-dependency lists as src/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/../src"
declare -A allowed=(
  [base]="base"
  [gguf]="gguf base"
  [tensor]="tensor gguf base"
  [kernels]="kernels tensor gguf base"
  [model]="model kernels tensor gguf base"
  [tokenizer]="tokenizer gguf base"
  [chat]="chat base"
  [sampling]="sampling tokenizer gguf base"
  [engine]="engine model kernels tensor tokenizer chat sampling gguf base"
  [api]="api base"
  [store]="store gguf base"
  [jobs]="jobs api base"
  [server]="server engine model kernels tensor tokenizer chat sampling gguf base store api jobs"
  [probe]="probe api base"
  [cli]="cli server engine model kernels tensor tokenizer chat sampling gguf base store api probe jobs"
)
bad=0
for layer in "${!allowed[@]}"; do
  [ -d "$layer" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    if ! grep -qw -- "$inc" <<<"${allowed[$layer]}"; then
      echo "layer violation: $file includes $inc/ (allowed: ${allowed[$layer]})"
      bad=1
    fi
  done < <(grep -rHE '^#include "[a-z_]+/' "$layer" || true)
done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
