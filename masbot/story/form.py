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
from functools import cache

from masbot import lang
from masbot.lang import N_, Lang
from masbot.lang.sentence import Field, Sentence
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
_KEY = re.compile(r"^\s*([^\W\d_][\w -]{0,39}?)\s*:(?!//)(.*)$")  # any script: Título
_REPLY_PREFIX = r"(?:re|fwd?|aw|wg|sv|vs|tr|rv|enc|antw|ref)\s*:\s*"
_SUBJECT_TAG = re.compile(r"^\s*(?:" + _REPLY_PREFIX + r")*((?:\[[^\]\n]{0,40}\]\s*)+)",
                          re.IGNORECASE)
_TAG_NAME = re.compile(r"^\s*([^\W\d_][\w-]{0,30})\s*$")
_ITEM = re.compile(r"^\s*[-*•]\s+(.*)$")
# The bot's marks in an annotated answer: "! Title: ...", "? ...", "(line 12) ! ...".
LINE_REF = N_("(line {line})")
"""The prefix of a mark that belongs to a line not repeated in an annotated answer."""
# The sentences of answers a member may send back (the start of a line each); every
# language's version is recognised (see :func:`is_bot_line`).
ANNOTATED_HEADER = N_("Your request could not be published yet.")
ANNOTATED_NOT_REPEATED = N_("[the rest of your text, from line {line}, is not repeated here]")
HELP_FOOTER = N_('Send "{help}" for the list of templates, or "{template} NAME" for a blank '
                 'form.')
BLANK_HEADER = N_("Fill in this form, keep the keys, and mail it back.")
QUOTED_NOT_READ = N_("Lines starting with > (a quoted message) were not read; write every "
                     "field without >")
STATUS_HEADING = N_("The {field} choices (write one after {field}:):")
UPDATE_HEADER = N_("To update, extend, close or withdraw the appeal later, reply to this mail: "
                   "write one {field} below (and what it asks for) and send it.")
EXAMPLE_HEADER = N_("A filled-in example of the {template} form: change it to your own "
                    "request and send it here.")
ACCEPTED = N_("Thank you. Your appeal is published as {appeal_id}.")
ACCEPTED_HELD = N_("Thank you. Your appeal {appeal_id} is valid and waits for a moderator of "
                   "the society before it is posted.")
PLEASE_CHECK = N_("Please check:")
ANSWER_LINES = (
    ANNOTATED_HEADER, HELP_FOOTER, ANNOTATED_NOT_REPEATED, BLANK_HEADER, QUOTED_NOT_READ,
    OPTIONAL_HEADING, STATUS_HEADING, UPDATE_HEADER, EXAMPLE_HEADER, ACCEPTED, ACCEPTED_HELD,
    PLEASE_CHECK,
)
"""Sentences the bot writes in its answers (the start of each line), as marked for the
catalogs; a member who sends an answer back with them still in it, in any language, is not
held to them. :mod:`masbot.story.answers` writes them from here, so the two cannot drift
apart."""
_OLDER_ANSWER_LINES = (
    # English answers of earlier versions, which members may still send back.
    "are worth a second look. Correct your text and send it again.",
    "Send \"help\" for the list of templates", "[the rest of your text, from line",
    "A filled-in example of the", "To update, extend, close or withdraw the appeal later",
    "Thank you. Your appeal",
)
ANSWER_STOP = N_("This is the public text, exactly as readers will see it:")
"""In a quoted answer, nothing after this line is the member's: it is the published appeal."""
# The choices the bot lists under the update form of its answer: "funded = the goal is met".
_CHOICE_LINE = re.compile(r"^(?!\S*[A-Z])[^\W\d_](?:[^\W\d_]|-){1,20} = \S")
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


def hidden_problems(tr: Lang, n: int) -> str:
    """The last line of an annotated answer that lists only part of the problems."""
    return tr.ngettext("[{n} more problem not listed: fix these first and send the text again]",
                       "[{n} more problems not listed: fix these first and send the text again]",
                       n)


_HEAD_CHARS = 60
"""How much of a long sentence identifies it: a mail app that re-wraps a quoted answer
keeps at least this much of a line together."""
_ANY = "\x00"  # stands for a {value} while a sentence is turned into a pattern


