#!/usr/bin/env bash
# make report-check: renders `ringbench report --format html` in a real
# browser (headless Chromium) and checks that the charts are there: the HTML
# has every kind of chart, and the screenshot is not blank.
# Installs Debian's `chromium` with apt-get when it is missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${RINGBENCH:-.build/debug/ringbench}"
out=".build/report-check"
mkdir -p "$out"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  if [ "$(id -u)" != 0 ]; then echo "report-check: chromium is missing; run: sudo apt-get install -y chromium" >&2; exit 1; fi
  echo "report-check: installing chromium (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } ||
    { echo "report-check: could not install chromium" >&2; exit 1; }
  browser="$(command -v chromium)"
fi

# Two committed results, oldest first: every chart kind, a trend included.
"$bin" report results/vm-2026-11-25-mpmc/spsc.json results/vm-2026-11-25.json --format html --output "$out/report.html"
for kind in throughput latency trend; do
  count=$(grep -o "<svg class=\"chart $kind\"" "$out/report.html" | wc -l)
  [ "$count" -ge 1 ] || { echo "report-check: no '$kind' chart in $out/report.html" >&2; exit 1; }
  echo "report-check: $count $kind chart(s)"
done
if grep -q "<script" "$out/report.html"; then echo "report-check: the page has a script" >&2; exit 1; fi

rm -f "$out/report.png"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --screenshot="$out/report.png" --window-size=1500,2600 "file://$PWD/$out/report.html" >/dev/null 2>&1 || true
[ -s "$out/report.png" ] || { echo "report-check: chromium wrote no screenshot" >&2; exit 1; }

# Not blank: decode the PNG (stdlib only) and count the colours of its pixels.
python3 - "$out/report.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), "unexpected PNG format"
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
colours, dark = set(), 0
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        for x in range(0, width, 4):
            px = bytes(line[x * bpp:x * bpp + 3]); colours.add(px)
            if sum(px) < 300: dark += 1
    prev = line
print(f"report-check: {width}x{height} screenshot, {len(colours)} colours, {dark} dark samples")
if len(colours) < 8 or dark < 200:
    sys.exit("report-check: the screenshot looks blank")
PY
echo "report-check: ok ($out/report.html, $out/report.png)"
