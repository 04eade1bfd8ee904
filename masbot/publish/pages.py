"""The site's HTML pages, rendered with Jinja2 (autoescaped) from :mod:`masbot.publish.model`.

The index and the check page are in the society's language (:attr:`SiteInfo.language`); each
appeal's page, its frame included, is in the appeal's language
(:func:`masbot.appeal.formats.language_of`), so a reader who follows a link to it reads one
language. Templates write every sentence as ``_("...")``; a sentence with a link or a bit of
markup in it names the markup as a ``{placeholder}`` (:func:`markup`, :func:`linked`), so the
translation is escaped and only masbot's own tags are inserted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from masbot import lang
from masbot.appeal import formats, render, view
from masbot.lang import N_, Lang
from masbot.publish.model import Entry, ordered
from masbot.story.templates import Catalogue

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
KIT_WORDS = {"appeal.html": N_("HTML for a web page or blog"),
             "appeal.md": N_("Markdown for a blog, a forum or a Git repository"),
             "share.txt": N_("a short text for social media"),
             "appeal.ics": N_("a calendar event")}


@dataclass(frozen=True)
class SiteInfo:
    """What every page says about the society."""

    society: str
    fingerprint: str
    language: str = "en"  # the society's language: the index's and the check page's
    contact: str | None = None


def spaced(fingerprint: str) -> str:
    """``0123 4567 … CDEF``: a fingerprint in groups of four, as gpg shows it."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


def markup(text: str, **values: object) -> Markup:
    """A translated sentence as HTML: its text escaped, each ``{name}`` filled with
    ``values[name]``, escaped unless it is :class:`~markupsafe.Markup` masbot built."""
    return escape(text).format(**values)


def linked(text: str, href: str, **values: object) -> Markup:
    """A translated sentence whose ``{link}…{end}`` is a link to ``href`` (see
    :func:`markup`)."""
    return markup(text, link=Markup('<a href="%s">') % href, end=Markup("</a>"), **values)


def tag(name: str, text: str, cls: str = "") -> Markup:
    """``<name class="cls">text</name>``, ``text`` escaped: a bit of markup for
    :func:`markup`."""
    if cls:
        return Markup('<%s class="%s">%s</%s>') % (name, cls, text, name)
    return Markup("<%s>%s</%s>") % (name, text, name)


@cache
def _environment() -> jinja2.Environment:
    # auto_reload off: the templates ship with masbot, and a stat per get_template (every
    # include and import) is not free.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), auto_reload=False,
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["url"] = render._safe_url
    env.filters["spaced"] = spaced
    env.globals.update(markup=markup, linked=linked, tag=tag)
    return env


def _words(tr: Lang) -> dict[str, object]:
    """What a template needs to speak and write dates in ``tr``."""
    return {"_": tr._, "ngettext": tr.ngettext, "day": lambda d: formats.day_text(tr, d),
            "status_word": lambda s: formats.status_word(tr, s),
            "status_value": lambda s: formats.status_value(tr, s),
            "issued": lambda moment: formats.issued_text(tr, moment)}


def warm() -> None:
    """Compile the site's templates now (a daemon starting), not in the first pass's way."""
    env = _environment()
    for name in env.list_templates(filter_func=lambda n: n.startswith("site-")):
        env.get_template(name)


def _render(name: str, **values: object) -> bytes:
    return _environment().get_template(name).render(**values).encode("utf-8")


def _tag_if_other(entry: Entry, site_tag: str) -> str:
    """The appeal's language tag when it differs from the page's, else ""."""
    tag_ = str(entry.current.appeal.get("Language", ""))
    if not formats.LANGUAGE_TAG.fullmatch(tag_) or tag_.casefold() == site_tag.casefold():
        return ""
    return tag_


def index(site: SiteInfo, entries: list[Entry], today: date) -> bytes:
    """The index, in the society's language: open appeals by deadline, then the ended ones,
    marked. Each title is marked with its own language when it is another."""
    open_, ended = ordered(entries, today)
    tr = lang.get(site.language)
    return _render("site-index.html.j2", site=site, root="", open=open_, ended=ended,
                   today=today, lang_tag=site.language,
                   other_lang=lambda e: _tag_if_other(e, site.language), **_words(tr))


def appeal(site: SiteInfo, entry: Entry, today: date, *, permalink: str | None,
           kit: dict[str, str], catalogue: Catalogue | None = None,
           tr: Lang | None = None) -> bytes:
    """An appeal's permalink page: the current revision, how to check it, the earlier
    revisions and the repost kit; in ``tr`` (default: the appeal's language, else the
    society's)."""
    current = entry.current.appeal
    tr = tr or formats.language_of(current, site.language)
    page = view.page(current, url=permalink, catalogue=catalogue, tr=tr)
    state = entry.state(today)
    return _render(
        "site-appeal.html.j2", site=site, root="../../", entry=entry, page=page,
        lang_tag=page.lang_tag, state=state, state_word=formats.status_word(tr, state),
        earlier=list(reversed(entry.revisions[:-1])), kit=sorted(kit),
        kit_words={name: tr._(words) for name, words in KIT_WORDS.items()},
        share=kit["share.txt"].strip(), permalink=permalink,
        key_href="../../society.asc" if entry.own else "origin-key.asc",
        key_name="society.asc" if entry.own else "origin-key.asc", **_words(tr))


def check(site: SiteInfo, partners: list[tuple[str, str]]) -> bytes:
    """The "how to check an appeal" page, in the society's language."""
    return _render("site-check.html.j2", site=site, root="", partners=partners,
                   lang_tag=site.language, **_words(lang.get(site.language)))
