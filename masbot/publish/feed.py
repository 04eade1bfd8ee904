"""The Atom feed of appeal revisions, made with feedgen: one entry per published revision,
holding the readable appeal and a link to its clearsigned text.

The feed's title and description are in the society's language; each entry in its appeal's
(its content carries the appeal's ``lang``)."""

from __future__ import annotations

from feedgen.feed import FeedGenerator

from masbot import lang
from masbot.appeal import formats, render
from masbot.publish.model import Entry, Revision
from masbot.publish.pages import linked, markup
from masbot.story.templates import Catalogue

MAX_ENTRIES = 200
"""The newest revisions the feed carries; the index and the pages keep all of them."""


def _tag(origin: str, revision: Revision) -> str:
    return f"urn:masbot:{origin.lower()}:{revision.appeal.appeal_id}:{revision.appeal.revision}"


def atom(*, society: str, society_id: str, fingerprint: str, base: str,
         entries: list[Entry], permalinks: dict[str, str | None],
         catalogue: Catalogue | None = None, language: str = lang.DEFAULT) -> bytes:
    """The feed's bytes. ``base`` is what links start with (the site's https address, or ""
    for links relative to the feed); ``permalinks`` maps an entry's slug to its permalink;
    ``language`` is the society's.

    Deterministic: every date comes from an appeal's ``Issued`` (the feed's ``updated`` is
    the newest), and entries are ordered newest first, so the same store gives the same bytes.
    """
    revisions = sorted(((e, r) for e in entries for r in e.revisions),
                       key=lambda er: (er[1].appeal.issued, er[0].slug, er[1].appeal.revision),
                       reverse=True)[:MAX_ENTRIES]
    tr = lang.get(language)
    fg = FeedGenerator()
    fg.id(f"urn:masbot:{fingerprint.lower()}:feed")
    fg.title(tr._("{society}: appeals", society=society))
    fg.subtitle(tr._("Every revision of every appeal {society} signed or relayed, each with "
                     "its signed text.", society=society))
    fg.author({"name": society})
    fg.link(href=f"{base}feed.atom", rel="self", type="application/atom+xml")
    fg.link(href=f"{base}index.html", rel="alternate", type="text/html")
    fg.language(language)
    fg.generator("masbot")
    if revisions:
        fg.updated(revisions[0][1].appeal.issued)
    else:
        fg.updated("1970-01-01T00:00:00Z")
    for entry, revision in reversed(revisions):
        appeal = revision.appeal
        page = f"{base}appeals/{entry.slug}/"
        txt = f"{page}{revision.txt_name}"
        words = formats.language_of(appeal, language)
        fe = fg.add_entry()
        fe.id(_tag(entry.origin, revision))
        title = appeal.title or appeal.appeal_id
        if appeal.status == "open":
            fe.title(words._("{title} ({appeal_id}, revision {revision})", title=title,
                             appeal_id=appeal.appeal_id, revision=appeal.revision))
        else:
            fe.title(words._("{title} [{status}] ({appeal_id}, revision {revision})",
                             title=title, status=formats.status_value(words, appeal.status),
                             appeal_id=appeal.appeal_id, revision=appeal.revision))
        fe.author({"name": entry.origin_name})
        fe.published(appeal.issued)
        fe.updated(appeal.issued)
        fe.link(href=f"{page}index.html", rel="alternate")
        fe.link(href=txt, rel="related")
        body = render.html(appeal, url=permalinks.get(entry.slug), catalogue=catalogue,
                           tr=words)
        proof = markup(words._("Signed by {society}, key {fingerprint}."),
                       society=entry.origin_name, fingerprint=entry.origin) + " " + linked(
            words._("{link}The signed text of revision {revision}{end} checks with gpg, sqop "
                    "or masbot verify."), txt, revision=appeal.revision)
        fe.content(f"{body}<p>{proof}</p>", type="html")
    return _with_link_attributes(fg.atom_str(pretty=True))


_ATOM = "{http://www.w3.org/2005/Atom}"
ENTRY_LINKS = ({"rel": "alternate", "type": "text/html"},
               {"rel": "related", "type": "text/plain", "title": "Signed text"})
"""The attributes of each entry's two links, in order."""


def _with_link_attributes(data: bytes) -> bytes:
    """feedgen 1.0 drops the rel, type and title of an entry's links (a shadowed variable in
    ``FeedEntry.atom_entry``); put them back, so readers can tell the page from the signed
    text."""
    from lxml import etree
    root = etree.fromstring(data)
    for entry in root.iter(f"{_ATOM}entry"):
        for link, attrs in zip(entry.findall(f"{_ATOM}link"), ENTRY_LINKS):
            for name, value in attrs.items():
                link.set(name, value)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
