"""Validation in the member's language (:mod:`masbot.story.validate` with ``tr``).

Every note comes from the catalogs: the corpora of bad forms in ``test_templates`` and
``test_validate`` give, with the Spanish :class:`~masbot.lang.Lang`, notes made only of
Spanish catalog sentences (with the member's words and the template's words filled in), and
English notes exactly as before. Spanish values (dates, "lo antes posible", amounts, times)
are read in every society, and a Spanish birth date or case number is refused as an English
one is. Forms use the canonical keys: reading Spanish keys is the form parser's part.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import cache

import pytest
from babel import Locale
from babel.messages.pofile import read_po

import test_templates
import test_validate
from masbot import lang
from masbot.lang import DIR, Lang
from masbot.lang.catalogs import catalog_problems, extract
from masbot.lang.words import load_words
from masbot.story import checks, names, privacy, when
from masbot.story import form as story
from masbot.story import templates as forms
from masbot.story import validate

CAT = forms.builtin()
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
EN, ES = lang.get("en"), lang.get("es")
OWN_FILES = ("masbot/story/validate.py", "masbot/story/checks.py", "masbot/story/privacy.py",
             "masbot/story/when.py", "masbot/story/names.py", "masbot/story/localwords.py")


def run(text: str, tr: Lang, subject: str = "") -> tuple[story.Form, validate.Validation]:
    form = story.parse(text, subject, CAT)
    return form, validate.validate(form, CAT, TODAY, NOW, tr=tr)


def own_issues(form: story.Form, validation: validate.Validation) -> list[validate.Issue]:
    """The issues validation made (not the form parser's notes, which come first)."""
    return validation.issues[len(form.notes):]


# --- every note is a Spanish catalog sentence ----------------------------------------------


@cache
def spanish_sentence() -> re.Pattern[str]:
    """One or more Spanish catalog sentences (joined by spaces, as the privacy notes are),
    with anything in their {placeholders}."""
    with (DIR / "es" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="es")
    patterns = []
    for message in catalog:
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            literal = re.sub(r"\{\w*\}", "", string or "")
            if len(re.findall(r"[^\W\d_]", literal)) < 5:
                continue  # "{field} es {values}" alone would match nearly anything
            parts = re.split(r"(\{\w*\})", string)
            patterns.append("".join(".+?" if re.fullmatch(r"\{\w*\}", p) else re.escape(p)
                                    for p in parts))
    one = "(?:" + "|".join(sorted(patterns, key=len, reverse=True)) + ")"
    return re.compile(rf"{one}(?: {one}){{0,2}}", re.DOTALL)


def corpus() -> list[tuple[str, str]]:
    """(id, form text) of every bad and warned-about sample of the validation tests."""
    out = []
    for param in [*test_templates.INVALID, *test_templates.WARNINGS]:
        template, replace, add, drop, _ = param.values
        out.append((param.id, test_templates.form_text(template, replace, add, drop)))
    for param in test_validate.INVALID:
        replace, add, _ = param.values
        out.append((f"bail-{param.id}", test_validate.form_text(replace, add)))
    out += [
        ("no-template", "Title: Help\nStory:\nPlease help.\n"),
        ("unknown-template", "Template: picnic\nTitle: Help\n"),
        ("guessed", test_validate.form_text(drop=(1,))),
        ("unknown-field", test_validate.form_text(add=["Favourite-Colour: blue"])),
        ("bad-choice", test_validate.form_text({10: "Bail-Return: maybe"})),
        ("not-a-link", test_validate.form_text({12: "Donate: give here please"})),
        ("windows", test_templates.form_text("callin", {6: "Window: tomorrow all day"})),
    ]
    return out


CORPUS = corpus()


def test_the_corpus_is_broad():
    issues = [i for _, text in CORPUS for i in own_issues(*run(text, ES))]
    assert len(CORPUS) > 100 and len(issues) > 110
    assert {i.check for i in issues} >= {"no-birth-dates", "no-case-numbers", "full-names",
                                         "minors", "medical-details"}


@pytest.mark.parametrize("text", [t for _, t in CORPUS], ids=[i for i, _ in CORPUS])
def test_every_spanish_note_is_a_catalog_sentence(text: str):
    """A note that escaped the catalog (an English literal, an f-string) fails here: it is
    no Spanish msgstr and it equals the English note."""
    form, spanish = run(text, ES)
    _, english = run(text, EN)
    es_issues, en_issues = own_issues(form, spanish), own_issues(form, english)
    assert [(i.field, i.line, i.severity, i.check) for i in es_issues] \
        == [(i.field, i.line, i.severity, i.check) for i in en_issues]
    assert spanish.values == english.values
    for es_issue, en_issue in zip(es_issues, en_issues):
        assert spanish_sentence().fullmatch(es_issue.message), es_issue.message
        assert es_issue.message != en_issue.message


def test_an_english_note_is_caught_by_the_check():
    """The check above can fail: English notes are no Spanish sentences."""
    for _, text in CORPUS[:40]:
        form, english = run(text, EN)
        for issue in own_issues(form, english):
            assert not spanish_sentence().fullmatch(issue.message), issue.message


def test_english_is_the_default_and_unchanged():
    text = test_validate.form_text({8: "Needed-By: 2026-11-01"}, ["Contact: +1 503 555 0142"])
    form = story.parse(text, "", CAT)
    default = validate.validate(form, CAT, TODAY, NOW)
    assert [str(i) for i in default.issues] == [str(i) for i in run(text, EN)[1].issues]
    assert [str(i) for i in default.issues] == [
        "Needed-By: this date is in the past",
        "Contact: a personal phone or email is only published with Contact-Public: yes; "
        "leave Contact empty to use the society's address"]


@pytest.mark.parametrize("replace, add, msgid, values", [
    ({8: "Needed-By: 2026-11-01"}, [], "this date is in the past", {}),
    ({7: "Goal: 1500 XAU"}, [], "{currency} is not an ISO 4217 currency code (USD, EUR, MXN, ...)",
     {"currency": "XAU"}),
    ({12: "Donate: https://bit.ly/x"}, [],
     "{host} is a link shortener: give the full link so readers can see where it goes",
     {"host": "bit.ly"}),
    ({14: "Nació el 5 de mayo de 1990 y trabaja en el almacén desde hace diez años; necesita"},
     [], "remove the date of birth: it is never published", {}),
])
def test_spanish_notes_are_the_catalogs_translation(replace, add, msgid, values):
    _, v = run(test_validate.form_text(replace, add), ES)
    assert ES._(msgid, **values) in [i.message for i in v.errors]
    assert ES._(msgid, **values) != EN._(msgid, **values)


# --- field names, values and reasons in the member's language ------------------------------

FIELD_FILE = """\
language: es
name: Español
commands: {help: [ayuda], template: [plantilla], example: [ejemplo]}
templates:
  bail: {name: fianza, title: Fianza}
privacy:
  full-names: un nombre completo permite encontrar a la persona
fields:
  Needed-By: {name: Fecha-Límite}
  Filed-By: {name: Presentado-Por, values: {self: yo, champion: representante}}
  Consent: {name: Consentimiento, values: {direct: directo, prior: previo, lawyer: abogado,
            pending: pendiente}}
  Relation:
    name: Relación
    help: qué es usted de la persona
  Bail-Return: {name: Devolución, values: {fund: fondo, donors: donantes, person: persona}}
  Template: {name: Plantilla}
"""


@pytest.fixture
def spanish(tmp_path) -> Lang:
    """Spanish with a field file of its own (the shipped one is filled in elsewhere)."""
    path = tmp_path / "fields.yaml"
    path.write_text(FIELD_FILE, encoding="utf-8")
    return Lang("es", ES.translations, load_words(path), Locale.parse("es"))


def test_str_shows_the_field_as_the_member_writes_it(spanish):
    _, v = run(test_validate.form_text({8: "Needed-By: 2026-11-01"}), spanish)
    [issue] = v.errors
    assert issue.field == "Needed-By" and issue.shown_field == "Fecha-Límite"
    assert str(issue) == "Fecha-Límite: esta fecha ya pasó"


def test_choice_values_are_read_and_listed_in_the_members_language(spanish):
    _, v = run(test_validate.form_text({10: "Bail-Return: Donantes"}), spanish)
    assert v.ok and v.values["Bail-Return"] == "donors"
    _, v = run(test_validate.form_text({10: "Bail-Return: quizás"}), spanish)
    assert [str(i) for i in v.errors] == [
        "Devolución: «quizás» no es ninguno de estos: fondo, donantes, persona"]


def test_a_spanish_champion_is_told_in_spanish(spanish):
    _, v = run(test_validate.form_text({3: "Filed-By: representante"}), spanish)
    assert "Relación: este campo es obligatorio (usted presenta la solicitud como "\
           "representante): qué es usted de la persona" in [str(i) for i in v.errors]


def test_the_template_may_be_named_in_spanish(spanish):
    _, v = run(test_validate.form_text({1: "Template: Fianza"}), spanish)
    assert v.template is not None and v.template.name == "bail" and v.ok
    _, v = run(test_validate.form_text({1: "Template: picnic"}), spanish)
    assert [str(i) for i in v.errors] == [
        "Plantilla: «picnic» no es una plantilla; escriba Plantilla: seguido de una de estas: "
        + ", ".join(spanish.words.template_name(n) for n in CAT.names())]


def test_privacy_reasons_and_consent_are_in_spanish(spanish):
    story_line = {14: "Maria Lopez was arrested at the rally on Friday and cannot pay the "
                      "bail. I need"}
    _, v = run(test_validate.form_text({**story_line, **test_validate.CHAMPION},
                                       test_validate.CHAMPION_ADD), spanish)
    [issue] = [i for i in v.errors if i.check == "full-names"]
    assert str(issue) == (
        "Story: «Maria Lopez» parece un nombre completo. Con Consentimiento: previo, publique "
        "solo un nombre de pila, un alias o iniciales. Por qué: un nombre completo permite "
        "encontrar a la persona")


# --- Spanish values are read in every society ----------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("5 de diciembre de 2026", "2026-12-05"), ("viernes 4 de diciembre de 2026", "2026-12-04"),
    ("5 dic. 2026", "2026-12-05"), ("dic 5", "2026-12-05"), ("1º de diciembre", "2026-12-01"),
    ("primero de diciembre", "2026-12-01"), ("18-dic-2026", "2026-12-18"),
    ("December 18th, 2026", "2026-12-18"), ("Friday, 18 Dec 2026", "2026-12-18"),
    ("hoy", TODAY.isoformat()), ("Mañana", (TODAY + timedelta(days=1)).isoformat()),
    ("pasado mañana", (TODAY + timedelta(days=2)).isoformat()),
    ("tomorrow", (TODAY + timedelta(days=1)).isoformat()),
    ("lo antes posible", "ASAP"), ("Lo más pronto posible", "ASAP"), ("cuanto antes", "ASAP"),
    ("URGENTE", "ASAP"), ("de inmediato", "ASAP"), ("ASAP", "ASAP"),
])
def test_dates_and_asap_in_spanish(text, value):
    assert checks.date_or_asap(text, TODAY) == (value, [])
    _, v = run(test_validate.form_text({8: f"Needed-By: {text}"}), EN)
    assert v.ok and v.values["Needed-By"] == value


