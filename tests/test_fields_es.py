"""The Spanish template vocabulary (masbot/lang/es/fields.yaml): complete, unambiguous, and
its example forms in step with the English ones."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from masbot import lang
from masbot.lang.catalogs import words_problems
from masbot.lang.words import Words
from masbot.story.form import parse
from masbot.story.templates import Template, builtin, example_form, normalise_key
from masbot.story.validate import validate

WORDS: Words = lang.get("es").words
CATALOGUE = builtin()
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
_KEY_LINE = re.compile(r"^([^\s:>-][^:]*):(.*)$")


def fold(spelling: str) -> str:
    """How a key or value compares: case, ``-``/``_``/space and accents do not count."""
    decomposed = unicodedata.normalize("NFKD", normalise_key(spelling))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def english_spellings() -> dict[str, set[str]]:
    """Every English key spelling (names and synonyms of every template), folded, and the
    canonical fields it names."""
    out: dict[str, set[str]] = {}
    for tpl in CATALOGUE.templates.values():
        for spec in tpl.fields:
            for spelling in (spec.name, *spec.synonyms):
                out.setdefault(fold(spelling), set()).add(spec.name)
    return out


def spanish_spellings() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for canonical, words in WORDS.fields.items():
        for spelling in (words.name, *words.synonyms):
            out.setdefault(fold(spelling), set()).add(canonical)
    return out


def test_the_spanish_field_file_is_complete():
    assert WORDS.code == "es"
    assert words_problems("es") == []


def test_no_two_fields_share_a_spanish_spelling():
    shared = {s: f for s, f in spanish_spellings().items() if len(f) > 1}
    assert shared == {}


def test_no_spanish_spelling_is_another_fields_english_one():
    english = english_spellings()
    clashes = {s: (sorted(fields), sorted(english[s]))
               for s, fields in spanish_spellings().items()
               if s in english and english[s] != fields}
    assert clashes == {}


def test_field_names_are_capitalised_and_hyphen_joined():
    for canonical, words in WORDS.fields.items():
        for spelling in (words.name, *words.synonyms):
            assert re.fullmatch(r"[A-ZÁÉÍÓÚÑ][\wáéíóúüñ]*(-[\wÁÉÍÓÚÑáéíóúüñ]+)*", spelling), \
                (canonical, spelling)


def test_template_names_are_one_word_and_unambiguous():
    english = {name: name for name in CATALOGUE.templates}
    seen: dict[str, str] = {}
    for canonical, words in WORDS.templates.items():
        spelling = fold(words.name)
        assert re.fullmatch(r"[a-z]+", spelling), words.name
        assert spelling not in seen, (canonical, seen.get(spelling))
        assert english.get(spelling, canonical) == canonical, (canonical, words.name)
        seen[spelling] = canonical


def test_choice_values_are_distinct_words():
    for canonical, words in WORDS.fields.items():
        folded = [fold(v) for v in words.values.values()]
        assert len(set(folded)) == len(folded), canonical
        for value, spanish in words.values.items():
            assert re.fullmatch(r"[a-záéíóúüñ]+(-[a-záéíóúüñ]+)*", spanish), (canonical, spanish)
            # a Spanish word that is another value's English word would be read as that one
            others = {fold(v) for v in words.values if v != value}
            assert fold(spanish) not in others, (canonical, value, spanish)


def canonical_form(spanish: str) -> str:
    """A Spanish form with its keys, template name and choice values written the canonical
    way, through the field file alone."""
    keys = {s: next(iter(f)) for s, f in spanish_spellings().items()}
    templates = {fold(w.name): name for name, w in WORDS.templates.items()}
    out = []
    for line in spanish.splitlines():
        m = _KEY_LINE.match(line)
        if m is None or fold(m.group(1)) not in keys:
            out.append(line)
            continue
        name, value = keys[fold(m.group(1))], m.group(2).strip()
        if name == "Template":
            value = templates.get(fold(value), value)
        values = {fold(s): v for v, s in WORDS.fields[name].values.items()}
        value = values.get(fold(value), value)
        out.append(f"{name}: {value}".rstrip())
    return "\n".join(out) + "\n"


def spanish_example(tpl: Template) -> str:
    return example_form(replace(tpl, example=WORDS.templates[tpl.name].example), TODAY)


EXAMPLES = sorted(name for name, tpl in CATALOGUE.templates.items() if tpl.example)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_spanish_example_has_the_english_examples_fields(name):
    tpl = CATALOGUE.templates[name]
    english = parse(example_form(tpl, TODAY), "", CATALOGUE)
    spanish = parse(canonical_form(spanish_example(tpl)), "", CATALOGUE)
    assert spanish.template_name == name
    assert set(spanish.entries) == set(english.entries)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_spanish_example_is_written_in_spanish(name):
    """Every key and choice value of the example is a Spanish spelling (an English one would
    pass the field comparison above unnoticed)."""
    spanish = spanish_spellings()
    english_only = set(english_spellings()) - set(spanish)
    for line in spanish_example(CATALOGUE.templates[name]).splitlines():
        m = _KEY_LINE.match(line)
        if m is None:
            continue
        key = fold(m.group(1))
        assert key not in english_only, line
        fields = spanish.get(key)
        if fields:
            words = WORDS.fields[next(iter(fields))]
            value = m.group(2).strip()
            if words.values and value:
                assert fold(value) in {fold(v) for v in words.values.values()}, line


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_spanish_example_passes_validation(name):
    """Read with the canonical keys, the example is a clean form: its Spanish free text
    trips no privacy rule and no check."""
    form = parse(canonical_form(spanish_example(CATALOGUE.templates[name])), "", CATALOGUE)
    result = validate(form, CATALOGUE, TODAY, NOW)
    assert [str(i) for i in result.issues] == []
