"""Mail written straight as bytes: header fields, quoted-printable and base64 parts, multiparts.

masbot sends a few fixed shapes of mail, built from values it chose itself. The email package's
objects would parse every value back through their header registry before writing it, which
cost more CPU than anything else in a post; here each shape is written directly, as the email
package writes it (``email.policy.SMTP``): CRLF line ends, lines of at most 78 characters,
7-bit. Words of a header value with non-ASCII characters become RFC 2047 encoded-words; CR
and LF in a value become spaces, so a value can never start a header of its own.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from email.utils import formataddr

MAX_LINE = 78


def header(name: str, value: str) -> bytes:
    """``Name: value`` and CRLF, folded at spaces to :data:`MAX_LINE` columns; words with
    non-ASCII characters are written as UTF-8 encoded-words, the ASCII ones as they are."""
    return _folded(name, _words(" ".join(value.split())))


def address_header(name: str, display_name: str, address: str) -> bytes:
    """``Name: display name <address>``: a name with non-ASCII characters becomes
    encoded-words (whole, so its commas and quotes need no quoting), an ASCII one is quoted
    when it holds specials."""
    display_name = " ".join(display_name.split())
    if display_name.isascii():
        return _folded(name, formataddr((display_name, address)).split(" "))
    return _folded(name, [*_encoded(display_name), f"<{address}>"])


def _folded(name: str, words: list[str]) -> bytes:
    lines: list[str] = []
    line = f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _words(value: str) -> list[str]:
    """The words of a header value, each run of non-ASCII words (and any ASCII word that
    would read as an encoded-word) as encoded-words of at most 64 characters."""
    out: list[str] = []
    run: list[str] = []
    for word in value.split(" ") if value else []:
        if word.isascii() and "=?" not in word:
            out += _encoded(" ".join(run)) if run else []
            run = []
            out.append(word)
        else:
            run.append(word)
    return out + (_encoded(" ".join(run)) if run else [])


def _encoded(text: str) -> list[str]:
    # Decoders drop the space between two encoded-words, so the spaces of the run stay
    # inside them; 39 bytes is 52 base64 characters, a word of 64 with "=?utf-8?b?...?=".
    words, chunk = [], b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > 39:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words]


def quoted_printable(text: str) -> bytes:
    """``text`` (any line ends) as UTF-8 quoted-printable lines ending in CRLF, the last one
    too."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def text_part(text: str, subtype: str = "plain", filename: str | None = None,
              language: str | None = None) -> bytes:
    """A UTF-8 ``text/<subtype>`` part in quoted-printable, an attachment when ``filename``
    is given (it must be a plain ASCII name), in ``language`` (a BCP 47 tag) when given."""
    head = (header("Content-Type", f'text/{subtype}; charset="utf-8"')
            + b"Content-Transfer-Encoding: quoted-printable\r\n"
            + (header("Content-Disposition", f'attachment; filename="{filename}"')
               if filename else b"")
            + (header("Content-Language", language) if language else b""))
    return head + b"\r\n" + quoted_printable(text)


def binary_part(data: bytes, content_type: str, filename: str) -> bytes:
    """An attachment in base64 (76-character lines)."""
    return (header("Content-Type", content_type)
            + b"Content-Transfer-Encoding: base64\r\n"
            + header("Content-Disposition", f'attachment; filename="{filename}"') + b"\r\n"
            + base64.encodebytes(data).replace(b"\n", b"\r\n"))


def ascii_part(text: str, content_type: str, filename: str) -> bytes:
    """An attachment of 7-bit text (an armored key), its line ends made CRLF."""
    data = text.encode("ascii").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return (header("Content-Type", content_type)
            + b"Content-Transfer-Encoding: 7bit\r\n"
            + header("Content-Disposition", f'attachment; filename="{filename}"') + b"\r\n"
            + data)


def multipart(subtype: str, parts: Sequence[bytes], boundary: str) -> bytes:
    """A ``multipart/<subtype>`` of ``parts`` (each ending in CRLF) with its own header.
    Raises ValueError when the boundary occurs in a part."""
    delimiter = b"--" + boundary.encode("ascii")
    if any(delimiter in part for part in parts):
        raise ValueError("boundary occurs in a part")
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    return (header("Content-Type", f'multipart/{subtype}; boundary="{boundary}"') + b"\r\n"
            + body + delimiter + b"--\r\n")