@pytest.mark.parametrize("text", ["12/01/2026", "el mes que viene", "5 de diciembre de 26"])
def test_dates_that_are_not_clear_are_refused(text):
    assert checks.date_or_asap(text, TODAY)[1] == [
        "write a date like 2026-12-18, or ASAP"]
    assert checks.date_or_asap(text, TODAY, tr=ES)[1] == [
        "escriba una fecha como 2026-12-18 o 18 de diciembre de 2026, o «lo antes posible»"]


def test_asap_is_no_date_where_a_date_is_needed():
    assert checks.future_date("lo antes posible", TODAY, tr=ES) == (
        "lo antes posible", ["escriba la fecha, como 2026-12-18 o 18 de diciembre de 2026"])


@pytest.mark.parametrize("text, value", [
    ("2.500 USD", "2500 USD"), ("US$ 2.500", "2500 USD"), ("2.500,50 USD", "2500.50 USD"),
    ("2.500 dólares estadounidenses", "2500 USD"), ("2500 euros", "2500 EUR"),
    ("3.000 pesos mexicanos", "3000 MXN"), ("MX$ 3000", "3000 MXN"), ("€2.500", "2500 EUR"),
])
def test_amounts_written_the_spanish_way(text, value):
    assert checks.amount(text) == (value, [])


