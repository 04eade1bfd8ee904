"""The public site and its feed in several languages: each appeal's page in the appeal's
language, the index, the check page and the feed's own words in the society's.

The store holds the English history of :mod:`site_support` plus two Spanish appeals
(:mod:`lang_support`); the site is written twice from it, for a society whose language is
English and for one whose language is Spanish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import feedparser
import pytest

from lang_support import assert_no_english, fianza, spanish_module, vigilia  # noqa: F401
from masbot import lang
from masbot.publish.site import Site
from site_support import TODAY, History, history, record


@dataclass
class Sites:
    history: History
    english: Path  # the site of a society whose language is English
    spanish: Path  # the same store, for a society whose language is Spanish


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, spanish_module):
    h = history(tmp_path_factory.mktemp("site"))
    for appeal in (fianza(), vigilia()):
        h.store.record(appeal.appeal_id, "accepted", appeal=record(appeal, h.own.signer))
    Site(h.settings, h.store, today=lambda: TODAY).rebuild()
    spanish = replace(h.settings, dir=h.settings.dir.parent / "site-es", language="es")
    Site(spanish, h.store, today=lambda: TODAY).rebuild()
    yield Sites(h, h.settings.dir, spanish.dir)
    h.close()


def _text(html: str) -> str:
    """What a reader reads of a page: no tags, no signed text (its keys are English on
    purpose: every partner parses them)."""
    html = re.sub(r"(?s)<details>.*?</details>", "", html)
    html = re.sub(r"(?s)<style>.*?</style>", "", html)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("which", ["english", "spanish"])
def test_a_spanish_appeal_page_is_in_spanish(sites, spanish_module, which: str) -> None:
    tr = spanish_module
    page = (getattr(sites, which) / "appeals/ANYTOWN-2026-0005/index.html").read_text()
    assert '<html lang="es">' in page
    assert f"<dt>{tr.words.label('Goal')}</dt>\n<dd>{tr.amount(Decimal('2500'), 'USD')}</dd>" \
        in page
    assert f"<dt>{tr.words.label('Needed-By')}</dt>\n<dd>{tr.date(date(2026, 12, 5))}</dd>" \
        in page
    for sentence in (tr._("Check it"), tr._("Repost it"),
                     tr._("{society}: appeals", society="Anytown Mutual Aid"),
                     tr._("expires {date}", date=tr.date(date(2026, 12, 24))),
                     tr._("Every appeal here is signed by the society that wrote it.")):
        assert sentence in page, sentence
    assert_no_english(_text(page))


def test_the_index_and_check_page_speak_the_societys_language(sites, spanish_module) -> None:
    tr = spanish_module
    english = (sites.english / "index.html").read_text()
    assert '<html lang="en">' in english and "Open appeals" in english
    assert '<h3 lang="es"><a href="appeals/ANYTOWN-2026-0005/index.html">' in english
    assert '<h3><a href="appeals/ANYTOWN-2026-0001/index.html">' in english
    index = (sites.spanish / "index.html").read_text()
    assert '<html lang="es">' in index
    assert '<h3><a href="appeals/ANYTOWN-2026-0005/index.html">' in index
    for sentence in (tr._("Open appeals"), tr._("Funded, closed and ended"),
                     tr._("Deadline {date}", date=tr.date(date(2026, 12, 5))),
                     f">{tr._('Funded')}</span>", f">{tr._('Expired')}</span>"):
        assert sentence in index, sentence
    assert_no_english(_text(index))
    check = (sites.spanish / "check.html").read_text()
    assert '<html lang="es">' in check and tr._("Check a signed text") in check
    assert "gpg --verify revision-1.txt" in check  # commands stay commands
    assert "<code>-----BEGIN PGP SIGNED MESSAGE-----</code>" in check
    assert_no_english(_text(check).replace("gpg --verify", ""))


def test_an_english_appeal_keeps_its_language_on_a_spanish_site(sites) -> None:
    from site_support import _bail
    english = replace(_bail(), appeal_id="ANYTOWN-2026-0009",
                      fields=_bail().fields + (("Language", "en"),))
    h = sites.history
    h.store.record("en-on-es", "accepted", appeal=record(english, h.own.signer))
    spanish = replace(h.settings, dir=sites.spanish.parent / "site-es-2", language="es")
    Site(spanish, h.store, today=lambda: TODAY).rebuild()
    page = (spanish.dir / "appeals/ANYTOWN-2026-0009/index.html").read_text()
    assert '<html lang="en">' in page and "Needed by</dt>\n<dd>December 5, 2026" in page
    assert "Check it" in page and "Repost it" in page


def test_the_feed_speaks_the_society_and_each_entry_its_appeal(sites, spanish_module) -> None:
    tr = spanish_module
    english = feedparser.parse((sites.english / "feed.atom").read_bytes())
    assert not english.bozo, english.get("bozo_exception")
    assert english.feed.title == "Anytown Mutual Aid: appeals"
    assert english.feed.language == "en"
    entries = {e.id.rsplit(":", 2)[-2]: e for e in english.entries}
    lupe = entries["ANYTOWN-2026-0005"]
    assert lupe.title == tr._("{title} ({appeal_id}, revision {revision})",
                              title=fianza().title, appeal_id="ANYTOWN-2026-0005", revision=1)
    content = lupe.content[0].value
    assert content.startswith('<article class="h-entry masbot-appeal masbot-bail" lang="es"')
    assert f"<dt>{tr.words.label('Goal')}</dt>" in content
    assert tr._("Signed by {society}, key {fingerprint}.", society="Anytown Mutual Aid",
                fingerprint=sites.history.own.fingerprint) in content
    assert_no_english(_text(content))
    river = entries["ANYTOWN-2026-0001"].content[0].value
    assert "<dt>Needed by</dt>" in river and "checks with gpg, sqop or masbot verify" in river
    spanish = feedparser.parse((sites.spanish / "feed.atom").read_bytes())
    assert not spanish.bozo, spanish.get("bozo_exception")
    assert spanish.feed.title == tr._("{society}: appeals", society="Anytown Mutual Aid")
    assert spanish.feed.language == "es"
    assert spanish.feed.subtitle == tr._(
        "Every revision of every appeal {society} signed or relayed, each with its signed "
        "text.", society="Anytown Mutual Aid")
    funded = [e for e in spanish.entries if e.id.endswith(":ANYTOWN-2026-0002:2")][0]
    assert f"[{tr._('funded')}]" in funded.title


def test_the_english_site_is_unchanged_by_languages(sites) -> None:
    """An English society's English appeals: the chrome and pages say what they always
    said."""
    index = (sites.english / "index.html").read_text()
    assert "Requests for help that Anytown Mutual Aid signed or relayed." in index
    assert 'Follow new appeals with the <a href="feed.atom">Atom feed</a>; no subscription ' \
           "needed." in index
    page = (sites.english / "appeals/ANYTOWN-2026-0002/index.html").read_text()
    assert "Revision 1</a>: open, issued November 20, 2026, 12:00\u202fPM UTC" in page
    assert lang.get("en").code == "en"
