"""The template vocabulary of one language: ``masbot/lang/CODE/fields.yaml``.

The canonical spellings (``Title``, ``Filed-By``, ``champion``, ``bail``) are the
language-neutral keys every signed appeal carries, so that every partner parses it. A field
file gives, for one language, what members may write instead and what readers see::

    language: es
    name: Español                 # the language's own name
    commands:                     # words of the one-line commands, beside the English ones
      help: [ayuda]
      template: [plantilla, formulario]
      example: [ejemplo]
    templates:
      bail:
        name: fianza              # "Plantilla: fianza", "[fianza] ..." and "plantilla fianza"
        title: Fianza o fianza migratoria
        example: |                # the filled-in example form, in this language
          Plantilla: fianza
          ...
    common-words: [de, la, que, el, en, y, los, para]   # tell a text in this language
    privacy:                      # why each privacy rule objects (see common.yaml)
      no-birth-dates: una fecha de nacimiento identifica a una persona
    fields:
      Title:
        name: Título              # the spelling forms show; accents may be left out
        synonyms: [Titular]       # other spellings members use
        label: Título             # how readers see it (default: name without hyphens)
        help: una línea, como máximo 90 caracteres
        values: {self: yo, champion: defensor}   # choice values members may write
      Goal:
        name: Meta
        help:                     # a help text that differs by template
          "*": la suma que se necesita, como 2500 USD
          gathering: lo que cuesta la reunión

English is the source: its words are the template files themselves (:meth:`Words.source`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from masbot.config.schema import load_text

COMMANDS = ("help", "template", "example")
ENGLISH_COMMON_WORDS = frozenset(
    "the and to of a in is for that with on are be this was have it at our they from by an "
    "we you not has but their or his her will been who can all would there them".split())


@dataclass(frozen=True)
class FieldWords:
    """How one field is written and read in a language."""

    name: str
    synonyms: tuple[str, ...] = ()
    label: str = ""
    help: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The form's hint, by template name; ``"*"`` for every other template."""
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class TemplateWords:
    """How one template is named in a language."""

    name: str
    title: str = ""
    example: str = ""


class WordsError(ValueError):
    """A field file that cannot be used: the message says where and why."""


@dataclass(frozen=True)
class Words:
    """One language's template vocabulary; an unknown field, value or template keeps its
    canonical spelling."""

    code: str
    name: str
    commands: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    templates: Mapping[str, TemplateWords] = field(default_factory=lambda: MappingProxyType({}))
    fields: Mapping[str, FieldWords] = field(default_factory=lambda: MappingProxyType({}))
    privacy: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    common_words: frozenset[str] = frozenset()
    """The language's most frequent short words: a text full of them is in this language."""

    @classmethod
    def source(cls) -> "Words":
        """English: the canonical spellings themselves."""
        return cls("en", "English", common_words=ENGLISH_COMMON_WORDS)

    def field_name(self, canonical: str) -> str:
        """The spelling of field ``canonical`` that forms in this language show."""
        words = self.fields.get(canonical)
        return words.name if words else canonical

    def label(self, canonical: str, default: str = "") -> str:
        """How readers of this language see field ``canonical``; ``default`` (the template's
        own label) when this language has none."""
        words = self.fields.get(canonical)
        if words is None:
            return default or canonical.replace("-", " ").capitalize()
        return words.label or words.name.replace("-", " ")

    def help(self, canonical: str, default: str, template: str = "") -> str:
        """The form's hint for field ``canonical`` in ``template``; ``default`` when this
        language has none."""
        words = self.fields.get(canonical)
        if words is None:
            return default
        return words.help.get(template) or words.help.get("*") or default

    def value(self, canonical_field: str, canonical_value: str) -> str:
        """A choice value as this language writes it."""
        words = self.fields.get(canonical_field)
        return words.values.get(canonical_value, canonical_value) if words else canonical_value

    def why(self, rule: str, default: str) -> str:
        """Why privacy rule ``rule`` objects, as the member is told; ``default`` when this
        language has no text for it."""
        return self.privacy.get(rule) or default

    def template_name(self, canonical: str) -> str:
        """The template's name in this language."""
        words = self.templates.get(canonical)
        return words.name if words else canonical

    def template_title(self, canonical: str, default: str) -> str:
        """The template's one-line title; ``default`` when this language has none."""
        words = self.templates.get(canonical)
        return words.title if words and words.title else default


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise WordsError(f"{where}: expected a word or a list of words")


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WordsError(f"{where}: expected a mapping")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int)):
        raise WordsError(f"{where}: expected text")
    return str(value)


def _help(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): _text(v, f"{where}: {k}") for k, v in value.items()}
    text = _text(value, where)
    return {"*": text} if text else {}


def load_words(path: Path) -> Words:
    """The field file at ``path``. Raises :class:`WordsError` naming the file and the entry
    when it is malformed."""
    try:
        doc = load_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise WordsError(f"{path}: cannot be read: {exc}") from None
    doc = _mapping(doc, str(path))
    code = _text(doc.get("language"), f"{path}: language")
    if not code:
        raise WordsError(f"{path}: 'language' is missing")
    commands = {}
    for verb, spellings in _mapping(doc.get("commands"), f"{path}: commands").items():
        if verb not in COMMANDS:
            raise WordsError(f"{path}: commands: {verb!r} is not one of {', '.join(COMMANDS)}")
        commands[verb] = _strings(spellings, f"{path}: commands: {verb}")
    templates = {}
    for name, raw in _mapping(doc.get("templates"), f"{path}: templates").items():
        where = f"{path}: templates: {name}"
        raw = _mapping(raw, where)
        templates[str(name)] = TemplateWords(
            name=_text(raw.get("name"), f"{where}: name") or str(name),
            title=_text(raw.get("title"), f"{where}: title"),
            example=_text(raw.get("example"), f"{where}: example"))
    fields = {}
    for name, raw in _mapping(doc.get("fields"), f"{path}: fields").items():
        where = f"{path}: fields: {name}"
        raw = _mapping(raw, where)
        values = {str(k): _text(v, f"{where}: values: {k}")
                  for k, v in _mapping(raw.get("values"), f"{where}: values").items()}
        fields[str(name)] = FieldWords(
            name=_text(raw.get("name"), f"{where}: name") or str(name),
            synonyms=_strings(raw.get("synonyms"), f"{where}: synonyms"),
            label=_text(raw.get("label"), f"{where}: label"),
            help=MappingProxyType(_help(raw.get("help"), f"{where}: help")),
            values=MappingProxyType(values))
    privacy = {str(k): _text(v, f"{path}: privacy: {k}")
               for k, v in _mapping(doc.get("privacy"), f"{path}: privacy").items()}
    common = frozenset(w.casefold() for w in _strings(doc.get("common-words"),
                                                      f"{path}: common-words"))
    return Words(code=code, name=_text(doc.get("name"), f"{path}: name") or code,
                 commands=MappingProxyType(commands), templates=MappingProxyType(templates),
                 fields=MappingProxyType(fields), privacy=MappingProxyType(privacy),
                 common_words=common)