@pytest.mark.parametrize("text, word", [("2500 dólares", "dólares"), ("2.500 pesos", "pesos")])
def test_a_currency_word_many_currencies_share_is_asked_about(text, word):
    assert checks.amount(text, tr=ES) == (text, [
        f"«{word}» se usa para varias monedas: escriba el código, como 2500 USD o 2500 MXN"])


@pytest.mark.parametrize("text, value", [
    ("5 de diciembre de 2026 a las 17:30 America/Mexico_City",
     "2026-12-05 17:30 America/Mexico_City"),
    ("5 de diciembre de 2026, 17:30 h America/Mexico_City", "2026-12-05 17:30 America/Mexico_City"),
    ("5 dic 2026 4 de la tarde America/Bogota", "2026-12-05 16:00 America/Bogota"),
    ("mañana a las 10:00 America/Lima", "2026-11-24 10:00 America/Lima"),
])
def test_times_in_spanish(text, value):
    assert when.future_moment(text, NOW) == (value, [])


@pytest.mark.parametrize("text, value", [
    ("1 de diciembre de 2026 de 9:00 a 17:00 America/Mexico_City",
     "2026-12-01 09:00–17:00 America/Mexico_City"),
    ("1 dic 2026 desde las 9:00 hasta las 17:00 America/Bogota",
     "2026-12-01 09:00–17:00 America/Bogota"),
])
def test_call_in_windows_in_spanish(text, value):
    assert when.window(text, NOW) == (value, [])


