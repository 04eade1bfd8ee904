"""What a reader sees first in a post: a plain reading text and an HTML alternative.

A mail app that knows nothing of OpenPGP shows the first part of a post, so these come first
inside the signed content (see :mod:`masbot.post.build`): the title, who needs what, how to
help, the deadline and the permalink, on the first screen; then the whole appeal; then how to
check it. They are rendered from the canonical appeal that the posting society verified (or
wrote), never copied from another society's post, in the appeal's language
(:func:`masbot.appeal.formats.language_of`).
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass

from masbot.appeal import canonical, formats, render, view
from masbot.appeal.canonical import Appeal
from masbot.lang import Lang
from masbot.signing.armor import FormatError, parse_clearsigned
from masbot.story.templates import Catalogue, builtin

WHO = ("Name-To-Publish", "Target", "Organizer", "Who")
WHAT = ("Goal", "Needs", "Bail", "Amount")
WHEN = ("Needed-By", "Hard-Deadline", "Window", "Start", "Deadline")


@dataclass(frozen=True)
class Reading:
    """The two reading parts of a post."""

    text: str
    html: str
    language: str = "en"
    """Their language, for ``Content-Language`` (a tag like ``es`` or ``es-MX``)."""


@dataclass(frozen=True)
class Proof:
    """Who signed the appeal and where a reader learns to check it."""

    origin_name: str
    fingerprint: str
    check_url: str | None = None
    contact: str | None = None


def spaced(fingerprint: str) -> str:
    """A fingerprint in groups of four, as gpg shows it."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


def _row_text(row: view.Row) -> str:
    return "".join(p.text for p in row.parts)


