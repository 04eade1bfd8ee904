"""Images a society chose to publish: decoded and re-encoded so no metadata survives.

A photo straight from a phone carries EXIF (GPS position, time, camera serial number), XMP,
IPTC, comments and colour profiles that can identify a person or a place. This module never
passes the sender's bytes on: Pillow decodes the pixels, and a fresh image is built from the
pixels alone (``Image.frombytes``), so it has no ``info`` to leak; it is then encoded anew
(JPEG for photos and for large opaque pictures, PNG for the rest) with no metadata arguments.
The original orientation is applied to the pixels first, so the picture still looks right.
:func:`is_clean` checks, without re-encoding, that an image from a partner is of that kind.

Pure: bytes in, bytes out; no file, no clock. Names are ``image-N.ext`` because an original
file name ("jane-doe-arrest.jpg") can identify someone too.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
import zlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

from masbot.lang import N_
from masbot.lang.sentence import Sentence
from masbot.post.build import PostImage

ACCEPTED = ("JPEG", "PNG", "GIF", "WEBP")
"""Formats read (by their bytes, not by the sender's Content-Type); no other Pillow plugin
ever parses a sender's bytes."""

MAX_PIXELS = 40_000_000
"""Larger images are refused before their pixels are decoded (decompression bombs)."""

MAX_SIDE = 1600
"""Larger images are scaled down to this many pixels on their longer side: enough to see,
small enough that a post with images stays under the partners' message size limits."""

MIN_SIDE = 16
"""Smaller images are logos, icons or tracking pixels, not pictures of what happened."""

JPEG_QUALITY = 85
PNG_JPEG_THRESHOLD = 150_000
"""An opaque PNG larger than this is sent as JPEG when that is smaller."""


@dataclass(frozen=True)
class CleanImage(PostImage):
    """An image re-encoded from its pixels alone, ready to publish."""

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

    reason: str  # a Sentence: logged in English, said in the sender's language


def _pil() -> tuple[ModuleType, ModuleType, type[Exception]]:
    """Pillow's Image and ImageOps, imported when an image first comes (most appeals have
    none, and Pillow costs every start 20 ms of CPU)."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    return Image, ImageOps, UnidentifiedImageError


def clean(data: bytes, number: int, *, max_pixels: int = MAX_PIXELS,
          max_side: int = MAX_SIDE) -> CleanImage | Refused:
    """Decode ``data`` and re-encode its pixels alone as image number ``number``, scaled
    down to at most ``max_side`` pixels on its longer side.

    Never raises for hostile bytes: anything Pillow cannot read, a format not in
    :data:`ACCEPTED`, or more than ``max_pixels`` pixels is a :class:`Refused` with a reason.
    The result carries no EXIF, XMP, IPTC, ICC profile, comment, text chunk or animation.
    """
    Image, _, UnidentifiedImageError = _pil()
    try:
        with warnings.catch_warnings():
            # Hostile EXIF makes Pillow warn; only the huge-image warning matters (an error).
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED) as source:
                kind = source.format or ""
                if kind not in ACCEPTED:
                    return Refused(Sentence(N_("not a JPEG, PNG, GIF or WebP image ({kind})"),
                                            kind=kind or "unknown"))
                width, height = source.size
                if width < MIN_SIDE or height < MIN_SIDE:
                    return Refused(Sentence(N_("the image is {width}x{height} pixels: too small to be "
                                                      "a picture (a logo or a tracking pixel?)"),
                                                   width=width, height=height))
                if width * height > max_pixels:
                    return Refused(Sentence(N_("the image is {width}x{height} pixels; at most {most} "
                                                      "million are accepted"),
                                                   width=width, height=height,
                                                   most=max_pixels // 1_000_000))
                source.seek(0)  # the first frame of an animation
                if kind == "JPEG" and max(width, height) > max_side:
                    # Decode at a reduced DCT scale as long as it stays at least max_side.
                    scale = max_side / max(width, height)
                    source.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
                source.load()
                upright = _upright(source)
                return _encode(upright, number, photo=kind == "JPEG", max_side=max_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Refused(Sentence(N_("the image has too many pixels; at most {most} million are "
                                  "accepted"), most=max_pixels // 1_000_000))
    except UnidentifiedImageError:
        return Refused(Sentence(N_("the attachment is not an image that can be read")))
    except Exception as exc:  # noqa: BLE001 - hostile bytes reach C decoders; any failure is a refusal
        return Refused(Sentence(N_("the image could not be decoded ({error})"),
                                error=type(exc).__name__))


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (a broken EXIF block is ignored)."""
    try:
        return _pil()[1].exif_transpose(image) or image
    except Exception:  # noqa: BLE001 - the orientation is a nicety; the pixels are what matter
        return image


def _encode(image: Image.Image, number: int, *, photo: bool, max_side: int) -> CleanImage:
    Image = _pil()[0]
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
_PNG_BEFORE_DATA = {b"PLTE": range(3, 769), b"tRNS": range(1, 257), b"gAMA": range(4, 5),
                    b"sRGB": range(1, 2), b"pHYs": range(9, 10)}
"""Chunks allowed between IHDR and the image data, each at most once, with the lengths their
meaning needs: no room for text. Text, EXIF, ICC, time and private chunks are not allowed."""
_JPEG_TABLES = frozenset({0xDB, 0xC4, 0xDD, 0xC0, 0xC1})
"""Quantisation and Huffman tables, restart interval, baseline and extended frame headers."""


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
    Image = _pil()[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
                width, height = image.size
                if image.format not in ("JPEG", "PNG") or width * height > max_pixels:
                    return False
                image.load()
                return not image.getexif()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is not clean
        return False


def _png_structure_ok(data: bytes) -> bool:
    """IHDR, a few display chunks of their exact size, consecutive IDATs holding exactly one
    zlib stream, IEND, and nothing after it; every CRC right."""
    chunks: list[tuple[bytes, bytes]] = []
    at = len(_PNG_SIGNATURE)
    while at + 12 <= len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        if len(body) != length or data[at + 8 + length:at + 12 + length] != \
                zlib.crc32(kind + body).to_bytes(4, "big"):
            return False
        chunks.append((kind, body))
        at += 12 + length
        if kind == b"IEND":
            break
    kinds = [kind for kind, _ in chunks]
    if at != len(data) or len(kinds) < 3 or kinds[0] != b"IHDR" or len(chunks[0][1]) != 13 \
            or kinds[-1] != b"IEND" or chunks[-1][1]:
        return False
    first = kinds.index(b"IDAT") if b"IDAT" in kinds else -1
    middle = kinds[1:first]
    if first < 0 or any(k != b"IDAT" for k in kinds[first:-1]) or len(set(middle)) != len(middle):
        return False
    if any(k not in _PNG_BEFORE_DATA or len(body) not in _PNG_BEFORE_DATA[k]
           for k, body in chunks[1:first]):
        return False
    stream = zlib.decompressobj()
    pending = b"".join(body for kind, body in chunks if kind == b"IDAT")
    try:
        while pending and not stream.eof:
            stream.decompress(pending, 1 << 20)  # output is discarded: only the end matters
            pending = stream.unconsumed_tail
    except zlib.error:
        return False
    return stream.eof and not stream.unused_data and not pending


def _jpeg_structure_ok(data: bytes) -> bool:
    """A baseline JPEG as masbot writes it: SOI, one bare JFIF APP0 (no thumbnail), tables and
    a frame header, one scan whose data holds only stuffed bytes and restart markers, EOI
    last. No APP1-APP15 (EXIF, XMP, ICC, IPTC, Adobe), no COM, nothing after the end."""
    if data[2:4] != b"\xff\xe0" or data[4:6] != b"\x00\x10" or data[6:11] != b"JFIF\0" \
            or data[18:20] != b"\x00\x00":
        return False
    at = 20
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return False
        marker = data[at + 1]
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xDA:
            return _jpeg_scan_ok(data, at + 2 + length)
        if marker not in _JPEG_TABLES or length < 2:
            return False
        at += 2 + length
    return False


def _jpeg_scan_ok(data: bytes, start: int) -> bool:
    if not data.endswith(b"\xff\xd9") or start > len(data) - 2:
        return False
    index = start - 1
    while (index := data.find(b"\xff", index + 1, len(data) - 2)) != -1:
        follower = data[index + 1]
        if follower == 0xFF:  # fill bytes before a marker
            continue
        if follower != 0x00 and not 0xD0 <= follower <= 0xD7:
            return False
        index += 1
    return True
