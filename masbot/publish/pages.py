"""The site's HTML pages, rendered with Jinja2 (autoescaped) from :mod:`masbot.publish.model`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import jinja2

from masbot.appeal import render, view
from masbot.publish.model import ENDED_WORDS, Entry, ordered
from masbot.story.templates import Catalogue

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
KIT_WORDS = {"appeal.html": "HTML for a web page or blog",
             "appeal.md": "Markdown for a blog, a forum or a Git repository",
             "share.txt": "a short text for social media",
             "appeal.ics": "a calendar event"}


@dataclass(frozen=True)
class SiteInfo:
    """What every page says about the society."""

    society: str
    fingerprint: str
    language: str = "en"
    contact: str | None = None


def spaced(fingerprint: str) -> str:
    """``0123 4567 … CDEF``: a fingerprint in groups of four, as gpg shows it."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["url"] = render._safe_url
    env.filters["spaced"] = spaced
    return env


def warm() -> None:
    """Compile the site's templates now (a daemon starting), not in the first pass's way."""
    env = _environment()
    for name in env.list_templates(filter_func=lambda n: n.startswith("site-")):
        env.get_template(name)


def _render(name: str, **values: object) -> bytes:
    return _environment().get_template(name).render(**values).encode("utf-8")


def index(site: SiteInfo, entries: list[Entry], today: date) -> bytes:
    """The index: open appeals by deadline, then the ended ones, marked."""
    open_, ended = ordered(entries, today)
    return _render("site-index.html.j2", site=site, root="", open=open_, ended=ended,
                   today=today, words=ENDED_WORDS)


def appeal(site: SiteInfo, entry: Entry, today: date, *, permalink: str | None,
           kit: dict[str, str], catalogue: Catalogue | None = None) -> bytes:
    """An appeal's permalink page: the current revision, how to check it, the earlier
    revisions and the repost kit."""
    current = entry.current.appeal
    page = view.page(current, url=permalink, catalogue=catalogue)
    state = entry.state(today)
    return _render(
        "site-appeal.html.j2", site=site, root="../../", entry=entry, page=page,
        state=state, state_word="Open" if state == "open" else ENDED_WORDS.get(state, state),
        earlier=list(reversed(entry.revisions[:-1])), kit=sorted(kit), kit_words=KIT_WORDS,
        share=kit["share.txt"].strip(), permalink=permalink,
        key_href="../../society.asc" if entry.own else "origin-key.asc",
        key_name="society.asc" if entry.own else "origin-key.asc")


def check(site: SiteInfo, partners: list[tuple[str, str]]) -> bytes:
    """The "how to check an appeal" page."""
    return _render("site-check.html.j2", site=site, root="", partners=partners)
