#!/usr/bin/env bash
# Builds each fuzz target's seed corpus from the fixtures (fuzz/corpus/ is not
# committed: libFuzzer grows it).
#
# SSE targets: every input starts with a byte giving how many cut-point bytes
# follow; seeds use 0 (no cuts) and a few cuts, then the fixture's bytes.
# WebSocket targets: fixtures/ws/*.hex (format in fixtures/ws/README.md) turned
# into bytes; the oracle target's inputs start with [1, role] (one cut byte that
# picks the configuration: 0 server, 1 client).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"
for target in sse_no_panic sse_oracle sse_chunking sse_roundtrip ws_no_panic ws_oracle ws_roundtrip ws_messages ws_deflate_no_panic ws_deflate_roundtrip; do
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
python3 - "$fixtures/ws" "$here/corpus" <<'PY'
import pathlib, re, sys
src, corpus = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
token = re.compile(r'"([^"]*)"|([0-9A-Fa-f]+)(?:\*(\d+))?')
for path in sorted(src.glob("*.hex")):
    out = bytearray()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0]
        for m in token.finditer(line):
            if m.group(1) is not None:
                out += m.group(1).encode()
            else:
                out += bytes.fromhex(m.group(2)) * int(m.group(3) or 1)
    if len(out) > 1 << 16:
        continue  # big boundary fixtures make slow seeds
    role = 1 if "client" in path.stem else 0
    for target in ("ws_no_panic", "ws_roundtrip", "ws_messages"):
        (corpus / target / path.stem).write_bytes(out)
    (corpus / "ws_oracle" / path.stem).write_bytes(bytes([1, role]) + out)
PY
# permessage-deflate targets: offer headers, and RFC 7692 §7.2.3's compressed "Hello"
# messages after a selector byte (window bits, context takeover, level; see
# pulsecheck_ws::fuzzing_deflate).
printf 'permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=10' \
  > "$here/corpus/ws_deflate_no_panic/offers"
printf '\x07\xf2\x48\xcd\xc9\xc9\x07\x00\xff\xf2\x00\x11\x00\x00' \
  > "$here/corpus/ws_deflate_no_panic/rfc7692-hello"
printf '\x07\x05Hello\x00Hello\x00\x00{"a": [1, 2, 3], "a": [1, 2, 3]}' \
  > "$here/corpus/ws_deflate_roundtrip/hello"
printf '\x08\x00Hello\x00Hello' > "$here/corpus/ws_deflate_roundtrip/window8-reset"
