"""Parse the text a member wrote into story fields, forgivingly and without I/O.

The form is plain text: one ``Key: value`` per line; a key alone on its line opens a
free-text section that runs until the next line starting with a known key; ``- `` lines in
a section are list items; quoted lines (``>``) and everything after a ``-- `` signature line
are ignored. Keys are case-insensitive, ``-``, ``_`` and space are the same, and a few
synonyms are accepted (see the template field specs).

What members send back is read forgivingly: the bot's own ``! Field: ...`` marks and the
sentences of its answers, and phone or mail-client signatures ("Sent from my iPhone",
"Enviado desde mi iPhone", "Get Outlook for iOS") are dropped wherever they stand; a form
written only inside a quoted reply (every line starting ``>``) is read from the quote.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from masbot.story.templates import (OPTIONAL_HEADING, SECTION_KINDS, Catalogue, Template,
                                    normalise_key)

# Invisible characters that can reorder or hide text (Trojan Source style) or glue words.
# Every "format" character (Unicode category Cf) is removed as well; this table is kept for
# readers who want the well-known ones named.
INVISIBLE = dict.fromkeys(
    [0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F),
     *range(0x2066, 0x206A)]
)
_LINE_BREAKS = {0x2028: "\n", 0x2029: "\n", 0x0085: "\n", 0x000B: "\n", 0x000C: "\n"}
_ASCII_CONTROLS = {c: None for c in (*range(0x20), 0x7F) if c != 0x0A}  # category Cc
# A key: letters, digits, space, "-" or "_", then a colon not starting "://" (a link).
_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _-]{0,39}?)\s*:(?!//)(.*)$")
_REPLY_PREFIX = r"(?:re|fwd?|aw|wg|sv|vs|tr|rv|enc|antw|ref)\s*:\s*"
_SUBJECT_TAG = re.compile(r"^\s*(?:" + _REPLY_PREFIX + r")*((?:\[[^\]\n]{0,40}\]\s*)+)",
                          re.IGNORECASE)
_TAG_NAME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]{0,30})\s*$")
_ITEM = re.compile(r"^\s*[-*•]\s+(.*)$")
# The bot's marks in an annotated answer: "! Title: ...", "? ...", "(line 12) ! ...".
_MARK = re.compile(r"^\s*(?:\(line \d+\)\s*)?[!?] \S")
ANNOTATED_HEADER = "Your request could not be published yet."
ANNOTATED_NOT_REPEATED = "[the rest of your text, from line"
HELP_FOOTER = "Send \"help\" for the list of templates"
BLANK_HEADER = "Fill in this form, keep the keys, and mail it back."
QUOTED_NOT_READ = "Lines starting with > (a quoted message) were not read"
STATUS_HEADING = "The Status choices (write one after Status:):"
UPDATE_HEADER = "To update, extend, close or withdraw the appeal later, reply to this mail"
EXAMPLE_HEADER = "A filled-in example of the"
ANSWER_LINES = (
    ANNOTATED_HEADER,
    "are worth a second look. Correct your text and send it again.",  # older answers
    HELP_FOOTER, ANNOTATED_NOT_REPEATED, BLANK_HEADER, QUOTED_NOT_READ, OPTIONAL_HEADING,
    STATUS_HEADING, UPDATE_HEADER, EXAMPLE_HEADER,
    "Thank you. Your appeal is published as", "Thank you. Your appeal", "Please check:",
)
"""Sentences the bot writes in its answers (the start of each line); a member who sends an
answer back with them still in it is not held to them. :mod:`masbot.story.answers` writes
them from here, so the two cannot drift apart."""
ANSWER_STOP = "This is the public text, exactly as readers will see it:"
"""In a quoted answer, nothing after this line is the member's: it is the published appeal."""
_HIDDEN_COUNT = re.compile(r"^\[\d+ more problems? not listed")
# The choices the bot lists under the update form of its answer: "funded = the goal is met".
_CHOICE_LINE = re.compile(r"^[a-z][a-z-]{1,20}(?: or [a-z][a-z-]{1,20})? = \S")
_APPEAL_TAG = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d{4}-\d{4,}$")
# Signatures phones and mail apps add, in the languages members write.
_CLIENT_SIGNATURE = re.compile(
    r"^\W*(?:sent|get|download|enviado|envoy[ée]|obtener|descargar|inviato|enviado|gesendet"
    r"|von)\b.{0,60}\b(?:iphone|ipad|ipod|android|outlook|mobile|phone|smartphone|galaxy"
    r"|samsung|pixel|blackberry|yahoo|aol|gmail|proton\s?mail|mail for windows|tel[ée]fono"
    r"|m[óo]vil|celular|cel|tablet|huawei|xiaomi|motorola|app|device|dispositivo|correo)\b.{0,80}$"
    r"|^\W*sent with proton\s?mail.{0,40}$"
    # An HTML signature whose link text was replaced by its address: "Get https://aka.ms/..."
    r"|^\W*(?:get|sent from|obtener|enviado desde|descargar)\s+https?://aka\.ms/\S+\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^\s*(?:on\b.{0,200}\bwrote|el\b.{0,200}\bescribi[óo]|le\b.{0,200}\ba [ée]crit"
    r"|am\b.{0,200}\bschrieb)\s*:\s*$|^\s*-{2,}\s*(?:original message|mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"^\s*>[> ]*")


def is_bot_line(line: str) -> bool:
    """True for a line the bot wrote in an answer: a mark or one of its sentences."""
    text = line.strip()
    return bool(_MARK.match(line) or _HIDDEN_COUNT.match(text) or _CHOICE_LINE.match(text)
                or any(text.startswith(sentence) for sentence in ANSWER_LINES))


def is_client_signature(line: str) -> bool:
    """True for a signature a phone or mail app adds: "Sent from my iPhone", "Get Outlook
    for Android", "Enviado desde mi Samsung Galaxy", "Sent with Proton Mail secure email"."""
    return len(line) <= 120 and bool(_CLIENT_SIGNATURE.match(line.strip()))


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
    skipped: frozenset[int] = frozenset()  # lines not read: the bot's marks, signatures
    quoted: bool = False  # the form was read from a quoted reply
    language: str | None = None  # the language whose field names the member wrote, if one


    def value(self, name: str) -> str:
        """The stripped value of field ``name``, or "" when absent."""
        entry = self.entries.get(name)
        return entry.value.strip() if entry else ""


def clean_text(text: str) -> str:
    """NFC-normalised text with Unix line ends, without invisible or control characters.

    Removes every Unicode format character (category Cf: direction overrides and isolates,
    zero-width characters, soft hyphens, tag characters) and every control character except
    the line feed; tabs become four spaces; the Unicode line and paragraph separators become
    line feeds; every other space (no-break, narrow, figure, ideographic: category Zs) becomes
    a plain space, so the canonical text never holds one and a verifier may safely turn the
    no-break spaces a browser adds back into spaces.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_LINE_BREAKS)
    if text.isascii():  # the common case, without a unicodedata lookup per character
        return text.replace("\t", "    ").translate(_ASCII_CONTROLS)
    text = unicodedata.normalize("NFC", text.replace("\t", "    "))
    return "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text
                   if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))


def subject_template(subject: str, catalogue: Catalogue | None = None) -> str | None:
    """The template named by a subject tag like ``[bail] Get Sam home``, or None.

    ``Re:``/``Fwd:`` style prefixes are skipped. When several tags lead the subject (a list
    may add its own, like ``[members] [bail] ...``), the first that names a template of
    ``catalogue`` wins; otherwise the first tag is returned, so that a misspelt template can
    be reported.
    """
    m = _SUBJECT_TAG.match(clean_text(subject or ""))
    if not m:
        return None
    names = [t.group(1).casefold() for raw in re.findall(r"\[([^\]]*)\]", m.group(1))
             if (t := _TAG_NAME.match(raw))]
    if catalogue is not None:
        known = [n for n in names if catalogue.template(n) is not None]
        if known:
            return known[0]
    return names[0] if names else None


def _is_signature(line: str) -> bool:
    return line.rstrip() == "--"


@dataclass
class _Open:
    """The entry whose section or continuation lines are being collected."""

    entry: Entry
    lines: list[str]
    discard: bool = False  # a duplicate: its lines are swallowed, not used
    inline: bool = False  # the key line carried a value


def _field_name(line: str, catalogue: Catalogue) -> str | None:
    m = _KEY.match(line)
    return catalogue.canonical_key(m.group(1)) if m else None


def _has_key(line: str, catalogue: Catalogue) -> bool:
    return _field_name(line, catalogue) is not None


def _reading(lines: list[str], catalogue: Catalogue) -> tuple[list[str], set[int], bool, int | None]:
    """The lines to read, the numbers of lines to skip, whether the form is read from a quote,
    and the line of a form in quoted lines that is *not* read (to say so)."""
    skip: set[int] = set()
    end = len(lines)
    for number, line in enumerate(lines, start=1):
        if _is_signature(line):
            end = number - 1
            break
        bare = _QUOTE.sub("", line)
        if bare.strip() == ANSWER_STOP:
            # The published appeal follows: up to the end of this quote (or of the text).
            depth = _depth(line)
            stop = next((n for n in range(number + 1, len(lines) + 1)
                         if lines[n - 1].strip() and _depth(lines[n - 1]) < depth), end + 1)
            skip.update(range(number, min(stop, end + 1)))
        if is_bot_line(bare) or is_client_signature(bare) or _ATTRIBUTION.match(bare):
            skip.add(number)
    plain = [n for n in range(1, end + 1) if n not in skip and not lines[n - 1].lstrip()
             .startswith(">") and _has_key(lines[n - 1], catalogue)]
    quoted = [n for n in range(1, end + 1) if n not in skip and lines[n - 1].lstrip()
              .startswith(">") and _has_key(_QUOTE.sub("", lines[n - 1]), catalogue)]
    if plain or not quoted:
        given = {_field_name(lines[n - 1], catalogue) for n in plain}
        missed = [n for n in quoted
                  if _field_name(_QUOTE.sub("", lines[n - 1]), catalogue) not in given]
        return lines, skip, False, missed[0] if missed else None
    out = [_QUOTE.sub("", line, count=1) if line.lstrip().startswith(">") else line
           for line in lines]
    return out, skip, True, None


def _depth(line: str) -> int:
    m = _QUOTE.match(line)
    return m.group(0).count(">") if m else 0


def _named_template(lines: list[str], subject: str, catalogue: Catalogue) -> Template | None:
    """The template the form names on a ``Template:`` line (or else in the subject)."""
    for line in lines:
        if _is_signature(line):
            break
        m = _KEY.match(line)
        if m and not line.lstrip().startswith(">") \
                and catalogue.canonical_key(m.group(1)) == "Template":
            return catalogue.template(m.group(2))
    return catalogue.template(subject_template(subject, catalogue) or "")


def _opens_section(name: str, value: str, template: Template | None, catalogue: Catalogue) -> bool:
    spec = template.field(name) if template is not None else None
    if spec is not None:
        return not value or spec.kind in SECTION_KINDS
    return not value or catalogue.takes_section(name)


def suggest_field(key: str, template: Template | None, catalogue: Catalogue) -> str | None:
    """The field a misspelt key most likely means ("Tittle" -> "Title"), or None.

    Looks among the template's fields first, then among every template's."""
    every = sorted({f.name for tpl in catalogue.templates.values() for f in tpl.fields})
    for names in ([f.name for f in template.fields] if template is not None else [], every):
        by_key = {normalise_key(n): n for n in names}
        close = difflib.get_close_matches(normalise_key(key), list(by_key), n=1, cutoff=0.75)
        if close:
            return by_key[close[0]]
    return None


def appeal_tag(subject: str) -> str | None:
    """The Appeal-ID in a subject tag like ``Re: [ANYTOWN-2026-0001] Get Sam home``."""
    m = _SUBJECT_TAG.match(clean_text(subject or ""))
    for raw in re.findall(r"\[([^\]]*)\]", m.group(1)) if m else ():
        if _APPEAL_TAG.match(raw.strip().upper()):
            return raw.strip().upper()
    return None


def _names_template(lines: list[str], skip: set[int], catalogue: Catalogue) -> bool:
    return any(_field_name(ln, catalogue) == "Template"
               for n, ln in enumerate(lines, 1) if n not in skip and not ln.lstrip().startswith(">"))


def _from_reply(entries: dict[str, Entry], lines: list[str], appeal: str | None,
                catalogue: Catalogue) -> None:
    """An update written as a reply: the Appeal-ID comes from the subject, and the
    Update-Key from the quoted answer when the member did not copy it (line 0: not written
    by the member)."""
    if "Update-Key" not in entries:
        for number, line in enumerate(lines, start=1):
            bare = _QUOTE.sub("", line)
            m = _KEY.match(bare)
            if m and catalogue.canonical_key(m.group(1)) == "Update-Key" and m.group(2).strip():
                entries["Update-Key"] = Entry("Update-Key", number, m.group(2).strip(),
                                              end_line=number)
                break
    if "Refers-To" not in entries and appeal:
        entries["Refers-To"] = Entry("Refers-To", 0, appeal)


def parse(body: str, subject: str, catalogue: Catalogue) -> Form:
    """Parse a member's ``body`` (and ``subject`` for the template tag) into a :class:`Form`.

    Once the template is known (from its ``Template:`` line or the subject), a line inside a
    section that starts with a key of *another* template ("Why: ...", "Note: ...") is text
    of the section, not a new field. Never raises for any text: what cannot be understood
    becomes a :class:`Note`.
    """
    raw_lines = clean_text(body).split("\n")
    lines, skip, from_quote, unread_quote = _reading(raw_lines, catalogue)
    template = _named_template([ln for n, ln in enumerate(lines, 1) if n not in skip],
                               subject, catalogue)
    replied_to = appeal_tag(subject)
    if template is None and replied_to and not _names_template(lines, skip, catalogue):
        template = catalogue.template("update")  # a reply to the answer that published it
    entries: dict[str, Entry] = {}
    notes: list[Note] = []
    opened: list[_Open] = []  # every entry kept, with the lines it collects
    current: _Open | None = None  # the entry whose section or continuation is open
    body_end = len(lines)
    seen_first_key = False

    for number, raw in enumerate(lines, start=1):
        if _is_signature(raw):
            body_end = number - 1
            break
        line = raw.rstrip()
        if number in skip or line.lstrip().startswith(">"):
            continue
        m = _KEY.match(line)
        name = catalogue.canonical_key(m.group(1)) if m else None
        if name and template is not None and template.field(name) is None \
                and current is not None and current.entry.section:
            name = None  # another template's key inside a section: the member's prose
        if name:
            assert m is not None  # only a key line gives a name
            seen_first_key = True
            value = m.group(2).strip()
            as_section = _opens_section(name, value, template, catalogue)
            entry = Entry(name=name, line=number, value=value, section=as_section,
                          end_line=number)
            current = _Open(entry, [value] if value else [], inline=bool(value))
            if name in entries:
                notes.append(Note(number, f"{name} is given twice (first on line "
                                          f"{entries[name].line}); only the first is used", "error"))
                current.discard = True
            else:
                entries[name] = entry
                opened.append(current)
            continue
        if current is not None and current.entry.section:
            current.lines.append(line)
            if line.strip():
                current.entry.end_line = number
            continue
        if not line.strip():
            current = None  # a blank line ends a one-line field's continuation
            continue
        if current is not None and not (m and (" " not in m.group(1).strip() or suggest_field(
                m.group(1), template, catalogue))):
            # A phone wrapped a long value onto the next line: keep it with its field.
            current.lines.append(line.strip())
            current.entry.end_line = number
            continue
        current = None
        close = suggest_field(m.group(1), template, catalogue) if m else None
        if m and (seen_first_key or close):
            notes.append(Note(number, f"'{m.group(1).strip()}' is not a field of any template"
                              + (f" (did you mean {close}?)" if close else "")
                              + "; this line is ignored"))
        elif seen_first_key:
            notes.append(Note(number, "this line is not part of any field and is ignored"))

    for open_ in opened:
        if not open_.entry.section:
            open_.entry.value = " ".join(open_.lines)
            continue
        filled = [i for i, t in enumerate(open_.lines) if t.strip()]
        text_lines = open_.lines[filled[0]:filled[-1] + 1] if filled else []
        entry = open_.entry
        entry.value = "\n".join(text_lines)
        entry.items = [m.group(1).strip() for t in text_lines if (m := _ITEM.match(t))]
        first = entry.value.split("\n", 1)[0].strip() if open_.inline else ""
        if entry.items and first and not _ITEM.match(first):
            # "Funds-Use: 2500 USD bail" followed by "- " items: the key line is an item too.
            entry.items.insert(0, first)

    if template is not None and template.name == "update" and entries:
        _from_reply(entries, raw_lines, replied_to, catalogue)
    if unread_quote is not None and not (
            template is not None and template.name == "update" and replied_to):
        notes.append(Note(unread_quote, QUOTED_NOT_READ + "; write every field without >"))
    name = entries["Template"].value.strip().casefold() if "Template" in entries else None
    if name is None and template is not None and template.name == "update" and replied_to \
            and entries:
        name = "update"  # a reply with no field at all ("Thank you!") is no update
    return Form(
        entries=entries,
        lines=lines[:body_end],
        notes=notes,
        template_name=name or subject_template(subject, catalogue),
        body_end=body_end,
        skipped=frozenset(skip),
        quoted=from_quote,
    )
