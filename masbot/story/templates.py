"""Story templates as data: the field specs of ``masbot/templates/*.yaml``.

A template is a named set of field specs (the common fields, the money block when the
template takes money, and its own fields) plus the names of the content checks it runs. This
module loads and describes templates and checks an operator's template files
(:func:`check_directory`); parsing is in :mod:`masbot.story.form` and checking in
:mod:`masbot.story.validate`.

Template file keys (see ``common.yaml`` for the field spec keys):

``name``
    the template name members write (``Template: bail`` or ``[bail]`` in the subject)
``title``
    one line for the list of templates
``money``
    ``true`` (the money block is required), ``optional`` (its fields may be given; a ``Goal``
    then needs ``Donate``, and ``Donate`` a ``Funds-Holder``) or ``false``
``common``
    ``false`` leaves out the common fields (only the ``update`` message does this)
``fields``
    the template's own fields, in form order; a field named like a common or money field
    replaces it
``checks``
    names of content checks, see :data:`masbot.story.privacy.KNOWN_CHECKS`

The schema of these files, and the reading that reports mistakes by file and line, is in
:mod:`masbot.story.templatefiles`.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, lru_cache
from pathlib import Path
from datetime import date, datetime, timedelta
from typing import Iterable

from babel.lists import format_list

from masbot import lang
from masbot.lang import N_, Lang
from masbot.story.templatefiles import COMMON, ITEM_RULES, KINDS, SECTION_KINDS, TEMPLATE, read
from masbot.config.schema import INVALID, Problem
from masbot.story.privacy import Rule

__all__ = ["KINDS", "SECTION_KINDS", "ITEM_RULES", "FieldSpec", "Template", "TemplateError",
           "Catalogue", "normalise_key", "builtin", "load", "check_directory", "blank_form",
           "example_form", "condition", "or_word"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a story form."""

    name: str
    kind: str = "text"
    required: bool | str = False  # True, False or "champion"
    required_if: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (field, values); "*" = given
    max: int | None = None
    min_words: int | None = None
    max_words: int | None = None
    values: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    help: str = ""
    label: str = ""
    consent: str | None = None  # the Consent value this field needs
    private: bool = False
    region: str | None = None  # phone: the country assumed for numbers without "+"
    item: str | None = None  # list: the rule every item must meet
    names_ok: bool = False  # meant to name a fund, group, office or person: no name lint
    example: str = ""  # the value in the filled-in example form (list items: " | " between)

    @property
    def title(self) -> str:
        """How readers see the field's name: its label, or its name without hyphens."""
        return self.label or self.name.replace("-", " ").capitalize()


@dataclass(frozen=True)
class Template:
    """A story template: its name, its ordered fields and the checks it runs."""

    name: str
    title: str
    money: bool | str  # True, False or "optional"
    fields: tuple[FieldSpec, ...]
    checks: tuple[str, ...] = ()
    common: bool = True
    privacy: tuple[Rule, ...] = ()  # the privacy rules, common ones overridden by its own
    example: str = ""  # a filled-in form; @IN_N_DAYS@ stands for the date N days ahead

    def field(self, name: str) -> FieldSpec | None:
        """The spec of field ``name`` (canonical spelling), or None."""
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, FieldSpec]:  # validation asks hundreds of times a form
        by_name: dict[str, FieldSpec] = {}
        for f in self.fields:
            by_name.setdefault(f.name, f)  # the first, as a search in order finds
        return by_name


