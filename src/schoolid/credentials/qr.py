"""QR codes for the slips, from zxing-cpp's compiled encoder (error correction M), drawn as one PDF
path of rectangles: one per horizontal run of dark modules, in module units, y down.

zxing-cpp makes a code in well under a millisecond; segno.make costs ~5 ms (pure Python), more than
the whole budget for 1,000 slips. Runs repeat between codes of one size, so their rectangle text is
cached per size."""
from __future__ import annotations

import re

import zxingcpp

_DARK = bytes.maketrans(b"\x00\xff", b"\x01\x00")  # zxing's image: 0 is dark, 255 light
_DARK_RUN = re.compile(rb"\x01+")
_runs: dict[tuple[int, int], dict[tuple[int, int], str]] = {}


def modules(text: str) -> tuple[bytes, int, int, int]:
    """The code's modules (1 dark, 0 light) row after row with zxing's light quiet zone around them
    (so no run of dark modules continues into the next row), the row length, the quiet zone width
    and the code's size in modules."""
    image = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(scale=1, add_quiet_zones=True)
    stride = image.shape[1]
    grid = bytes(memoryview(image)).translate(_DARK)
    quiet = grid.index(b"\x01") % stride  # the finder pattern starts the first dark row
    return grid, stride, quiet, stride - 2 * quiet


def qr_path(text: str) -> tuple[str, int]:
    """The QR code of `text` as one path of rectangles (module units, y down), and its size in modules."""
    grid, stride, quiet, size = modules(text)
    cache = _runs.setdefault((stride, quiet), {})
    out = []
    for m in _DARK_RUN.finditer(grid):
        span = m.span()
        rect = cache.get(span)
        if rect is None:
            y, x = divmod(span[0], stride)
            rect = cache[span] = f"{x - quiet} {y - quiet} {span[1] - span[0]} 1 re"
        out.append(rect)
    return " ".join(out), size
