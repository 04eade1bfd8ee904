"""Building and checking the message catalogs (``scripts/catalogs.py`` runs these).

The sentences are extracted from masbot's Python (``_``, ``ngettext`` and ``N_`` calls) and
Jinja templates (``_`` calls) with Babel into ``masbot/lang/messages.pot``; each language's
``messages.po`` is updated from it and compiled to ``messages.mo``. :func:`problems` is what
the test suite runs: a language lacking a sentence, holding a stale or fuzzy one, or whose
translation drops or invents a ``{placeholder}``, fails it; so does a field file that lacks a
template, field, help text or choice value of the built-in templates, or names one that is
gone.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from masbot.lang import DEFAULT, DIR, available
from masbot.lang.words import WordsError, load_words

PACKAGE = DIR.parent
POT = DIR / "messages.pot"
METHODS = [("**.py", "python"), ("templates/**.j2", "jinja2")]
OPTIONS = {"templates/**.j2": {"extensions": "jinja2.ext.do", "trimmed": "true"}}
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
_PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def extract() -> Catalog:
    """Every sentence in the code, as a catalog template."""
    catalog = Catalog(project="masbot", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            PACKAGE, method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        catalog.add(message, None, [(f"masbot/{filename}", lineno)],
                    auto_comments=comments, context=context)
    return catalog


def _read(path: Path, code: str) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=code)


def _write_po(path: Path, catalog: Catalog, **options: bool) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, **options)
    path.write_bytes(buffer.getvalue())


def update() -> list[Path]:
    """Write the .pot and bring every language's .po up to date with it (new sentences
    untranslated, stale ones dropped); returns the files written."""
    template = extract()
    _write_po(POT, template, omit_header=False)
    written = [POT]
    for code in languages():
        po = DIR / code / "messages.po"
        catalog = _read(po, code) if po.stat().st_size else Catalog(locale=code)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        _write_po(po, catalog, ignore_obsolete=True)
        written.append(po)
    return written


def compile_all() -> list[Path]:
    """Compile every language's .po to the .mo masbot loads; returns the files written."""
    written = []
    for code in languages():
        mo = DIR / code / "messages.mo"
        with mo.open("wb") as f:
            write_mo(f, _read(DIR / code / "messages.po", code))
        written.append(mo)
    return written


def languages() -> tuple[str, ...]:
    """The languages that have catalogs (every one but the source language)."""
    return tuple(code for code in available() if code != DEFAULT)


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def catalog_problems(code: str, template: Catalog) -> list[str]:
    """What is wrong with one language's catalog against the sentences in the code."""
    po = DIR / code / "messages.po"
    catalog = _read(po, code)
    out = []
    wanted = {m.id for m in template if m.id}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        where = f"{po}: {key!r}"
        if message.id not in wanted:
            out.append(f"{where}: stale (no longer in the code): run scripts/catalogs.py update")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            out.append(f"{where}: not translated" + (" (fuzzy)" if message.fuzzy else ""))
            continue
        ids = [str(i) for i in (message.id if isinstance(message.id, tuple) else (message.id,))]
        expected = set().union(*(_placeholders(i) for i in ids))
        for string in strings:
            got = _placeholders(str(string))
            if got - expected or (_placeholders(ids[0]) - {"n"}) - got:
                out.append(f"{where}: the translation's {{placeholders}} differ: {string!r}")
    have = {m.id for m in catalog if m.id}
    for message_id in sorted(wanted - have, key=str):
        out.append(f"{po}: {message_id!r}: missing: run scripts/catalogs.py update")
    if catalog.obsolete:
        out.append(f"{po}: {len(catalog.obsolete)} obsolete entries: run scripts/catalogs.py update")
    return out


def words_problems(code: str) -> list[str]:
    """What the field file of one language lacks or has in excess for the built-in
    templates."""
    from masbot.story.templates import builtin
    path = DIR / code / "fields.yaml"
    try:
        words = load_words(path)
    except WordsError as exc:
        return [str(exc)]
    out = []
    catalogue = builtin()
    for name, tpl in sorted(catalogue.templates.items()):
        got = words.templates.get(name)
        if got is None or not got.title:
            out.append(f"{path}: templates: {name}: missing (a name and a title)")
        elif tpl.example and not got.example:
            out.append(f"{path}: templates: {name}: the example form is missing")
    for name in sorted(set(words.templates) - set(catalogue.templates)):
        out.append(f"{path}: templates: {name}: stale (no such template)")
    values: dict[str, set[str]] = {}
    for tpl in catalogue.templates.values():
        for spec in tpl.fields:
            values.setdefault(spec.name, set()).update(spec.values)
            if spec.name in words.fields and spec.help \
                    and not words.help(spec.name, "", tpl.name):
                out.append(f"{path}: fields: {spec.name}: the help text for {tpl.name} is "
                           "missing")
    for name in sorted(values):
        field_words = words.fields.get(name)
        if field_words is None:
            out.append(f"{path}: fields: {name}: missing")
            continue
        for value in sorted(values[name] - set(field_words.values)):
            out.append(f"{path}: fields: {name}: values: {value}: missing")
        for value in sorted(set(field_words.values) - values[name]):
            out.append(f"{path}: fields: {name}: values: {value}: stale (no such value)")
    for name in sorted(set(words.fields) - set(values)):
        out.append(f"{path}: fields: {name}: stale (no such field)")
    rules = {rule.name for tpl in catalogue.templates.values() for rule in tpl.privacy
             if rule.why}
    for rule_name in sorted(rules - set(words.privacy)):
        out.append(f"{path}: privacy: {rule_name}: missing")
    for rule_name in sorted(set(words.privacy) - rules):
        out.append(f"{path}: privacy: {rule_name}: stale (no such rule)")
    for verb in ("help", "template", "example"):
        if not words.commands.get(verb):
            out.append(f"{path}: commands: {verb}: missing")
    return out


def problems() -> list[str]:
    """Everything that keeps the languages from being complete; empty when all are."""
    template = extract()
    out = []
    for code in languages():
        out += catalog_problems(code, template)
        out += words_problems(code)
    return out
