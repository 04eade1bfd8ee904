"""The template vocabularies (masbot/lang/CODE/fields.yaml; Spanish ships): complete,
unambiguous, and their example forms in step with the English ones.

Every language with a field file is checked, so a new language gets these tests too."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from masbot import lang
from masbot.lang.catalogs import languages, words_problems
from masbot.lang.words import Words
from masbot.story.form import parse
from masbot.story.templates import Template, builtin, example_form, normalise_key
from masbot.story.validate import validate

CATALOGUE = builtin()
CODES = languages()
EXAMPLES = sorted(name for name, tpl in CATALOGUE.templates.items() if tpl.example)
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
_KEY_LINE = re.compile(r"^([^\s:>-][^:]*):(.*)$")


def fold(spelling: str) -> str:
    """How a key or value compares: case, ``-``/``_``/space and accents do not count."""
    decomposed = unicodedata.normalize("NFKD", normalise_key(spelling))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(code: str) -> Words:
    return lang.get(code).words


def english_spellings() -> dict[str, set[str]]:
    """Every English key spelling (names and synonyms of every template), folded, and the
    canonical fields it names."""
    out: dict[str, set[str]] = {}
    for tpl in CATALOGUE.templates.values():
        for spec in tpl.fields:
            for spelling in (spec.name, *spec.synonyms):
                out.setdefault(fold(spelling), set()).add(spec.name)
    return out


def spellings(code: str) -> dict[str, set[str]]:
    """Every key spelling of language ``code``, folded, and the canonical fields it names."""
    out: dict[str, set[str]] = {}
    for canonical, field_words in words(code).fields.items():
        for spelling in (field_words.name, *field_words.synonyms):
            out.setdefault(fold(spelling), set()).add(canonical)
    return out


def test_spanish_ships():
    assert "es" in CODES and words("es").code == "es"


@pytest.mark.parametrize("code", CODES)
def test_the_field_file_is_complete(code):
    assert words_problems(code) == []


@pytest.mark.parametrize("code", CODES)
def test_no_two_fields_share_a_spelling(code):
    shared = {s: f for s, f in spellings(code).items() if len(f) > 1}
    assert shared == {}


@pytest.mark.parametrize("code", CODES)
def test_no_spelling_is_another_fields_english_one(code):
    english = english_spellings()
    clashes = {s: (sorted(fields), sorted(english[s]))
               for s, fields in spellings(code).items()
               if s in english and english[s] != fields}
    assert clashes == {}


@pytest.mark.parametrize("code", CODES)
def test_field_names_are_capitalised_and_hyphen_joined(code):
    for canonical, field_words in words(code).fields.items():
        for spelling in (field_words.name, *field_words.synonyms):
            parts = spelling.split("-")
            assert spelling[:1].isupper() and all(re.fullmatch(r"[^\W_]+", p) for p in parts), \
                (canonical, spelling)


@pytest.mark.parametrize("code", CODES)
def test_template_names_are_one_word_and_unambiguous(code):
    seen: dict[str, str] = {}
    for canonical, template_words in words(code).templates.items():
        spelling = fold(template_words.name)
        # ASCII: the commands ("plantilla fianza") and subject tags ("[fianza]") are typed
        assert re.fullmatch(r"[a-z]+", spelling), template_words.name
        assert spelling not in seen, (canonical, seen.get(spelling))
        assert spelling not in CATALOGUE.templates or spelling == canonical, canonical
        seen[spelling] = canonical


@pytest.mark.parametrize("code", CODES)
def test_choice_values_are_distinct_words(code):
    for canonical, field_words in words(code).fields.items():
        folded = [fold(v) for v in field_words.values.values()]
        assert len(set(folded)) == len(folded), canonical
        for value, spelled in field_words.values.items():
            assert spelled == spelled.lower() and all(
                re.fullmatch(r"[^\W\d_]+", p) for p in spelled.split("-")), (canonical, spelled)
            # a word that is another value's English word would be read as that one
            others = {fold(v) for v in field_words.values if v != value}
            assert fold(spelled) not in others, (canonical, value, spelled)


def canonical_form(code: str, text: str) -> str:
    """A form in language ``code`` with its keys, template name and choice values written
    the canonical way, through the field file alone."""
    vocabulary = words(code)
    keys = {s: next(iter(f)) for s, f in spellings(code).items()}
    templates = {fold(w.name): name for name, w in vocabulary.templates.items()}
    out = []
    for line in text.splitlines():
        m = _KEY_LINE.match(line)
        if m is None or fold(m.group(1)) not in keys:
            out.append(line)
            continue
        name, value = keys[fold(m.group(1))], m.group(2).strip()
        if name == "Template":
            value = templates.get(fold(value), value)
        values = {fold(s): v for v, s in vocabulary.fields[name].values.items()}
        value = values.get(fold(value), value)
        out.append(f"{name}: {value}".rstrip())
    return "\n".join(out) + "\n"


def translated_example(code: str, tpl: Template) -> str:
    return example_form(replace(tpl, example=words(code).templates[tpl.name].example), TODAY)


EXAMPLE_CASES = [(code, name) for code in CODES for name in EXAMPLES]


@pytest.mark.parametrize("code, name", EXAMPLE_CASES)
def test_the_example_has_the_english_examples_fields(code, name):
    tpl = CATALOGUE.templates[name]
    english = parse(example_form(tpl, TODAY), "", CATALOGUE)
    translated = parse(canonical_form(code, translated_example(code, tpl)), "", CATALOGUE)
    assert translated.template_name == name
    assert set(translated.entries) == set(english.entries)


@pytest.mark.parametrize("code, name", EXAMPLE_CASES)
def test_the_example_is_written_in_its_language(code, name):
    """Every key and choice value of the example is a spelling of its language (an English
    key would pass the field comparison above unnoticed)."""
    own = spellings(code)
    english_only = set(english_spellings()) - set(own)
    for line in translated_example(code, CATALOGUE.templates[name]).splitlines():
        m = _KEY_LINE.match(line)
        if m is None:
            continue
        key = fold(m.group(1))
        assert key not in english_only, line
        if key == fold(words(code).field_name("Template")):
            assert fold(m.group(2)) == fold(words(code).template_name(name)), line
        elif fields := own.get(key):
            field_words = words(code).fields[next(iter(fields))]
            value = m.group(2).strip()
            if field_words.values and value:
                assert fold(value) in {fold(v) for v in field_words.values.values()}, line


@pytest.mark.parametrize("code, name", EXAMPLE_CASES)
def test_the_example_passes_validation(code, name):
    """Read with the canonical keys, the example is a clean form: its free text trips no
    privacy rule and no check."""
    form = parse(canonical_form(code, translated_example(code, CATALOGUE.templates[name])),
                 "", CATALOGUE)
    result = validate(form, CATALOGUE, TODAY, NOW)
    assert [str(i) for i in result.issues] == []
