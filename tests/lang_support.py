"""Spanish appeals for the reading renderings' tests, and the Spanish language to read them in.

The appeals are canonical texts as a Spanish-speaking member's request gives them: the
language-neutral English keys, ``Language: es`` and Spanish free text.

:func:`use_spanish` points :mod:`masbot.lang` at a directory holding the shipped Spanish
catalog and a field file: the shipped ``masbot/lang/es/fields.yaml`` once it gives the
fields, else one written here that labels every field of the built-in templates (so the tests
hold both before and after the real file lands). Tests compare with
``tr.words.label(...)``, never with a Spanish word written here.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

from masbot import lang
from masbot.appeal.canonical import Appeal
from masbot.lang.words import load_words
from masbot.story.templates import builtin

SOCIETY = "Anytown Mutual Aid"
DONATE = "https://fondodefianzas.example/donar/lupe"


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc)


def fianza() -> Appeal:
    """A Spanish bail appeal filed by a champion: amounts, a deadline, a choice value."""
    return Appeal("ANYTOWN-2026-0005", 1, SOCIETY, _at(24), date(2026, 12, 24), "open",
                  "mas@anytown.example", (
                      ("Template", "bail"), ("Language", "es"),
                      ("Title", "Fianza para Lupe, detenida desde la marcha"),
                      ("Filed-By", "champion"), ("Relation", "compañera de casa"),
                      ("Consent", "prior"), ("Name-To-Publish", "Lupe R."),
                      ("Location", "San Antonio, TX"),
                      ("Held-At", "Cárcel del Condado de Bexar"), ("Bail", "2500 USD"),
                      ("Posted-By", "Fondo Comunitario de Fianzas"), ("Bail-Return", "fund"),
                      ("Goal", "2500 USD"), ("Needed-By", "2026-12-05"), ("Donate", (DONATE,)),
                      ("Funds-Holder", "El fondo paga la fianza directamente"),
                      ("Story", "Lupe cocina cada semana en nuestro banco de comida.\n"
                                "Desde el sábado está detenida por una fianza que no puede "
                                "pagar.\n\n- estudia enfermería\n- sus exámenes son la "
                                "semana próxima"),
                      ("Funds-Use", ("2500 USD de fianza pagada por el fondo",
                                     "lo que sobre queda en el fondo")),
                      ("How-To-Help", "Done en el enlace y comparta este llamado."),
                      ("Tags", ("fianza", "marcha"))))


def vigilia() -> Appeal:
    """A Spanish gathering: times with a zone, a list, an .ics."""
    return Appeal("ANYTOWN-2026-0006", 1, SOCIETY, _at(25), date(2026, 12, 10), "open",
                  "mas@anytown.example", (
                      ("Template", "gathering"), ("Language", "es"),
                      ("Title", "Vigilia frente a la cárcel del condado"),
                      ("Filed-By", "self"), ("Location", "Anytown, OR"), ("Kind", "vigil"),
                      ("Where", "la plaza frente a la cárcel"),
                      ("Start", "2026-12-05 18:00 America/Los_Angeles"),
                      ("End", "2026-12-05 21:30 America/Los_Angeles"),
                      ("Why", "Esperamos afuera con comida a quienes salgan esta noche."),
                      ("Bring", ("ropa de abrigo", "agua")),
                      ("Safety", "Hay personas de apoyo legal; no traiga documentos.")))


def spanish_fields() -> dict:
    """A field file that labels every field, value and template of the built-in templates,
    for the tests to run before the shipped Spanish field file gives them."""
    catalogue = builtin()
    fields: dict[str, dict] = {}
    templates = {}
    for tpl in catalogue.templates.values():
        templates[tpl.name] = {"name": f"es-{tpl.name}", "title": f"Plantilla {tpl.name}"}
        for spec in tpl.fields:
            entry = fields.setdefault(spec.name, {"name": f"Es-{spec.name}",
                                                  "label": f"Etiqueta {spec.name}",
                                                  "values": {}})
            entry["values"].update({v: f"valor-{v}" for v in spec.values})
    return {"language": "es", "name": "Español", "templates": templates, "fields": fields,
            "commands": {"help": ["ayuda"], "template": ["plantilla"], "example": ["ejemplo"]}}


def use_spanish(root: Path, monkeypatch: pytest.MonkeyPatch) -> lang.Lang:
    """Point :mod:`masbot.lang` at ``root``: the shipped Spanish catalog and field file, or
    :func:`spanish_fields` while the shipped one has no fields. Returns Spanish."""
    shipped = lang.DIR / "es"
    (root / "es").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shipped / "messages.po", root / "es" / "messages.po")
    if load_words(shipped / "fields.yaml").fields:
        shutil.copyfile(shipped / "fields.yaml", root / "es" / "fields.yaml")
    else:
        (root / "es" / "fields.yaml").write_text(
            yaml.safe_dump(spanish_fields(), allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(lang, "DIR", root)
    lang.get.cache_clear()
    return lang.get("es")


@pytest.fixture
def spanish(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Spanish, as :func:`use_spanish` sets it up, for one test."""
    tr = use_spanish(tmp_path_factory.mktemp("lang"), monkeypatch)
    yield tr
    lang.get.cache_clear()


@pytest.fixture(scope="module")
def spanish_module(tmp_path_factory: pytest.TempPathFactory):
    """Spanish for a whole module (a site built once)."""
    patch = pytest.MonkeyPatch()
    tr = use_spanish(tmp_path_factory.mktemp("lang"), patch)
    yield tr
    patch.undo()
    lang.get.cache_clear()


def english_sentences() -> list[str]:
    """masbot's English sentences a reader could see, as the code writes them: every catalog
    entry of two words or more without a ``{placeholder}`` (shorter ones, like "For", also
    occur in what members write)."""
    from babel.messages.pofile import read_po
    with (lang.DIR / "es" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="es")
    return [str(m.id) for m in catalog
            if isinstance(m.id, str) and m.id and "{" not in m.id and " " in m.id.strip()]


def assert_no_english(text: str) -> None:
    """``text`` holds none of :func:`english_sentences`."""
    left = [s for s in english_sentences() if s in text]
    assert not left, f"English left: {left}"