def _pattern(text: str, head: bool = True) -> str:
    """A regular expression for a sentence whose values were written as ``_ANY``: its first
    :data:`_HEAD_CHARS` characters (cut at a space) when ``head``, else all of it."""
    if head and len(text) > _HEAD_CHARS:
        cut = text.rfind(" ", 0, _HEAD_CHARS)
        text = text[:cut if cut > _HEAD_CHARS // 3 else _HEAD_CHARS]
    return r".{1,80}?".join(re.escape(part) for part in text.split(_ANY))


def _said(tr: Lang, sentence: str) -> str:
    """``sentence`` in ``tr``'s language, with every value written as ``_ANY``."""
    names = re.findall(r"\{(\w+)\}", sentence)
    return tr._(sentence, **dict.fromkeys(names, _ANY)) if names else tr._(sentence)


@dataclass(frozen=True)
class _Recognisers:
    marks: re.Pattern[str]
    lines: re.Pattern[str]
    stops: frozenset[str]


@cache
def _recognisers() -> _Recognisers:
    """The bot's lines in every language masbot speaks, as patterns (made once)."""
    refs, heads, stops = set(), set(map(re.escape, _OLDER_ANSWER_LINES)), set()
    for code in lang.available():
        tr = lang.get(code)
        refs.add(_pattern(_said(tr, LINE_REF), head=False))
        heads.update(_pattern(_said(tr, sentence)) for sentence in ANSWER_LINES)
        heads.update(_pattern(hidden_problems(tr, n).replace(str(n), _ANY, 1), head=False)
                     for n in (1, 2, 3, 5, 11, 21, 101, 1_000_000))
        stops.add(tr._(ANSWER_STOP))
    ordered = sorted(refs | {""}, key=len, reverse=True)
    return _Recognisers(
        marks=re.compile(r"^\s*(?:(?:" + "|".join(ordered) + r")\s*)?[!?] \S"),
        lines=re.compile("|".join(sorted(heads, key=len, reverse=True))),
        stops=frozenset(stops))


def is_answer_stop(line: str) -> bool:
    """True for the line of an answer after which the published appeal follows (in any
    language's answer)."""
    return line.strip() in _recognisers().stops


def is_bot_line(line: str) -> bool:
    """True for a line the bot wrote in an answer, in any language it speaks: a mark or one
    of its sentences."""
    text = line.strip()
    found = _recognisers()
    return bool(found.marks.match(line) or _CHOICE_LINE.match(text)
                or found.lines.match(text))


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
    message: str  # in English; a Sentence, so ``say(note.message, tr)`` gives any language's
    severity: str = "warning"  # "warning" or "error"

    def text(self, tr: Lang) -> str:
        """The note in ``tr``'s language, field names as that language writes them."""
        return self.message.say(tr) if isinstance(self.message, Sentence) else self.message


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
        if is_answer_stop(bare):
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


def _canonical_values(entries: dict[str, Entry], catalogue: Catalogue) -> list[frozenset[str]]:
    """Write every choice value the member spelt in some language the canonical way
    (``Presentado-Por: representante`` is ``champion``), so that validation and the signed
    appeal see one spelling; returns the languages each spelling belongs to."""
    votes = []
    for entry in entries.values():
        if entry.section or entry.name == "Template":
            continue
        found = catalogue.canonical_value(entry.name, entry.value)
        if found is not None:
            entry.value = found[0]
            votes.append(found[1])
    return votes


def _language(votes: list[frozenset[str]], entries: dict[str, Entry]) -> str | None:
    """The language the member wrote in: the one most of the field names, template name and
    choice values they used belong to. The canonical (English) spellings do not tell: they
    are the format every signed appeal uses, which a member may have copied from any appeal,
    so then the language of their own text decides, and None when it does not tell either
    (the society's language answers)."""
    by_words = _most_voted(votes)
    if by_words not in (None, lang.DEFAULT):
        return by_words
    return lang.of_text("\n".join(e.value for e in entries.values()
                                  if e.section or len(e.value) > 40))


def _most_voted(votes: list[frozenset[str]]) -> str | None:
    """The language most words belong to (words several languages share tell nothing); None
    when no word tells, or two languages tie."""
    counts: dict[str, int] = {}
    for languages in votes:
        if len(languages) == 1:
            (code,) = languages
            counts[code] = counts.get(code, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


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
    spelled: list[str] = []  # the keys as the member typed them: they tell the language

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
            spelled.append(m.group(1))
            value = m.group(2).strip()
            as_section = _opens_section(name, value, template, catalogue)
            entry = Entry(name=name, line=number, value=value, section=as_section,
                          end_line=number)
            current = _Open(entry, [value] if value else [], inline=bool(value))
            if name in entries:
                notes.append(Note(number, Sentence(
                    N_("{field} is given twice (first on line {first}); only the first is used"),
                    field=Field(name), first=entries[name].line), "error"))
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
            notes.append(Note(number, Sentence(
                N_("'{key}' is not a field of any template (did you mean {field}?); this line "
                   "is ignored"), key=m.group(1).strip(), field=Field(close)) if close
                else Sentence(N_("'{key}' is not a field of any template; this line is "
                                 "ignored"), key=m.group(1).strip())))
        elif seen_first_key:
            notes.append(Note(number, Sentence(
                N_("this line is not part of any field and is ignored"))))

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
        notes.append(Note(unread_quote, Sentence(QUOTED_NOT_READ)))
    name = entries["Template"].value.strip().casefold() if "Template" in entries else None
    if name is None and template is not None and template.name == "update" and replied_to \
            and entries:
        name = "update"  # a reply with no field at all ("Thank you!") is no update
    name = name or subject_template(subject, catalogue)
    named = catalogue.template(name) if name else None
    votes = [catalogue.language_of(key) for key in spelled]
    if named is not None and name:
        votes.append(catalogue.template_spellings.get(normalise_key(name),
                                                      ("", frozenset()))[1])
        name = named.name  # "fianza" is the bail template
    votes += _canonical_values(entries, catalogue)
    return Form(
        entries=entries,
        lines=lines[:body_end],
        notes=notes,
        template_name=name,
        body_end=body_end,
        skipped=frozenset(skip),
        quoted=from_quote,
        language=_language(votes, entries),
    )
