"""Mail addresses: the one syntax masbot accepts, and the patterns that find address-like text.

Two different jobs, on purpose: :func:`is_address` is strict (an address masbot may write to or
configure), the ``*_IN_*`` patterns are broad (anything that could be someone's address, for
the log mask, the privacy checks of free text and ``masbot audit``), so they find more, never
less.
"""

from __future__ import annotations

import re

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EXACT = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@({_LABEL}(?:\.{_LABEL})*)")
_LOCAL_CHARS = r"[\w.!#$%&'*+/=?^`{|}~-]"

ADDRESS_IN_TEXT = re.compile(rf"(?<!{_LOCAL_CHARS}){_LOCAL_CHARS}+@[\w-]+(?:\.[\w-]+)+")
"""Anything address-like in text, Unicode letters included. Linear: a match starts at the
start of a run of local-part characters only."""

ADDRESS_IN_BYTES = re.compile(
    rb"[A-Za-z0-9._%+=-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
"""Address-like ASCII in raw bytes (a database file, a log): bounded, so it stays fast."""


def is_address(value: object) -> bool:
    """True for a plain ASCII ``local@domain``: no display name, brackets, spaces or
    commas; at most 64 characters before the ``@`` and 254 in all."""
    if not isinstance(value, str) or len(value) > 254:
        return False
    m = _EXACT.fullmatch(value)
    return m is not None and len(m.group(1)) <= 64


def looks_like_address(text: str) -> bool:
    """True when the whole of ``text`` is address-like (see :data:`ADDRESS_IN_TEXT`)."""
    return ADDRESS_IN_TEXT.fullmatch(text) is not None


def is_public_address(value: object) -> bool:
    """:func:`is_address` with a dotted domain: an outside sender masbot may answer (never
    ``someone@localhost``)."""
    return is_address(value) and "." in str(value).rsplit("@", 1)[1]
