#!/usr/bin/env bash
# Builds each fuzz target's seed corpus from the fixtures (fuzz/corpus/ is not
# committed: libFuzzer grows it). Every input of the SSE targets starts with a
# byte giving how many cut-point bytes follow; the seeds use 0 (no cuts) or a
# few cuts, followed by the fixture's bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"
for target in sse_no_panic sse_oracle sse_chunking sse_roundtrip; do
  mkdir -p "$here/corpus/$target"
done
for f in "$fixtures"/sse/*.sse; do
  name=$(basename "$f" .sse)
  for target in sse_no_panic sse_oracle sse_chunking; do
    { printf '\x00'; cat "$f"; } > "$here/corpus/$target/$name"
    { printf '\x03\x01\x07\x2a'; cat "$f"; } > "$here/corpus/$target/$name-cut"
  done
  cp "$f" "$here/corpus/sse_roundtrip/$name"
done
