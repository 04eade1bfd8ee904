"""Images a society chose to publish: decoded and re-encoded so no metadata survives.

A photo straight from a phone carries EXIF (GPS position, time, camera serial number), XMP,
IPTC, comments and colour profiles that can identify a person or a place. This module never
passes the sender's bytes on: Pillow decodes the pixels, and a fresh image is built from the
pixels alone (``Image.frombytes``), so it has no ``info`` to leak; it is then encoded anew
(JPEG for photos and for large opaque pictures, PNG for the rest) with no metadata arguments. The original
orientation is applied to the pixels first, so the picture still looks right.

Pure: bytes in, bytes out; no file, no clock. Names are ``image-N.ext`` because an original
file name ("jane-doe-arrest.jpg") can identify someone too.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from struct import error as struct_error  # Pillow's parsers raise it on short data

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
"""Formats read (by their bytes, not by the sender's Content-Type)."""

MAX_PIXELS = 40_000_000
"""Larger images are refused before their pixels are decoded (decompression bombs)."""

MAX_SIDE = 1600
"""Larger images are scaled down to this many pixels on their longer side: enough to see,
small enough that a post with images stays under the partners' message size limits."""

JPEG_QUALITY = 85
PNG_JPEG_THRESHOLD = 150_000
"""An opaque PNG larger than this is sent as JPEG when that is smaller."""


@dataclass(frozen=True)
class CleanImage:
    """An image re-encoded from its pixels alone, ready to publish."""

    name: str  # image-N.jpg or image-N.png; never the sender's file name
    content_type: str  # image/jpeg or image/png
    data: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of :attr:`data`: how the signed appeal names this image."""
        return hashlib.sha256(self.data).hexdigest()

    def listing(self) -> str:
        """The appeal's ``Images:`` item for this image: name and digest."""
        return f"{self.name} sha256:{self.sha256}"


@dataclass(frozen=True)
class Refused:
    """An attachment that is not published, and why (for the sender's answer)."""

    reason: str


def clean(data: bytes, number: int, *, max_pixels: int = MAX_PIXELS,
          max_side: int = MAX_SIDE) -> CleanImage | Refused:
    """Decode ``data`` and re-encode its pixels alone as image number ``number``, scaled
    down to at most ``max_side`` pixels on its longer side.

    Never raises for hostile bytes: anything Pillow cannot read, a format not in
    :data:`ACCEPTED`, or more than ``max_pixels`` pixels is a :class:`Refused` with a reason.
    The result carries no EXIF, XMP, IPTC, ICC profile, comment, text chunk or animation.
    """
    try:
        with warnings.catch_warnings():
            # Hostile EXIF makes Pillow warn; only the huge-image warning matters (an error).
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as source:
                kind = source.format or ""
                if kind not in ACCEPTED:
                    return Refused(f"not a JPEG, PNG, GIF or WebP image ({kind or 'unknown'})")
                width, height = source.size
                if width < 1 or height < 1 or width * height > max_pixels:
                    return Refused(f"the image is {width}x{height} pixels; at most "
                                   f"{max_pixels // 1_000_000} million are accepted")
                source.seek(0)  # the first frame of an animation
                if kind == "JPEG" and max(width, height) > max_side:
                    # Decode at a reduced DCT scale as long as it stays at least max_side.
                    scale = max_side / max(width, height)
                    source.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
                source.load()
                upright = _upright(source)
                return _encode(upright, number, photo=kind == "JPEG", max_side=max_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Refused(f"the image has too many pixels; at most {max_pixels // 1_000_000} "
                       "million are accepted")
    except UnidentifiedImageError:
        return Refused("the attachment is not an image that can be read")
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError,
            TypeError, KeyError, ZeroDivisionError, struct_error) as exc:
        return Refused(f"the image could not be decoded ({type(exc).__name__})")


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (a broken EXIF block is ignored)."""
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # noqa: BLE001 - the orientation is a nicety; the pixels are what matter
        return image


def _encode(image: Image.Image, number: int, *, photo: bool, max_side: int) -> CleanImage:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info)
    mode = "RGB" if photo or not has_alpha else "RGBA"
    pixels = image.convert(mode)
    if max(pixels.size) > max_side:
        pixels.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A new image from the raw pixels: nothing of the original's info dict comes along.
    fresh = Image.frombytes(mode, pixels.size, pixels.tobytes())
    if photo:
        data, ext = _save(fresh, "JPEG"), "jpg"
    else:
        data, ext = _save(fresh, "PNG"), "png"
        # A photo sent as PNG (a screenshot of one, say) is many times larger than as JPEG.
        if mode == "RGB" and len(data) > PNG_JPEG_THRESHOLD:
            jpeg = _save(fresh, "JPEG")
            if len(jpeg) < len(data):
                data, ext = jpeg, "jpg"
    ctype = "image/jpeg" if ext == "jpg" else "image/png"
    return CleanImage(f"image-{number}.{ext}", ctype, data, fresh.width, fresh.height)


def _save(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        image.save(out, format="PNG", optimize=True)
    return out.getvalue()



_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"sRGB",
                         b"pHYs", b"cHRM", b"sBIT", b"bKGD"})
"""PNG chunks that hold pixels or how to show them; text, EXIF, ICC and private chunks are not
among them."""
_JPEG_STANDALONE = frozenset({0xD8, *range(0xD0, 0xD8), 0x01})
_JPEG_ALLOWED = frozenset({0xE0, 0xDB, 0xC4, 0xDD, *range(0xC0, 0xC4), *range(0xC5, 0xC8),
                           *range(0xC9, 0xCC), *range(0xCD, 0xD0)})
"""JPEG segments before the scan: JFIF (APP0), tables, frame headers and restart interval;
no APP1-APP15 (EXIF, XMP, ICC, IPTC, Adobe) and no COM (comments)."""


def is_clean(data: bytes, *, max_pixels: int = MAX_PIXELS) -> bool:
    """True when ``data`` is a JPEG or PNG that carries pixels and nothing else we can see:
    no metadata segment or chunk, nothing after its end, and Pillow can read it.

    Used for images in partners' posts, which are bound by the origin's signature and so
    cannot be re-encoded on the way; an image that fails is not relayed.
    """
    if data.startswith(_PNG_SIGNATURE):
        structure_ok = _png_structure_ok(data)
    elif data.startswith(b"\xff\xd8"):
        structure_ok = _jpeg_structure_ok(data)
    else:
        return False
    if not structure_ok:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if image.format not in ("JPEG", "PNG") or width * height > max_pixels:
                    return False
                image.load()
                return not image.getexif()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is not clean
        return False


def _png_structure_ok(data: bytes) -> bool:
    at = len(_PNG_SIGNATURE)
    while at + 12 <= len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8]
        if kind not in _PNG_CHUNKS:
            return False
        at += 12 + length
        if kind == b"IEND":
            return at == len(data)
    return False


def _jpeg_structure_ok(data: bytes) -> bool:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return False
        marker = data[at + 1]
        if marker in _JPEG_STANDALONE:
            at += 2
            continue
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data up to the end marker
            return data.endswith(b"\xff\xd9") and data.find(b"\xff\xd9", at) == len(data) - 2 \
                and _jpeg_scans_ok(data, at)
        if marker not in _JPEG_ALLOWED or (marker == 0xE0 and not data[at + 4:at + 9] == b"JFIF\0"):
            return False
        at += 2 + length
    return False


def _jpeg_scans_ok(data: bytes, at: int) -> bool:
    """In a progressive JPEG further tables and scans follow; none may be metadata."""
    index = at
    while (index := data.find(b"\xff", index + 1, len(data) - 2)) != -1:
        marker = data[index + 1]
        if 0xE1 <= marker <= 0xEF or marker == 0xFE:
            return False
    return True
