"""Parse the text a member wrote into story fields, forgivingly and without I/O.

The form is plain text: one ``Key: value`` per line; a key alone on its line opens a
free-text section that runs until the next line starting with a known key; ``- `` lines in
a section are list items; quoted lines (``>``) and everything after a ``-- `` signature line
are ignored. Keys are case-insensitive, ``-``, ``_`` and space are the same, and a few
synonyms are accepted (see the template field specs).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from masbot.forms import Catalogue

# Invisible characters that can reorder or hide text (Trojan Source style) or glue words.
INVISIBLE = dict.fromkeys(
    [0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F),
     *range(0x2066, 0x206A)]
)
_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _-]{0,39}?)\s*:(?:\s+(.*)|\s*)$")
_SUBJECT_TAG = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg)\s*:\s*)*\[\s*([A-Za-z][A-Za-z0-9-]{0,30})\s*\]",
                          re.IGNORECASE)
_ITEM = re.compile(r"^\s*[-*•]\s+(.*)$")


@dataclass
class Entry:
    """One field as the member wrote it."""

    name: str  # canonical field name
    line: int  # 1-based line of the key in the body
    value: str = ""  # the one-line value, or the section's text
    items: list[str] = field(default_factory=list)  # list items of a section
    section: bool = False
    end_line: int = 0  # last line that belongs to this entry


@dataclass(frozen=True)
class Note:
    """Something the parser noticed: a line it ignored or a key given twice."""

    line: int
    message: str
    severity: str = "warning"  # "warning" or "error"


@dataclass
class Form:
    """The parsed form: fields by canonical name, plus what the annotation needs."""

    entries: dict[str, Entry]
    lines: list[str]  # the body's lines after cleaning, for the annotated answer
    notes: list[Note]
    template_name: str | None
    body_end: int  # number of lines before the signature

    def value(self, name: str) -> str:
        """The stripped value of field ``name``, or "" when absent."""
        entry = self.entries.get(name)
        return entry.value.strip() if entry else ""


def clean_text(text: str) -> str:
    """NFC-normalised text without invisible direction controls, with Unix line ends."""
    text = unicodedata.normalize("NFC", text).translate(INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")


def subject_template(subject: str) -> str | None:
    """The template named by a subject tag like ``[bail] Get Sam home``, or None."""
    m = _SUBJECT_TAG.match(subject or "")
    return m.group(1).casefold() if m else None


def _is_signature(line: str) -> bool:
    return line in ("-- ", "--") or line.rstrip() == "--"


def parse(body: str, subject: str, catalogue: Catalogue) -> Form:
    """Parse a member's ``body`` (and ``subject`` for the template tag) into a :class:`Form`.

    Never raises for any text: what cannot be understood becomes a :class:`Note`.
    """
    lines = clean_text(body).split("\n")
    entries: dict[str, Entry] = {}
    notes: list[Note] = []
    current: Entry | None = None  # the entry whose section or continuation is open
    section_lines: dict[str, list[str]] = {}
    body_end = len(lines)
    seen_first_key = False

    for number, raw in enumerate(lines, start=1):
        if _is_signature(raw):
            body_end = number - 1
            break
        line = raw.rstrip()
        if line.lstrip().startswith(">"):
            continue
        m = _KEY.match(line)
        name = catalogue.canonical_key(m.group(1)) if m else None
        if name:
            seen_first_key = True
            value = (m.group(2) or "").strip()
            if name in entries:
                notes.append(Note(number, f"{name} is given twice (first on line "
                                          f"{entries[name].line}); only the first is used", "error"))
                current = None
                continue
            entry = Entry(name=name, line=number, value=value, section=not value, end_line=number)
            entries[name] = entry
            section_lines[name] = []
            current = entry
            continue
        if current is not None and current.section:
            section_lines[current.name].append(line)
            if line.strip():
                current.end_line = number
            continue
        if not line.strip():
            current = None  # a blank line ends a one-line field's continuation
            continue
        if current is not None and not current.section:
            # A phone wrapped a long value onto the next line: keep it with its field.
            current.value = f"{current.value} {line.strip()}"
            current.end_line = number
            continue
        if m and seen_first_key:
            notes.append(Note(number, f"'{m.group(1).strip()}' is not a field of any template; "
                                      "this line is ignored"))
        elif seen_first_key:
            notes.append(Note(number, "this line is not part of any field and is ignored"))

    for name, text_lines in section_lines.items():
        entry = entries[name]
        if not entry.section:
            continue
        while text_lines and not text_lines[-1].strip():
            text_lines.pop()
        while text_lines and not text_lines[0].strip():
            text_lines.pop(0)
        entry.value = "\n".join(text_lines)
        entry.items = [m.group(1).strip() for t in text_lines if (m := _ITEM.match(t))]

    template = entries["Template"].value.strip().casefold() if "Template" in entries else None
    return Form(
        entries=entries,
        lines=lines[:body_end],
        notes=notes,
        template_name=template or subject_template(subject),
        body_end=body_end,
    )