class TemplateError(ValueError):
    """Template files that cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@lru_cache(maxsize=4096)  # the same few hundred keys, asked for a hundred times a form
def normalise_key(key: str) -> str:
    """The comparison form of a key, a template name or a choice value: case-folded, without
    accents (``Título`` is ``titulo``: phones and keyboards differ), with ``-``, ``_`` and
    spaces the same."""
    if key.isascii():
        return _SEPARATORS.sub("-", key.strip().lower())
    folded = unicodedata.normalize("NFKD", key.strip().casefold())
    return _SEPARATORS.sub("-", "".join(ch for ch in folded if not unicodedata.combining(ch)))


_SEPARATORS = re.compile(r"[-_ ]+")


def _spec(name: str, raw: dict) -> FieldSpec:
    return FieldSpec(
        name=name, kind=raw.get("kind") or "text", required=raw.get("required", False),
        required_if=tuple(raw.get("required-if") or ()), max=raw.get("max"),
        min_words=raw.get("min-words"), max_words=raw.get("max-words"),
        values=tuple(str(v) for v in raw.get("values") or ()),
        synonyms=tuple(raw.get("synonyms") or ()), help=raw.get("help") or "",
        label=raw.get("label") or "", consent=raw.get("consent"),
        private=bool(raw.get("private")), region=raw.get("region"), item=raw.get("item"),
        names_ok=bool(raw.get("names-ok")), example=str(raw.get("example") or ""),
    )




Spellings = dict[str, tuple[str, frozenset[str]]]
"""Normalised spelling -> (canonical word, the languages that write it so)."""


@dataclass(frozen=True)
class Catalogue:
    """All templates known to a society, and the spellings members may use: the canonical
    (English) ones and those of every language masbot speaks (:mod:`masbot.lang.words`)."""

    templates: dict[str, Template]
    keys: dict[str, str] = field(default_factory=dict)  # normalised spelling -> canonical name
    key_languages: dict[str, frozenset[str]] = field(default_factory=dict)
    template_spellings: Spellings = field(default_factory=dict)
    value_spellings: dict[str, Spellings] = field(default_factory=dict)  # by canonical field

    def template(self, name: str) -> Template | None:
        """The template called ``name`` in any language (any case, accents optional), or
        None."""
        found = self.template_spellings.get(normalise_key(name))
        return self.templates.get(found[0] if found else name.strip().casefold())

    def canonical_key(self, key: str) -> str | None:
        """The canonical field name for a key as a member typed it, or None when unknown."""
        return self.keys.get(normalise_key(key))

    def canonical_value(self, field_name: str, value: str) -> tuple[str, frozenset[str]] | None:
        """The canonical choice value of field ``field_name`` that ``value`` spells in some
        language, with the languages that spell it so; None when it spells none."""
        return self.value_spellings.get(field_name, {}).get(normalise_key(value))

    def language_of(self, key: str) -> frozenset[str]:
        """The languages in which ``key`` (as typed) is a spelling of a field name."""
        return self.key_languages.get(normalise_key(key), frozenset())

    def takes_section(self, name: str) -> bool:
        """True when field ``name`` (canonical) is a section, list or links field somewhere.

        Such a field keeps collecting lines after a value on its key line.
        """
        return any(spec.kind in SECTION_KINDS
                   for tpl in self.templates.values() if (spec := tpl.field(name)) is not None)

    def names(self) -> list[str]:
        """Template names in a stable order."""
        return sorted(self.templates)


def _optional_money(money: list[FieldSpec]) -> list[FieldSpec]:
    given = {"Donate": (("Goal", ("*",)),), "Funds-Holder": (("Donate", ("*",)), ("Goal", ("*",)))}
    return [replace(f, required=False, required_if=given.get(f.name, ())) for f in money]


def _specs(raw: dict[str, dict] | None) -> dict[str, FieldSpec]:
    return {name: _spec(name, spec) for name, spec in (raw or {}).items()}


def _rules(common: dict[str, dict], own: dict[str, dict]) -> tuple[Rule, ...]:
    """The privacy rules: each common rule, with the levels the template sets replacing its
    own (a template may also change ``why`` and ``unless``)."""
    out = []
    for name in dict.fromkeys([*common, *own]):
        raw = {**common.get(name, {}), **{k: v for k, v in own.get(name, {}).items()
                                         if v not in (None, ())}}
        levels = tuple((c, raw[c]) for c in ("self", "direct", "prior", "lawyer", "pending")
                       if raw.get(c))
        unless = raw.get("unless") or ()
        out.append(Rule(name, raw.get("why") or "", levels,
                        (unless[0][0], unless[0][1][0]) if unless else None))
    return tuple(out)


def _template(doc: dict, common: dict[str, FieldSpec], money: dict[str, FieldSpec],
              rules: dict[str, dict] | None = None) -> Template:
    own = _specs(doc.get("fields"))
    base = list(common.values()) if doc.get("common", True) else [common["Template"]]
    block = [] if not doc.get("money") else (
        list(money.values()) if doc["money"] is True else _optional_money(list(money.values())))
    shared = {f.name for f in base + block}
    fields = ([own.get(f.name, f) for f in base]
              + [f for name, f in own.items() if name not in shared]
              + [own.get(f.name, f) for f in block])
    return Template(name=doc["name"], title=doc.get("title") or doc["name"],
                    money=doc.get("money", False), fields=tuple(fields),
                    checks=tuple(doc.get("checks") or ()), common=doc.get("common", True),
                    privacy=_rules(rules or {}, doc.get("privacy") or {}),
                    example=doc.get("example") or "")


def _build(docs: Iterable[dict], common_doc: dict) -> Catalogue:
    common, money = _specs(common_doc["common"]), _specs(common_doc["money"])
    templates = {doc["name"]: _template(doc, common, money, common_doc.get("privacy"))
                 for doc in docs}
    return _with_languages(templates)


def _add(spellings: Spellings, spelling: str, canonical: str, language: str) -> None:
    """Record one spelling; a spelling that already means another word keeps that meaning
    (the canonical English spellings are added first, so no language can take them)."""
    key = normalise_key(spelling)
    if not key:
        return
    known = spellings.get(key)
    if known is None:
        spellings[key] = (canonical, frozenset({language}))
    elif known[0] == canonical:
        spellings[key] = (canonical, known[1] | {language})


def _with_languages(templates: dict[str, Template]) -> Catalogue:
    from masbot import lang
    keys: Spellings = {}
    names: Spellings = {}
    values: dict[str, Spellings] = {}
    for tpl in templates.values():
        _add(names, tpl.name, tpl.name, lang.DEFAULT)
        for spec in tpl.fields:
            for spelling in (spec.name, *spec.synonyms):
                _add(keys, spelling, spec.name, lang.DEFAULT)
            for value in spec.values:
                _add(values.setdefault(spec.name, {}), value, value, lang.DEFAULT)
    for code in lang.available():
        words = lang.get(code).words
        for name, tpl_words in words.templates.items():
            if name in templates:
                _add(names, tpl_words.name, name, code)
        for name, field_words in words.fields.items():
            if not any(tpl.field(name) for tpl in templates.values()):
                continue
            for spelling in (field_words.name, *field_words.synonyms):
                _add(keys, spelling, name, code)
            for value, spelling in field_words.values.items():
                if value in values.get(name, {}) or normalise_key(value) in values.get(name, {}):
                    _add(values[name], spelling, value, code)
    return Catalogue(templates=templates,
                     keys={key: canonical for key, (canonical, _) in keys.items()},
                     key_languages={key: langs for key, (_, langs) in keys.items()},
                     template_spellings=names, value_spellings=values)


def _builtin_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "templates"


def _read_dir(directory: Path, shown: str, problems: list[Problem]) -> dict[str, dict]:
    docs: dict[str, tuple[dict, str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "common.yaml" and directory == _builtin_dir():
            continue
        name = os.path.join(shown, path.name)
        doc = read(path, name, TEMPLATE, problems)
        if doc is INVALID:
            continue
        if doc["name"] in docs:
            problems.append(Problem(name, 1, f"template '{doc['name']}' is also defined in "
                                             f"{docs[doc['name']][1]}"))
            continue
        docs[doc["name"]] = (doc, name)
    return {name: doc for name, (doc, _) in docs.items()}


@cache
def _builtin_parts() -> tuple[dict, dict[str, dict]]:
    problems: list[Problem] = []
    base = _builtin_dir()
    common = read(base / "common.yaml", "common.yaml", COMMON, problems)
    docs = _read_dir(base, "masbot/templates", problems)
    if problems:
        raise TemplateError(problems)
    return common, docs


@cache
def builtin() -> Catalogue:
    """The templates shipped with masbot."""
    common, docs = _builtin_parts()
    return _build(docs.values(), common)


def check_directory(directory: str | os.PathLike[str]) -> list[Problem]:
    """Every problem with the operator's template files in ``directory``, as
    ``FILE:LINE: message`` problems (empty when all are usable).

    Reports bad YAML, unknown keys and kinds, a missing ``name``, choice fields without
    values, unknown checks and two files defining the same template.
    """
    path = Path(directory)
    if not path.is_dir():
        return [Problem(os.fspath(directory), 0, "the templates directory does not exist")]
    problems: list[Problem] = []
    _read_dir(path, os.fspath(directory), problems)
    return problems


def load(directory: str | os.PathLike[str] | None = None) -> Catalogue:
    """The built-in templates, overridden or extended by ``*.yaml`` files in ``directory``.

    Raises :class:`TemplateError` when an operator's file cannot be used (run
    :func:`check_directory` first to report every problem).
    """
    if directory is None:
        return builtin()
    common, docs = _builtin_parts()
    problems: list[Problem] = []
    docs = {**docs, **_read_dir(Path(directory), os.fspath(directory), problems)}
    if problems:
        raise TemplateError(problems)
    return _build(docs.values(), common)


OPTIONAL_HEADING = N_("Optional fields (delete any you do not need):")
"""The line between required and optional fields of a blank form; the parser ignores it
(in every language)."""
NOTES_HEADING = N_("What each field means (nothing after the \"-- \" line is read):")
ENGLISH = lang.get()


def _fillable(tpl: Template) -> list[FieldSpec]:
    return [f for f in tpl.fields if f.name != "Template" and not f.private]


def blank_form(tpl: Template, tr: Lang = ENGLISH) -> str:
    """A blank form for ``tpl`` a member can fill in on a phone, in ``tr``'s language (its
    field names, template name and help texts): the required fields first (those required
    for champions or when another field is given too), then the optional ones under a
    heading, then, after a ``-- `` signature line, one line per field saying what it means
    and every value a choice field takes.

    Everything after the ``-- `` line is ignored when the form is mailed back, so a member
    can reply with the whole text.
    """
    words = tr.words
    fields = _fillable(tpl)
    needed = [f for f in fields if not _optional(f)]
    optional = [f for f in fields if _optional(f)]

    def key(spec: FieldSpec) -> str:
        return f"{words.field_name(spec.name)}:" + ("\n- " if spec.kind == "list" else "")

    form = [f"{words.field_name('Template')}: {words.template_name(tpl.name)}",
            *(key(f) for f in needed)]
    if optional:
        form += ["", tr._(OPTIONAL_HEADING), *(key(f) for f in optional)]
    notes = ["-- ", tr._("The {template} form: {title}.", template=words.template_name(tpl.name),
                         title=words.template_title(tpl.name, tpl.title)),
             tr._(NOTES_HEADING)]
    notes += [f"{words.field_name(f.name)} ({_need(f, tr)}): "
              f"{words.help(f.name, f.help, tpl.name)}".rstrip(": ") for f in needed + optional]
    if tpl.field("Private") is not None:
        notes.append(tr._("{field} (optional): a section for the moderators only, never "
                          "published", field=words.field_name("Private")))
    return "\n".join(form + [""] + notes) + "\n"


def example_form(tpl: Template, today: date, tr: Lang = ENGLISH) -> str:
    """The template's filled-in example in ``tr``'s language (the field file's, else
    ``example:`` in the template's file), its dates counted from ``today``; a short note
    when the template has none."""
    if isinstance(today, datetime):
        today = today.date()
    own = tr.words.templates.get(tpl.name)
    example = own.example if own is not None and own.example else tpl.example
    if not example:
        return (f"{tr.words.field_name('Template')}: {tr.words.template_name(tpl.name)}\n"
                + tr._("(no example for this template yet: see the blank form)") + "\n")
    return re.sub(r"@IN_(\d{1,3})_DAYS@",
                  lambda m: (today + timedelta(days=int(m.group(1)))).isoformat(),
                  example.rstrip("\n")) + "\n"


def _optional(spec: FieldSpec) -> bool:
    return spec.required not in (True, "champion") and not spec.required_if


def _need(spec: FieldSpec, tr: Lang = ENGLISH) -> str:
    if spec.required is True:
        return tr._("required")
    if spec.required == "champion":
        return tr._("required for champions")
    if spec.required_if:
        return tr._("required when {conditions}", conditions=_or(
            [condition(n, v, tr) for n, v in spec.required_if], tr))
    return tr._("optional")


def or_word(tr: Lang) -> str:
    """The word for "or" between two choices in ``tr``'s language, with its spaces
    (``" or "``, ``" o "``), from the language's list patterns (CLDR)."""
    between = format_list(["\x00", "\x01"], style="or", locale=tr.locale)
    return between[between.index("\x00") + 1:between.index("\x01")]


def _or(items: list[str], tr: Lang) -> str:
    """``a or b or c`` in ``tr``'s language."""
    return or_word(tr).join(items)


def condition(name: str, values: tuple[str, ...], tr: Lang = ENGLISH) -> str:
    """``Status is closed`` / ``Goal is given``: a ``required-if`` condition in words, in
    ``tr``'s language."""
    field_name = tr.words.field_name(name)
    if "*" in values:
        return tr._("{field} is given", field=field_name)
    return tr._("{field} is {values}", field=field_name,
                values=_or([tr.words.value(name, v) for v in values], tr))
