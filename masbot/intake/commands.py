"""The one-line commands members send: ``help``, ``template NAME`` and
``template NAME example``, in every language masbot speaks (``ayuda``,
``plantilla fianza ejemplo``): the words come from each language's field file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from masbot import lang
from masbot.story.templates import Catalogue, normalise_key

ENGLISH = {"help": ("help",), "template": ("template", "templates"),
           "example": ("example", "examples")}


@dataclass(frozen=True)
class Command:
    """A command as read: its verb (``help`` or ``template``), the template name as written
    (or ""), whether the example was asked for, and the language its words are in (None when
    they could be in several)."""

    verb: str
    name: str
    example: bool
    language: str | None


@cache
def _words() -> dict[str, dict[str, frozenset[str]]]:
    """verb -> normalised word -> the languages that use it."""
    out: dict[str, dict[str, frozenset[str]]] = {verb: {} for verb in ENGLISH}
    spellings = [(lang.DEFAULT, ENGLISH)] + [
        (code, dict(lang.get(code).words.commands)) for code in lang.available()
        if code != lang.DEFAULT]
    for code, verbs in spellings:
        for verb, words in verbs.items():
            for word in words:
                key = normalise_key(word)
                out[verb][key] = out[verb].get(key, frozenset()) | {code}
    return out


_LINE = re.compile(r"^\s*[¡¿]?\s*(\w+)(?:\s+(\w[\w-]{0,30}))?(?:\s+(\w+))?\s*[.!?]?\s*$")


def read(line: str, catalogue: Catalogue) -> Command | None:
    """The command on ``line`` (a mail's first line or its subject), or None when it is not
    one: ``help``, ``template``, ``template NAME`` or ``template NAME example``, each word in
    any language, in any case and with or without accents."""
    m = _LINE.match(line)
    if not m:
        return None
    words = _words()
    verb_word, name, tail = normalise_key(m.group(1)), m.group(2) or "", m.group(3)
    if tail is not None and normalise_key(tail) not in words["example"]:
        return None
    for verb in ("help", "template"):
        if verb_word in words[verb]:
            break
    else:
        return None
    if verb == "help" and tail is not None:
        return None  # "help me" is the help command; "help me please" is prose
    votes = [words[verb][verb_word]]
    if tail is not None:
        votes.append(words["example"][normalise_key(tail)])
    if name and (found := catalogue.template_spellings.get(normalise_key(name))):
        votes.append(found[1])
    return Command(verb, name, tail is not None, _language(votes))


def _language(votes: list[frozenset[str]]) -> str | None:
    """The one language every word allows, preferring the words that tell."""
    telling = [v for v in votes if len(v) == 1]
    common = frozenset.intersection(*telling) if telling else frozenset()
    return next(iter(common)) if len(common) == 1 else None
