"""Glyph fonts for the app's own base map: signed-distance-field glyph PBFs as MapLibre reads them.

Any text on a MapLibre map (street names, plotly's scattermap text) makes the browser fetch
`{fontstack}/{start}-{end}.pbf` from the style's `glyphs` URL. We serve files made here, from
DejaVu Sans (Debian's fonts-dejavu-core; its licence allows redistribution), so no map text
needs another host.

Dev-time only (Pillow renders the glyphs); the app serves the committed files under
data/reference/glyphs/. Regenerate them with

    python -m layers.glyphs            # writes data/reference/glyphs/<stack>/<start>-<end>.pbf

Format (maplibre's glyphs.proto, the one node-fontnik writes):
    glyphs    { repeated fontstack stacks = 1; }
    fontstack { string name = 1; string range = 2; repeated glyph glyphs = 3; }
    glyph     { uint32 id = 1; bytes bitmap = 2; uint32 width = 3; uint32 height = 4;
                sint32 left = 5; sint32 top = 6; uint32 advance = 7; }
`bitmap` is (width + 2*BUFFER) x (height + 2*BUFFER) bytes, one per pixel, rows top to bottom;
`left` is the bearing from the pen to the glyph's left edge; `top` is the glyph's top above the
baseline minus TOP_SHIFT (MapLibre places glyphs assuming fontnik's Open Sans metrics: its own
locally drawn glyphs use the same shift, 27 px; ours is the ascender of a 24 px Open Sans).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

FONT_SIZE = 24      # px: MapLibre scales glyphs from this size
BUFFER = 3          # px of distance field around each glyph (MapLibre's GLYPH_PBF_BORDER)
RADIUS = 8          # px over which distance is encoded
CUTOFF = 0.25       # share of the range used for the inside of the glyph (the edge is 192)
TOP_SHIFT = 26      # px: see the module docstring
INF = 1e20

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
STACKS = {"DejaVu Sans Regular": FONT_DIR / "DejaVuSans.ttf", "DejaVu Sans Bold": FONT_DIR / "DejaVuSans-Bold.ttf"}
# The blocks served, and the code points of each that we keep (the rest are left out to keep the files
# small; MapLibre leaves out a character it has no glyph for): Basic Latin and Latin-1; Latin
# Extended-A (names from across Europe), not Extended-B; General Punctuation (’ – “ ” …) and currencies.
RANGES = {(0, 255): ((0, 255),), (256, 511): ((256, 383),), (8192, 8447): ((8192, 8303), (8352, 8399))}
OUT_DIR = Path(__file__).resolve().parents[1] / "data" / "reference" / "glyphs"


# ---- protobuf, by hand (three messages do not need a protobuf dependency) -------------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def encode_glyph(cp: int, bitmap: bytes, width: int, height: int, left: int, top: int, advance: int) -> bytes:
    out = _field_varint(1, cp)
    if bitmap:
        out += _field_bytes(2, bitmap)
    return (out + _field_varint(3, width) + _field_varint(4, height) + _field_varint(5, _zigzag(left))
            + _field_varint(6, _zigzag(top)) + _field_varint(7, advance))


def encode_glyphs(name: str, start: int, end: int, glyphs: list[bytes]) -> bytes:
    stack = _field_bytes(1, name.encode()) + _field_bytes(2, f"{start}-{end}".encode())
    stack += b"".join(_field_bytes(3, g) for g in glyphs)
    return _field_bytes(1, stack)


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(buf, i)
        elif wire == 2:
            length, i = _read_varint(buf, i)
            value, i = buf[i:i + length], i + length
        else:
            raise ValueError(f"glyph PBF: wire type {wire} of field {number} is not one glyphs.proto uses")
        yield number, value


def decode_glyphs(data: bytes) -> list[dict]:
    """The font stacks of a glyph PBF: [{name, range, glyphs: {id: {bitmap, width, ...}}}] (for tests)."""
    names = {1: "id", 2: "bitmap", 3: "width", 4: "height", 5: "left", 6: "top", 7: "advance"}
    stacks = []
    for number, raw in _fields(data):
        if number != 1:
            continue
        stack = {"glyphs": {}}
        for n, value in _fields(raw):
            if n == 1:
                stack["name"] = value.decode()
            elif n == 2:
                stack["range"] = value.decode()
            elif n == 3:
                g = {"bitmap": b""}
                for fn, fv in _fields(value):
                    g[names[fn]] = (fv >> 1) ^ -(fv & 1) if fn in (5, 6) else fv
                stack["glyphs"][g["id"]] = g
        stacks.append(stack)
    return stacks


# ---- the distance field, as mapbox/tiny-sdf computes it --------------------------------------------

def _edt1d(grid: np.ndarray, f: list, v: list, z: list) -> None:
    """Squared Euclidean distance transform of one row or column in place (Felzenszwalb & Huttenlocher)."""
    n = len(grid)
    f[:n] = grid.tolist()
    v[0], z[0], z[1] = 0, -INF, INF
    k = 0
    for q in range(1, n):
        while True:
            r = v[k]
            s = (f[q] - f[r] + q * q - r * r) / (q - r) / 2
            if s <= z[k]:
                k -= 1
                if k > -1:
                    continue
            break
        k += 1
        v[k], z[k], z[k + 1] = q, s, INF
    k = 0
    for q in range(n):
        while z[k + 1] < q:
            k += 1
        r = v[k]
        grid[q] = f[r] + (q - r) * (q - r)


def _edt(grid: np.ndarray) -> None:
    size = max(grid.shape) + 1
    f, v, z = [0.0] * size, [0] * size, [0.0] * (size + 1)
    for x in range(grid.shape[1]):
        col = grid[:, x].copy()
        _edt1d(col, f, v, z)
        grid[:, x] = col
    for y in range(grid.shape[0]):
        row = grid[y].copy()
        _edt1d(row, f, v, z)
        grid[y] = row


def sdf(alpha: np.ndarray) -> np.ndarray:
    """Distance-field bytes of a coverage image (0..1, already padded by BUFFER): tiny-sdf's formula,
    value = 255 - 255 * (d / RADIUS + CUTOFF) with d = outer distance - inner distance in px."""
    outer = np.where(alpha >= 1, 0.0, np.where(alpha <= 0, INF, np.maximum(0.5 - alpha, 0) ** 2))
    inner = np.where(alpha >= 1, INF, np.where(alpha <= 0, 0.0, np.maximum(alpha - 0.5, 0) ** 2))
    _edt(outer)
    _edt(inner)
    d = np.sqrt(outer) - np.sqrt(inner)
    # round half up like JavaScript's Math.round
    return np.clip(np.floor(255 - 255 * (d / RADIUS + CUTOFF) + 0.5), 0, 255).astype(np.uint8)


# ---- rendering with Pillow ---------------------------------------------------------------------------

def render_glyph(font, cp: int) -> bytes | None:
    """One encoded glyph of a Pillow FreeType font, or None when the font has no such character."""
    from PIL import Image, ImageDraw
    ch = chr(cp)
    if cp < 32 or 127 <= cp < 160 or not _has_glyph(font, cp):
        return None
    advance = int(round(font.getlength(ch)))
    x0, y0, x1, y1 = font.getbbox(ch, anchor="ls")  # relative to the pen on the baseline, y down
    width, height = max(0, x1 - x0), max(0, y1 - y0)
    if width == 0 or height == 0:  # a space: metrics only
        return encode_glyph(cp, b"", 0, 0, 0, 0, advance)
    img = Image.new("L", (width + 2 * BUFFER, height + 2 * BUFFER), 0)
    ImageDraw.Draw(img).text((BUFFER - x0, BUFFER - y0), ch, font=font, fill=255, anchor="ls")
    field = sdf(np.asarray(img, dtype=np.float64) / 255.0)
    return encode_glyph(cp, field.tobytes(), width, height, x0, -y0 - TOP_SHIFT, advance)


def _picture(font, ch: str) -> tuple[bytes, float]:
    from PIL import Image, ImageDraw
    img = Image.new("L", (2 * FONT_SIZE, 2 * FONT_SIZE), 0)
    ImageDraw.Draw(img).text((FONT_SIZE // 3, FONT_SIZE * 3 // 2), ch, font=font, fill=255, anchor="ls")
    return img.tobytes(), font.getlength(ch)


def _has_glyph(font, cp: int) -> bool:
    """Pillow draws a character the font does not map as the font's .notdef box: a character drawn
    exactly like a private-use code point (which no text font maps) is missing."""
    if not hasattr(font, "_istv_notdef"):
        font._istv_notdef = _picture(font, "\U000F0000")
    return _picture(font, chr(cp)) != font._istv_notdef


def glyph_range(font_path: Path | str, start: int, end: int, name: str,
                keep: tuple[tuple[int, int], ...] | None = None) -> bytes:
    """The glyph PBF of code points start..end (inclusive) of a TrueType font, as stack `name`;
    keep: only the code points of these inclusive sub-ranges (default: RANGES' choice for the block)."""
    from PIL import ImageFont
    if start % 256 or end != start + 255:
        raise ValueError(f"glyph range {start}-{end}: MapLibre asks for blocks of 256 starting at a multiple of 256")
    font = ImageFont.truetype(str(font_path), FONT_SIZE)
    keep = RANGES.get((start, end), ((start, end),)) if keep is None else keep
    points = sorted({cp for lo, hi in keep for cp in range(max(lo, start), min(hi, end) + 1)})
    glyphs = [g for cp in points if (g := render_glyph(font, cp)) is not None]
    return encode_glyphs(name, start, end, glyphs)


def write_all(out_dir: Path = OUT_DIR) -> list[Path]:
    written = []
    for name, path in STACKS.items():
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        for start, end in RANGES:
            target = out_dir / name / f"{start}-{end}.pbf"
            target.write_bytes(glyph_range(path, start, end, name))
            written.append(target)
    return written


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR):
        print(f"{p}  {p.stat().st_size:,} bytes")
