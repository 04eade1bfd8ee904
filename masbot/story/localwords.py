"""Words members write in any language masbot speaks, for the checks that read their values.

A Spanish request is read in every society, so the checks recognise every language's words
at once: month and weekday names, currency names and signs, and language names come from
Babel's locale data (a new language brings its own); the few words Babel has no list of
("ASAP", "tomorrow") are listed here. Every comparison is on :func:`fold`-ed text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from types import MappingProxyType
from typing import Iterable, Mapping

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name

from masbot import lang

ASAP_WORDS = frozenset("""
asap|as soon as possible|now|right now|urgent|urgently|immediately|right away
|lo antes posible|lo mas pronto posible|lo antes que se pueda|cuanto antes|en cuanto se pueda
|urgente|urgentemente|ya|ahora|ahora mismo|de inmediato|inmediatamente|de urgencia
""".replace("\n", "").split("|"))
"""What members write for "as soon as possible" (folded)."""
RELATIVE_DAYS: Mapping[str, int] = MappingProxyType({
    "today": 0, "tomorrow": 1, "the day after tomorrow": 2, "day after tomorrow": 2,
    "hoy": 0, "manana": 1, "pasado manana": 2})
"""Days written relative to the day the request is sent (folded), and how far ahead."""
_EXTRA_MONTHS = {"sept": 9, "setiembre": 9, "set": 9}  # spellings CLDR lacks (Sept; Uruguay, Peru)
_EXTRA_CURRENCIES = {"us$": "USD", "u$s": "USD", "u$d": "USD", "usd$": "USD",
                     "dolares americanos": "USD", "dolar americano": "USD"}
AMBIGUOUS_CURRENCIES = frozenset(
    "dollar dollars buck bucks dolar dolares peso pesos $".split())
"""Currency words that many currencies share: the member is asked for the code."""
_EXTRA_LANGUAGES = {"castellano": "es"}


def fold(text: str) -> str:
    """``text`` case-folded, without accents, with runs of spaces as one ("Mañana" is
    "manana")."""
    decomposed = unicodedata.normalize("NFD", " ".join(text.split()).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _locales() -> tuple[Locale, ...]:
    out = []
    for code in lang.available():
        try:
            out.append(Locale.parse(code))
        except (UnknownLocaleError, ValueError):  # pragma: no cover - a code Babel lacks
            continue
    return tuple(out)


def _names(table: Mapping[str, Mapping[str, Mapping[int, str]]]) -> Iterable[tuple[int, str]]:
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in table[context][width].items():
                yield number, name


def _unambiguous(pairs: Iterable[tuple[str, object]]) -> dict:
    """Each key with its one value; a key given two different values is dropped."""
    found: dict = {}
    clashes = set()
    for key, value in pairs:
        if key in found and found[key] != value:
            clashes.add(key)
        found.setdefault(key, value)
    return {k: v for k, v in found.items() if k not in clashes}


@cache
def months() -> Mapping[str, int]:
    """Every language's month names, abbreviations and their prefixes of three letters or
    more ("dic", "sept", "december") -> the month's number; a spelling two months share is
    left out."""
    pairs: list[tuple[str, int]] = list(_EXTRA_MONTHS.items())
    for locale in _locales():
        for number, name in _names(locale.months):
            key = fold(name).rstrip(".")
            pairs.append((key, number))
            pairs += [(key[:n], number) for n in range(3, len(key))]
    return MappingProxyType(_unambiguous(pairs))


@cache
def weekdays() -> frozenset[str]:
    """Every language's weekday names, abbreviations and their prefixes of three letters or
    more ("vie", "thurs", "miercoles")."""
    out: set[str] = set()
    for locale in _locales():
        for _, name in _names(locale.days):
            key = fold(name).rstrip(".")
            out |= {key, *(key[:n] for n in range(3, len(key)))}
    return frozenset(out)


@cache
def month_pattern() -> str:
    """A regular expression (for ``re.IGNORECASE``) matching any language's month name or
    abbreviation as a whole word."""
    names = {"sept"}
    for locale in _locales():
        for _, name in _names(locale.months):
            names |= {name.casefold().rstrip("."), fold(name).rstrip(".")}
    return r"(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) \
        + r")\b\.?"


@cache
def currencies() -> Mapping[str, str]:
    """Currency names (singular and plural) and signs every language writes for one currency
    ("euros", "dólares estadounidenses", "US$", "MX$") -> the ISO 4217 code."""
    pairs: list[tuple[str, str]] = list(_EXTRA_CURRENCIES.items())
    for locale in _locales():
        for code in map(str, locale.currencies):
            for count in (1, 2):
                pairs.append((fold(get_currency_name(code, count, locale)), code))
        for code, sign in locale.currency_symbols.items():
            if sign != code:
                pairs.append((fold(sign), code))
    return MappingProxyType({k: v for k, v in _unambiguous(pairs).items()
                             if k not in AMBIGUOUS_CURRENCIES and not re.fullmatch(r"[a-z]{3}", k)})


@cache
def languages() -> Mapping[str, str]:
    """Language names in every language masbot speaks ("español", "Spanish", "inglés")
    -> the language tag (``es``, ``en``, ``es-MX``)."""
    pairs: list[tuple[str, str]] = list(_EXTRA_LANGUAGES.items())
    for locale in _locales():
        for code, name in locale.languages.items():
            pairs.append((fold(name), code.replace("_", "-")))
    return MappingProxyType(_unambiguous(pairs))
