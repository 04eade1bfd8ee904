"""An iCalendar (RFC 5545) event for a gathering or a call-in window.

One ``VCALENDAR`` with one ``VEVENT``: ``UID`` from the Appeal-ID (stable across revisions,
so a calendar updates the event), ``SEQUENCE`` from the revision, ``DTSTAMP`` from the
appeal's ``Issued``, times in UTC (no ``VTIMEZONE`` needed), ``STATUS:CANCELLED`` when the
appeal is cancelled. The description is in the appeal's language, and the text values carry
a ``LANGUAGE`` parameter when the appeal names its language. Text values are escaped (``\\``, ``;``, ``,``, newlines), control
characters removed, lines end with CRLF and are folded at 75 octets without splitting a
UTF-8 character.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from masbot.story import when
from masbot.appeal import formats, view
from masbot.appeal.canonical import Appeal
from masbot.appeal.view import check_url
from masbot.lang import Lang

PRODID = "-//masbot//repost kit//EN"
MAX_OCTETS = 75
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def escape_text(text: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped;
    other control characters dropped, so no raw CR or LF can end the property early."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\t", " ")
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def fold(line: str) -> str:
    """One content line folded at :data:`MAX_OCTETS` octets (continuations start with a
    space), each physical line ending in CRLF; never splits a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, MAX_OCTETS
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out) + "\r\n"


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _span(appeal: Appeal) -> tuple[datetime, datetime | None] | None:
    if appeal.template == "gathering":
        start = when.parse_moment(str(appeal.get("Start", "")))
        end = when.parse_moment(str(appeal.get("End", ""))) if appeal.get("End") else None
        return (start, end) if start is not None else None
    if appeal.template == "callin":
        span = when.parse_window(str(appeal.get("Window", "")))
        return span if isinstance(span, tuple) else None
    return None


def _description(appeal: Appeal, tr: Lang, proof: tuple[str, ...] = ()) -> str:
    if appeal.template == "callin":
        parts = [tr._("Call {target} at {phone}.", target=appeal.get("Target", ""),
                      phone=appeal.get("Target-Phone", "")),
                 f"{view.label(tr, 'Demand')}: {appeal.get('Demand', '')}",
                 f"{view.label(tr, 'Script')}:", str(appeal.get("Script", ""))]
    else:
        parts = [str(appeal.get("Why", ""))]
        bring = appeal.get("Bring", ())
        if bring:
            parts.append(f"{view.label(tr, 'Bring')}: " + ", ".join(bring))
        if appeal.get("Safety"):
            parts.append(f"{view.label(tr, 'Safety')}: " + str(appeal.get("Safety")))
    parts.append(tr._("{appeal_id} from {society}", appeal_id=appeal.appeal_id,
                      society=appeal.society))
    if proof:
        parts.append("\n".join(proof))
    return "\n\n".join(p for p in parts if p.strip())


def _location(appeal: Appeal) -> str:
    if appeal.template == "gathering":
        return ", ".join(str(v) for v in (appeal.get("Where", ""), appeal.get("Location", "")) if v)
    return str(appeal.get("Target-Phone", ""))


def _uid(appeal: Appeal) -> str:
    domain = appeal.updates_to.rsplit("@", 1)[-1] if "@" in appeal.updates_to else "masbot"
    return f"{appeal.appeal_id}@{re.sub(r'[^A-Za-z0-9.-]', '', domain) or 'masbot'}"


def event(appeal: Appeal, *, url: str | None = None, proof: tuple[str, ...] = (),
          tr: Lang | None = None) -> str | None:
    """The ``.ics`` text for a gathering (Start/End) or call-in (Window), else None.
    ``proof``: lines saying which revision this is and how to check it, for the description;
    ``tr``: its language (default: the appeal's)."""
    span = _span(appeal)
    if span is None:
        return None
    tr = tr or formats.language_of(appeal)
    start, end = span
    tag = str(appeal.get("Language", ""))
    text = f";LANGUAGE={tag}" if formats.LANGUAGE_TAG.fullmatch(tag) else ""
    props = [
        ("UID", _uid(appeal)),
        ("SEQUENCE", str(max(0, appeal.revision - 1))),
        ("DTSTAMP", _utc(appeal.issued)),
        ("DTSTART", _utc(start)),
    ]
    if end is not None:
        props.append(("DTEND", _utc(end)))
    props += [
        (f"SUMMARY{text}", escape_text(appeal.title)),
        (f"LOCATION{text}", escape_text(_location(appeal))),
        (f"DESCRIPTION{text}", escape_text(_description(appeal, tr, proof))),
        ("STATUS", "CANCELLED" if appeal.status == "cancelled" else "CONFIRMED"),
    ]
    if url is not None:
        check_url(url)
        props.append(("URL", url))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", "BEGIN:VEVENT", *(f"{k}:{v}" for k, v in props),
             "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) for line in lines)