def _first(page: view.Page, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(label, value) of the first of ``names`` the page shows."""
    shown: dict[str, tuple[str, str]] = {}
    for block in page.blocks:
        for row in block.rows:
            shown.setdefault(row.field, (row.label, _row_text(row)))
        if block.kind == "list":
            shown.setdefault(block.field, (block.label, ", ".join(p.text for p in block.items)))
    for name in names:
        if page.appeal.get(name) and name in shown:
            return [shown[name]]
    return []


def summary(appeal: Appeal, page: view.Page) -> list[tuple[str, str]]:
    """The first screen's facts: who, what, by when, how to help, where to give; in the
    page's language. The donation links, when there are any, are the last row."""
    tr = page.tr
    rows: list[tuple[str, str]] = []
    for names in (WHO, WHAT):
        rows += _first(page, names)
    when = _first(page, WHEN)
    rows += when or [(tr._("Open until"), formats.day_text(tr, appeal.expires))]
    rows.append((tr._("How to help"), page.share_help))
    donate = appeal.get("Donate", ())
    if isinstance(donate, tuple) and donate and appeal.status == "open":
        # TRANSLATORS: a label before the donation links: "Give: https://…"
        rows.append((tr._("Give"), " · ".join(donate)))
    return [(label, value) for label, value in rows if value]


def _gives(appeal: Appeal) -> bool:
    """Whether the summary's last row is the donation links."""
    donate = appeal.get("Donate", ())
    return isinstance(donate, tuple) and bool(donate) and appeal.status == "open"


def _block_text(block: view.Block) -> list[str]:
    if block.kind == "rows":
        return [f"{row.label}: {_row_text(row)}" for row in block.rows]
    out = [f"{block.label}:"]
    if block.kind == "list":
        return out + [f"• {p.text}" for p in block.items]
    for n, para in enumerate(block.paragraphs):
        if n:
            out.append("")
        out += [f"• {line}" for line in para.lines] if para.bullets else list(para.lines)
    return out


def text(appeal: Appeal, proof: Proof, *, url: str | None = None,
         catalogue: Catalogue | None = None, tr: Lang | None = None) -> str:
    """The reading text: first screen, the whole appeal, then how to check it, in the words
    of ``tr`` (default: the appeal's language). No line starts with a dash or an armor
    line."""
    page = view.page(appeal, url=url, catalogue=catalogue, tr=tr)
    tr = page.tr
    facts = " · ".join(x for x in (page.location, tr._(
        "{appeal_id}, revision {revision}", appeal_id=appeal.appeal_id,
        revision=appeal.revision)) if x)
    lines = [page.title]
    if page.status_note:
        lines.append(page.status_note)
    lines += [facts, ""]
    lines += [f"{label}: {value}" for label, value in summary(appeal, page)]
    if url:
        lines.append(tr._("Read it online: {url}", url=url))
    for block in page.update + page.blocks:
        lines += [""] + _block_text(block)
    signed = tr._("Signed by {society}, key {fingerprint}. The signed appeal "
                  "(signed-appeal.txt) and the key (origin-key.asc) are attached.",
                  society=proof.origin_name, fingerprint=spaced(proof.fingerprint))
    if proof.check_url:
        signed += " " + tr._("How to check an appeal: {url}", url=proof.check_url)
    lines += ["", "________", "", signed]
    if proof.contact:
        lines += ["", tr._("To reach the people behind this appeal, reply to this mail: it "
                           "goes to {contact}, read by people.", contact=proof.contact)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def html(appeal: Appeal, proof: Proof, *, url: str | None = None,
         catalogue: Catalogue | None = None, tr: Lang | None = None) -> str:
    """The HTML alternative: the same first screen, then the kit's article, then the proof;
    in the words of ``tr`` (default: the appeal's language)."""
    page = view.page(appeal, url=url, catalogue=catalogue, tr=tr)
    tr = page.tr
    e = _html.escape
    facts = summary(appeal, page)
    gives = _gives(appeal)
    rows = "".join(f"<li><strong>{e(label)}:</strong> "
                   f"{_value_html(value, gives and n == len(facts) - 1)}</li>"
                   for n, (label, value) in enumerate(facts))
    link = (f'<p><a href="{e(render._safe_url(url))}">{e(tr._("Read it online: {url}", url=url))}'
            "</a></p>" if url else "")
    check = (f' <a href="{e(render._safe_url(proof.check_url))}">'
             f'{e(tr._("How to check an appeal"))}</a>.' if proof.check_url else "")
    contact = ("<p>" + e(tr._("To reach the people behind this appeal, reply to this mail: it "
                              "goes to {contact}, read by people.", contact=proof.contact))
               + "</p>" if proof.contact else "")
    signed = tr._("Signed by {society}, key {fingerprint}. The signed appeal and the key are "
                  "attached.", society=proof.origin_name, fingerprint=spaced(proof.fingerprint))
    return ("<!DOCTYPE html>\n"
            f'<html lang="{e(page.lang_tag)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(page.title)}</title></head>\n<body>\n"
            f"<h1>{e(page.title)}</h1>\n"
            + (f"<p><strong>{e(page.status_note)}</strong></p>\n" if page.status_note else "")
            + f"<ul>{rows}</ul>\n{link}\n"
            + render.html(appeal, url=url, catalogue=catalogue, tr=tr)
            + f"<p>{e(signed)}" + check + "</p>\n" + contact
            + "</body></html>\n")


def _value_html(value: str, links: bool) -> str:
    """A summary value as HTML: the donation links as links (checked https only)."""
    if not links:
        return _html.escape(value)
    out = []
    for link in value.split(" · "):
        try:
            out.append(f'<a href="{_html.escape(render._safe_url(link))}">{_html.escape(link)}</a>')
        except ValueError:
            out.append(_html.escape(link))
    return " · ".join(out)


def known_fields(catalogue: Catalogue, template: str) -> frozenset[str]:
    """The field names an appeal of ``template`` may carry: its own, an update's, and the
    fields masbot adds (empty for a template this society does not know)."""
    spec = catalogue.template(template)
    if spec is None:
        return frozenset()
    return frozenset(f.name for f in spec.fields) | frozenset(canonical.UPDATE_FIELDS) | {
        "Template", "Images"}


def appeal_of(clearsigned: str, catalogue: Catalogue | None = None) -> Appeal | None:
    """The appeal a clearsigned text holds, or None when it is not one."""
    catalogue = catalogue or builtin()
    try:
        signed = parse_clearsigned(clearsigned).text
        head = canonical.parse(signed)
        return canonical.parse(signed, known_fields(catalogue, head.template))
    except (FormatError, ValueError, KeyError):
        return None


def reading(clearsigned: str, proof: Proof, *, url: str | None = None,
            catalogue: Catalogue | None = None, language: str | None = None) -> Reading:
    """Both reading parts of the appeal in ``clearsigned``, in its language (``language``,
    the society's, when the appeal names none; see :func:`formats.language_of`). A text that is
    no appeal is shown as it was signed, without its armor."""
    appeal = appeal_of(clearsigned, catalogue)
    if appeal is None:
        try:
            body = parse_clearsigned(clearsigned).text
        except FormatError:
            body = clearsigned
        return Reading(body, "<!DOCTYPE html>\n<html><body><pre>" + _html.escape(body)
                       + "</pre></body></html>\n")
    tr = formats.language_of(appeal, language)
    tag = formats.tag_of(appeal, tr)
    try:
        return Reading(text(appeal, proof, url=url, catalogue=catalogue, tr=tr),
                       html(appeal, proof, url=url, catalogue=catalogue, tr=tr), tag)
    except ValueError:  # a partner's link we would not publish: no links, then
        return Reading(text(appeal, proof, catalogue=catalogue, tr=tr),
                       html(appeal, proof, catalogue=catalogue, tr=tr), tag)
