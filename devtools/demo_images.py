"""Small, distinct PNG images for demo products, written in pure Python (zlib + struct)."""

from __future__ import annotations

import colorsys
import struct
import zlib

Color = tuple[int, int, int]


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG from `height` rows of `width * 3` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def color_for(seed: str, *, shift: float = 0.0, lightness: float = 0.55) -> Color:
    """A saturated colour that depends only on `seed` (and `shift` around the colour wheel)."""
    hue = (zlib.crc32(seed.encode()) % 360 / 360 + shift) % 1.0
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.65)
    return round(red * 255), round(green * 255), round(blue * 255)


def product_png(seed: str, variant: int = 0, size: int = 96) -> bytes:
    """A square in the product's colour with an inset of its complement; `variant` shifts
    the inset so each image of one product differs."""
    base = bytes(color_for(seed))
    inset = bytes(color_for(seed, shift=0.5 + 0.15 * variant, lightness=0.8))
    margin = size // 4 + 4 * variant
    plain = base * size
    framed = base * margin + inset * (size - 2 * margin) + base * margin
    rows = [framed if margin <= y < size - margin else plain for y in range(size)]
    return png(size, size, rows)
