"""Languages: the catalogs are complete, and a Lang speaks and formats as its locale does."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from masbot import lang
from masbot.lang import catalogs
from masbot.lang.words import WordsError, load_words


def test_the_catalogs_and_field_files_are_complete():
    """Fails when a language lacks a sentence of the code or a word of the templates, holds
    a stale or fuzzy one, or a translation loses a {placeholder}: scripts/catalogs.py
    update, then translate, fixes it."""
    assert catalogs.problems() == []


def test_english_and_spanish_are_shipped():
    assert lang.available()[:1] == ("en",) and "es" in lang.available()
    assert lang.supported("es-MX") == "es" and lang.supported("ES_ar") == "es"
    assert lang.supported("xx") is None and lang.get("xx").code == "en"


@pytest.mark.parametrize("code, amount, day, moment", [
    ("en", "2,500 USD", "December 5, 2026", "December 5, 2026, 6:30 PM PST"),
    ("es", "2.500 US$", "5 de diciembre de 2026", "5 de diciembre de 2026, 18:30 PST"),
])
def test_local_formats(code, amount, day, moment):
    tr = lang.get(code)
    plain = str.maketrans({"\xa0": " ", "\u202f": " "})  # CLDR keeps amounts on one line
    assert tr.amount(Decimal("2500"), "USD").translate(plain) == amount
    assert tr.date(date(2026, 12, 5)) == day
    assert tr.datetime(datetime(2026, 12, 5, 18, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
                       ).translate(plain) == moment


def test_a_stale_or_missing_entry_is_found(tmp_path, monkeypatch):
    """The completeness check can fail: a catalog without a sentence of the code, and one
    with a sentence the code no longer has."""
    from babel.messages.catalog import Catalog
    template = Catalog()
    template.add("Thank you.")
    template.add("Needed by {date}")
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Thank you."\nmsgstr "Gracias."\n\n'
        'msgid "Gone sentence"\nmsgstr "Frase vieja"\n', encoding="utf-8")
    monkeypatch.setattr(catalogs, "DIR", tmp_path)
    found = catalogs.catalog_problems("xx", template)
    assert any("'Gone sentence': stale" in p for p in found)
    assert any("'Needed by {date}': missing" in p for p in found)


def test_a_translation_that_loses_a_placeholder_is_found(tmp_path, monkeypatch):
    from babel.messages.catalog import Catalog
    template = Catalog()
    template.add("Needed by {date}")
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Needed by {date}"\nmsgstr "Se necesita pronto"\n', encoding="utf-8")
    monkeypatch.setattr(catalogs, "DIR", tmp_path)
    assert any("placeholders" in p for p in catalogs.catalog_problems("xx", template))


def test_a_malformed_field_file_names_the_entry(tmp_path):
    path = tmp_path / "fields.yaml"
    path.write_text("language: xx\nfields:\n  Title: [not, a, mapping]\n", encoding="utf-8")
    with pytest.raises(WordsError, match="fields: Title: expected a mapping"):
        load_words(path)
