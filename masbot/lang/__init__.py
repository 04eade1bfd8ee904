"""Languages: every word masbot says to people, in the language they use.

A language is a directory ``masbot/lang/CODE/`` holding two files:

``messages.po``
    the gettext catalog of masbot's sentences (answers, forms, error notes, notices, the
    reading parts of posts, the site and the feed), extracted from the code with Babel by
    ``scripts/catalogs.py``; English is the source language and needs no catalog.
``fields.yaml``
    the template vocabulary: field names and the other spellings members use, labels, help
    texts, choice values, template names, titles and examples, and the words of commands
    (see :mod:`masbot.lang.words`).

Nothing here is global: each answer, notice or rendering asks :func:`get` for the
:class:`Lang` of the person it is for, so one process serves members in several languages.

Sentences are written in the code as ``tr._("Needed by {date}", date=...)``: ``_`` looks the
sentence up and fills the ``{names}`` in. A sentence that must be known in every language
before a :class:`Lang` is at hand (the bot's own header lines, which a reply quotes back) is
marked with :func:`N_` where it is defined and translated where it is used.
"""

from __future__ import annotations

import gettext
import io
import re
from dataclasses import dataclass
import datetime as dt
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, get_currency_symbol

from masbot.lang.words import Words, load_words

DIR = Path(__file__).parent
DEFAULT = "en"
"""The source language: its sentences are the ones in the code."""


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it (it is translated later)."""
    return message


@cache
def available() -> tuple[str, ...]:
    """The language codes masbot speaks: English and every ``masbot/lang/CODE/`` directory
    with a catalog and a field file."""
    found = sorted(p.name for p in DIR.iterdir()
                   if p.is_dir() and (p / "messages.po").is_file()
                   and (p / "fields.yaml").is_file())
    return (DEFAULT, *[code for code in found if code != DEFAULT])


def supported(code: str | None) -> str | None:
    """The language masbot speaks for a tag like ``es``, ``es-MX`` or ``ES_ar``, or None."""
    if not code:
        return None
    primary = code.strip().replace("_", "-").split("-", 1)[0].casefold()
    return primary if primary in available() else None


def _catalog(code: str) -> gettext.NullTranslations:
    """The compiled catalog; compiled in memory from the .po when the .mo is missing or older
    (a checkout where ``scripts/catalogs.py compile`` has not run)."""
    po, mo = DIR / code / "messages.po", DIR / code / "messages.mo"
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with po.open("rb") as f:
        catalog = read_po(f, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass(frozen=True, eq=False)
class Lang:
    """One language: its sentences, its template words and its local formats."""

    code: str
    translations: gettext.NullTranslations
    words: Words
    locale: Locale

    def _(self, message: str, /, **values: object) -> str:
        """``message`` in this language, with ``{name}`` filled in from ``values``."""
        text = self.translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The singular or plural sentence for ``n`` in this language; ``{n}`` is ``n``."""
        return self.translations.ngettext(singular, plural, n).format(n=n, **values)

    def date(self, day: dt.date) -> str:
        """A date as people of this language write it in full (``5 December 2026``,
        ``5 de diciembre de 2026``)."""
        return format_date(day, format="long", locale=self.locale)

    def datetime(self, moment: dt.datetime) -> str:
        """A date and time of day (to the minute), in the time zone ``moment`` carries."""
        time = format_time(moment, format="short", tzinfo=moment.tzinfo, locale=self.locale)
        zone = moment.tzname() or ""
        return f"{self.date(moment.date())}, {time} {zone}".rstrip()

    def amount(self, number: Decimal, currency: str) -> str:
        """An amount of money as written here (``1,500 USD``, ``2.500 US$``, ``€12.50``);
        whole amounts without cents. A bare ``$`` says too little in a federation that spans
        countries, so where the locale would write one the currency's code stands instead."""
        pattern = self.locale.currency_formats["standard"].pattern
        if number == number.to_integral_value():
            pattern = pattern.replace(".00", "")
        if get_currency_symbol(currency, locale=self.locale) == "$":
            pattern = pattern.replace("¤", "").strip() + " ¤¤"
        return format_currency(number, currency, format=pattern, currency_digits=False,
                               locale=self.locale)

    def number(self, number: Decimal | int) -> str:
        """A number with this language's separators."""
        return format_decimal(number, locale=self.locale)


@cache
def get(code: str | None = None) -> Lang:
    """The :class:`Lang` for ``code`` (any tag :func:`supported` knows); English otherwise."""
    chosen = supported(code) or DEFAULT
    try:
        locale = Locale.parse(chosen)
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse(DEFAULT)
    if chosen == DEFAULT:
        return Lang(DEFAULT, gettext.NullTranslations(), Words.source(), locale)
    return Lang(chosen, _catalog(chosen), load_words(DIR / chosen / "fields.yaml"), locale)


def of_text(text: str) -> str | None:
    """The language a text is written in, told by its most frequent short words (``the``,
    ``and`` / ``de``, ``que``): the language whose words make up clearly more of it than any
    other's; None for a text too short or too mixed to tell."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < 8:
        return None
    counts = sorted(((sum(w in get(code).words.common_words for w in words), code)
                     for code in available()), reverse=True)
    best, code = counts[0]
    runner_up = counts[1][0] if len(counts) > 1 else 0
    return code if best >= max(3, 2 * runner_up) and best * 10 >= len(words) else None


_WORD = re.compile(r"[^\W\d_]+")