@pytest.mark.parametrize("text, value", [
    ("inmediato", "immediate"), ("para publicación inmediata", "immediate"),
    ("embargado hasta 5 de diciembre de 2026 10:00 America/Mexico_City",
     "embargoed until 2026-12-05 10:00 America/Mexico_City"),
    ("no publicar antes del 5 de diciembre de 2026 a las 10:00 UTC",
     "embargoed until 2026-12-05 10:00 UTC"),
])
def test_press_releases_in_spanish(text, value):
    assert when.release(text, NOW) == (value, [])


def test_time_notes_in_spanish():
    assert when.future_moment("2026-11-01 10:00 America/Lima", NOW, tr=ES)[1] == [
        "esta hora ya pasó"]
    assert when.future_moment("5 de diciembre 17:30 PST", NOW, tr=ES)[1] == [
        "«PST» no es el nombre de una zona horaria: escriba el nombre de una región como "
        "America/Mexico_City o America/Bogota"]


@pytest.mark.parametrize("text, tag", [("español", "es"), ("Spanish", "es"),
                                       ("castellano", "es"), ("inglés", "en")])
def test_a_language_may_be_named(text, tag):
    assert checks.language(text) == (tag, [])


# --- Spanish privacy: refused in every society, as English is ------------------------------

SPANISH_STORY = [
    "Nació el 5 de mayo de 1990 y trabaja en el almacén desde hace diez años; necesita",
    "Su fecha de nacimiento es 03/04/1990 y trabaja en el almacén desde hace diez años; ya",
    "Nacida el 3 de marzo, trabaja en el almacén desde hace diez años y cuida a su gato; ya",
    "Su cumpleaños es el 12 de junio y trabaja en el almacén desde hace diez años; necesita",
    "Número de caso 2026-114532: trabaja en el almacén desde hace diez años y necesita",
    "El expediente 2026-CR-1145 sigue abierto; trabaja en el almacén desde hace diez años",
    "Caso número 12345: trabaja en el almacén desde hace diez años y cuida a su gato; necesita",
    "Su número de seguro social 123 45 6789 quedó en el juzgado; trabaja en el almacén y",
]


