"""Forms and commands in the member's language: Spanish field names, template names and
choice values are read in any society, written the canonical way, and tell the language of
the answer."""

from __future__ import annotations

import re
from datetime import date

import pytest

from masbot import lang
from masbot.intake import commands
from masbot.story.form import parse
from masbot.story.templates import builtin, normalise_key
from masbot.story.validate import validate

TODAY = date(2026, 11, 29)
ES = lang.get("es").words


def spanish_example(name: str) -> str:
    return re.sub(r"@IN_(\d+)_DAYS@", lambda m: date.fromordinal(
        TODAY.toordinal() + int(m.group(1))).isoformat(), ES.templates[name].example)


@pytest.mark.parametrize("name", sorted(ES.templates))
def test_every_spanish_example_is_read_as_its_template_in_spanish(name):
    form = parse(spanish_example(name), "", builtin())
    assert form.template_name == name
    assert form.language == "es"
    assert validate(form, builtin(), TODAY).ok, [str(i) for i in validate(form, builtin(), TODAY).issues]


def test_spanish_keys_without_accents_and_values_become_canonical():
    title = ES.field_name("Title")
    assert title != "Title"
    plain = normalise_key(title)  # "titulo": no accent, as many phones type it
    form = parse(f"{ES.field_name('Template')}: {ES.template_name('bail')}\n"
                 f"{plain.capitalize()}: Ayuda\n"
                 f"{ES.field_name('Filed-By')}: {ES.value('Filed-By', 'champion').upper()}\n",
                 "", builtin())
    assert plain.isascii()
    assert form.template_name == "bail"
    assert form.value("Title") == "Ayuda"
    assert form.value("Filed-By") == "champion", "a Spanish value is written the canonical way"
    assert form.language == "es"


def test_the_subject_tag_may_name_the_template_in_spanish():
    form = parse(f"{ES.field_name('Title')}: Ayuda\n", f"[{ES.template_name('housing')}] Casa",
                 builtin())
    assert form.template_name == "housing"


def test_english_keys_with_english_text_are_english_and_with_spanish_text_spanish():
    english = parse("Template: hardship\nTitle: Help Rosa\nStory:\nRosa lost her job and "
                    "the rent is due on Monday, and we ask for help from all of you.\n",
                    "", builtin())
    assert english.language == "en"
    spanish = parse("Template: hardship\nTitle: Ayuda para Rosa\nStory:\nRosa perdió su "
                    "trabajo y la renta se vence el lunes, y pedimos ayuda a todas las "
                    "personas de la sociedad.\n", "", builtin())
    assert spanish.language == "es"
    short = parse("Template: hardship\nTitle: Rosa\n", "", builtin())
    assert short.language is None, "the canonical keys alone do not tell: the society's"
    assert parse("Hola\n", "", builtin()).language is None, "nothing tells: the society's"


@pytest.mark.parametrize("line, verb, name, example, language", [
    ("ayuda", "help", "", False, "es"),
    ("¡Ayuda!", "help", "", False, "es"),
    ("plantilla fianza", "template", "fianza", False, "es"),
    ("Plantilla FIANZA ejemplo", "template", "FIANZA", True, "es"),
    ("formulario vivienda", "template", "vivienda", False, "es"),
    ("template bail example", "template", "bail", True, "en"),
    ("help", "help", "", False, "en"),
    ("help me", "help", "me", False, "en"),
])
def test_commands_in_every_language(line, verb, name, example, language):
    command = commands.read(line, builtin())
    assert command is not None
    assert (command.verb, command.name, command.example, command.language) == \
        (verb, name, example, language)
    if name and name != "me":
        assert builtin().template(name) is not None


@pytest.mark.parametrize("line", ["help me please", "ayuda por favor ahora", "Título: x",
                                  "plantilla fianza ahora", "Hola"])
def test_prose_is_not_a_command(line):
    assert commands.read(line, builtin()) is None


def test_no_spanish_spelling_takes_an_english_one():
    """A spelling two fields claim keeps its canonical (English) meaning."""
    catalogue = builtin()
    for tpl in catalogue.templates.values():
        for spec in tpl.fields:
            assert catalogue.canonical_key(spec.name) == spec.name