@pytest.mark.parametrize("line", SPANISH_STORY)
@pytest.mark.parametrize("tr", [EN, ES], ids=["en", "es"])
def test_spanish_identifiers_are_refused(line, tr):
    _, v = run(test_validate.form_text({14: line}), tr)
    assert not v.ok
    assert {i.check for i in v.errors} & {"no-birth-dates", "no-case-numbers", "no-ssn"}


@pytest.mark.parametrize("line", [
    "Nació en México y trabaja en el almacén desde hace diez años; necesita salir el lunes",
    "En caso de que 1000 personas compartan esto, la fianza de 1500 USD se paga hoy mismo y",
    "Lleva detenido 120 días en la cárcel del condado y trabaja en el almacén desde hace años",
    "Nos vemos el 5 de mayo en la plaza; trabaja en el almacén desde hace diez años y necesita",
])
def test_ordinary_spanish_stories_pass(line):
    _, v = run(test_validate.form_text({14: line}), ES)
    assert v.ok, [str(i) for i in v.issues]


@pytest.mark.parametrize("text", ["Calle Falsa 123, Tijuana", "Av. Juárez #45",
                                  "Avenida 5 de Mayo 120", "depto 4B, Torre Sur"])
def test_spanish_street_addresses_are_refused(text):
    assert checks.location(text, tr=ES) == [
        "indique solo el pueblo o la ciudad y la región, nunca una dirección con calle y número"]


@pytest.mark.parametrize("text", ["Tijuana, BC", "Plaza de Armas", "Avenida 5 de Mayo"])
def test_spanish_places_pass(text):
    assert checks.location(text) == [] and checks.public_place(text) == []


def test_a_home_is_no_public_place_in_spanish():
    assert checks.public_place("en la casa de mi tía", tr=ES) == [
        "reúnanse en un lugar público como «la plaza principal», nunca en la casa de alguien"]


def test_spanish_arrestee_names_and_narrated_events():
    texts = [("Story", "Fue detenida María Pérez anoche. José Ramírez fue arrestado.")]
    found = privacy.lint(["no-arrestee-names"], texts, {"Kind": "jail-support"}, tr=ES)
    assert [f.match for f in found] == ["María Pérez", "José Ramírez"]
    assert found[0].message.startswith("no nombre a las personas detenidas")
    found = privacy.lint(["narrated-events"], [("Story", "Según la policía, él lanzó una piedra.")])
    assert [f.match for f in found] == ["Según la policía", "él lanzó"]


@pytest.mark.parametrize("text, found", [
    ("Nuestra compañera Ana Gómez fue detenida en Tijuana.", ["Ana Gómez"]),
    ("Vive cerca de Nuestra Señora de Guadalupe.", []),
    ("Hola, Somos Vecinos Unidos de Boyle Heights.", []),
    ("El Comité de Defensa Legal de Tijuana paga la fianza.", []),
    ("Sr. Gómez nos ayudó con la renta.", []),
])
def test_names_in_spanish_stories(text, found):
    """Words the lists write with accents ("señora", "comité") match without them too."""
    assert [f.text for f in names.find(text)] == found


def test_spanish_public_targets():
    assert checks.public_target("Alcaldía de Tijuana") == []
    assert checks.public_target("Juana Pérez", tr=ES) == [
        "nombre una oficina o institución (como «Oficina de la alcaldesa Juana Pérez» o "
        "«Concejo Municipal de Ciudad Ejemplo»), nunca a una persona particular"]


def test_spanish_needs_items_say_how_many():
    assert checks.has_quantity("diez lonas") and not checks.has_quantity("lonas")


# --- the catalog holds every sentence of these files ---------------------------------------


def test_the_spanish_catalog_has_every_validation_sentence():
    template = extract()
    ours = {m.id for m in template if m.id and any(path in OWN_FILES
                                                   for path, _ in m.locations)}
    assert len(ours) > 90
    keys = {repr(i if isinstance(i, str) else i[0]) for i in ours}
    problems = [p for p in catalog_problems("es", template)
                if any(f": {k}:" in p for k in keys)]
    assert problems == []
