"""The repost kit: every rendering of an appeal, derived from the canonical :class:`Appeal`.

Pure functions, no I/O beyond reading the Jinja2 templates shipped in ``masbot/templates``:

* :func:`markdown` -- Markdown; everything a member wrote is escaped, so no raw HTML and no
  link syntax of theirs survives, only the links the society builds from checked fields;
* :func:`html` -- an HTML snippet with h-entry microformats (``p-name``, ``e-content``,
  ``dt-published``, ``p-location``, ``u-url``) and schema.org ``Event`` microdata for
  gatherings, rendered with autoescaping and then sanitised with ``nh3`` to exactly the tags
  and attributes it emits;
* :func:`share_text` -- at most 280 characters for social media;
* :func:`ics` -- an iCalendar event for gatherings and call-in windows (see :mod:`masbot.appeal.ics`);
* :func:`kit` -- all of them by file name, for an archive.

The page layout comes from :mod:`masbot.appeal.view`; this module only turns it into text,
in the appeal's language (each function takes ``tr``, default :func:`formats.language_of` the
appeal).
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
import nh3

from masbot.appeal import ics as ical
from masbot.appeal import formats, view
from masbot.appeal.canonical import Appeal
from masbot.lang import Lang
from masbot.recent import Recent
from masbot.story.templates import Catalogue, builtin

SHARE_MAX = 280
"""The most characters a share text has (counted as Unicode code points)."""
HTML_TAGS = frozenset({"article", "h2", "h3", "p", "br", "div", "dl", "dt", "dd", "ul", "li",
                       "a", "span", "time", "strong", "meta", "footer", "pre", "code"})
HTML_ATTRIBUTES = {"*": {"class", "lang", "itemprop", "itemscope", "itemtype"}, "a": {"href"},
                   "time": {"datetime"}, "meta": {"content"}}
URL_SCHEMES = frozenset({"https", "tel", "mailto"})
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#>])")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", "|": "&#124;", "~": "&#126;"}
"""Characters CommonMark, kramdown and Python-Markdown do not all let a backslash escape:
written as entities, which all three decode (a stray ``\\&`` showed in two of them)."""
_MD_ENTITY_TABLE = str.maketrans(_MD_ENTITIES)
_MD_LINE_START = re.compile(r"^(?:([-+#])|(=)|(\d{1,9})([.)])(?=\s|$))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Proof:
    """What lets a reader of a repost check it: the clearsigned text and who signed it."""

    signed_text: str
    fingerprint: str
    signer: str
    check_url: str | None = None


def spaced(fingerprint: str) -> str:
    """A fingerprint in groups of four, as gpg shows it."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


def proof_rows(appeal: Appeal, url: str | None, proof: Proof | None,
               tr: Lang | None = None) -> list[tuple[str, str]]:
    """(label, value) rows every piece of the kit carries: which appeal, which revision, its
    status and expiry, where it lives and who signed it; in the words of ``tr``."""
    tr = tr or formats.language_of(appeal)
    # TRANSLATORS: a label; the signed text writes the same value after "Appeal-ID:".
    rows = [(tr._("Appeal-ID"), appeal.appeal_id), (tr._("Revision"), str(appeal.revision)),
            (tr._("Status"), formats.status_value(tr, appeal.status)),
            (tr._("Expires"), formats.day_text(tr, appeal.expires))]
    if url:
        rows.append((tr._("Permalink"), url))
    if proof is not None:
        rows.append((tr._("Signed by"), tr._("{signer}, key fingerprint {fingerprint}",
                                             signer=proof.signer,
                                             fingerprint=spaced(proof.fingerprint))))
        if proof.check_url:
            rows.append((tr._("How to check it"), proof.check_url))
    return rows


def _fence(text: str) -> str:
    """A tilde fence longer than any run of tildes in ``text`` (kramdown knows no backtick
    fences; CommonMark and Python-Markdown's fenced_code know both)."""
    longest = max((len(m.group(0)) for m in re.finditer(r"~+", text)), default=0)
    return "~" * max(4, longest + 1)


def _markdown_proof(appeal: Appeal, url: str | None, proof: Proof | None, tr: Lang) -> str:
    lines = [f"### {escape_markdown(tr._('Check this appeal'))}", ""]
    for label, value in proof_rows(appeal, url, proof, tr):
        if value.startswith("https://"):
            shown = f"[{escape_markdown(value)}]({_safe_url(value)})"
        else:
            shown = escape_markdown(value)
        lines.append(f"- **{escape_markdown(label)}:** {shown}")
    if proof is not None:
        fence = _fence(proof.signed_text)
        lines += ["", escape_markdown(tr._("The signed text (copy all of it, from BEGIN to END, "
                                           "to check it):")), "",
                  f"{fence} text", proof.signed_text.rstrip("\n"), fence]
    return "\n".join(lines) + "\n"


class Trusted(str):
    """Markdown the society built itself (links from checked fields): not escaped again."""


def escape_markdown(text: object) -> str:
    """Member text as inert Markdown: every character Markdown could read as syntax (links,
    emphasis, HTML, entities, headings, lists) is backslash-escaped, line by line."""
    if isinstance(text, Trusted):
        return text
    lines = []
    for line in str(text).split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", line)
        lead = ""
        m = _MD_LINE_START.match(line)
        if m and m.group(1):
            line = "\\" + line
        elif m and m.group(2):
            lead, line = "&#61;", line[1:]  # "\\=" is no escape in Python-Markdown
        elif m:
            line = f"{m.group(3)}\\{m.group(4)}{line[m.end():]}"
        lines.append(lead + line.translate(_MD_ENTITY_TABLE))
    return "\n".join(lines)


def _safe_url(url: str) -> str:
    """A checked URL with the characters Markdown or HTML could misread percent-encoded."""
    if url.split(":", 1)[0].casefold() not in URL_SCHEMES:
        raise ValueError(f"not a safe link: {url!r}")
    return re.sub(r"[\s<>()\[\]\"'`\\{}|^]", lambda m: "%%%02X" % ord(m.group(0)), url)


def _md_link(part: view.Part | str) -> str:
    """A part as Markdown: escaped text, as a link when it has a (checked) target."""
    if isinstance(part, str):
        part = view.Part(part, href=part)
    text = escape_markdown(part.text)
    return Trusted(f"[{text}]({_safe_url(part.href)})" if part.href else text)


@cache
def _environment(kind: str) -> jinja2.Environment:
    # auto_reload off: the templates ship with masbot, and a stat per get_template (every
    # include and import, so several per appeal) is not free.
    if kind == "html":
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), auto_reload=False,
                                 autoescape=True, undefined=jinja2.StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True,
                                 keep_trailing_newline=True)
    else:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), auto_reload=False,
                                 autoescape=False, finalize=escape_markdown,
                                 undefined=jinja2.StrictUndefined, lstrip_blocks=True,
                                 keep_trailing_newline=True)
        env.filters["link"] = _md_link
        env.globals.update(br=Trusted("\\\n"), nl=Trusted("\n"))
    env.filters["url"] = _safe_url
    return env


def _words(tr: Lang) -> dict[str, object]:
    """What a template needs to speak ``tr``: ``_`` and ``ngettext``."""
    return {"_": tr._, "ngettext": tr.ngettext}


def markdown(appeal: Appeal, *, url: str | None = None,
             catalogue: Catalogue | None = None, proof: Proof | None = None,
             tr: Lang | None = None) -> str:
    """The appeal as Markdown, then how to check it: the proof rows and, with ``proof``, the
    clearsigned text in a fenced block. ``url``: where the appeal is published, if anywhere."""
    tr = tr or formats.language_of(appeal)
    page = view.page(appeal, url=url, catalogue=catalogue, tr=tr)
    text = _environment("md").get_template("appeal.md.j2").render(page=page, **_words(tr))
    body = re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
    return body + "\n" + _markdown_proof(appeal, url, proof, tr)


_SIGNED = "@@masbot-signed-text@@"


def warm() -> None:
    """Compile every template now (a daemon starting), not in the first appeal's way."""
    for kind, suffix in (("html", ".html.j2"), ("md", ".md.j2")):
        env = _environment(kind)
        for name in env.list_templates(filter_func=lambda n: n.endswith(suffix)):
            if not name.startswith("site-"):
                env.get_template(name)


def html(appeal: Appeal, *, url: str | None = None, catalogue: Catalogue | None = None,
         proof: Proof | None = None, tr: Lang | None = None) -> str:
    """An HTML snippet (one ``<article>``) with h-entry markup, and schema.org Event
    microdata for gatherings; sanitised, so nothing but the emitted markup survives. It ends
    with how to check it and, with ``proof``, the clearsigned text in a ``<pre>``."""
    tr = tr or formats.language_of(appeal)
    if proof is not None:
        return _html_of(appeal, url, catalogue, proof, tr)
    # The same revision is shown in its post and then in every pass of the site's feed.
    catalogue = catalogue or builtin()  # what view.page would take
    key = (appeal, url, id(catalogue), tr.code)
    kept = _RENDERED.get(key)
    if kept is not None:
        return kept
    return _RENDERED.keep(key, _html_of(appeal, url, catalogue, None, tr), catalogue)


_RENDERED: Recent[str] = Recent(512)


_FOOTER = '<footer class="masbot-proof">'


def _html_of(appeal: Appeal, url: str | None, catalogue: Catalogue | None,
             proof: Proof | None, tr: Lang) -> str:
    if proof is None:
        return _whole_html(appeal, url, catalogue, None, tr)
    # The article without a proof is rendered already (the post showed it); only its footer
    # differs, so render that alone and put it in place: the same bytes for half the work.
    article = html(appeal, url=url, catalogue=catalogue, tr=tr)
    start = article.rfind(_FOOTER)
    end = article.find("</footer>", start) + len("</footer>")
    if start < 0 or end < start:
        return _whole_html(appeal, url, catalogue, proof, tr)
    raw = _environment("html").get_template("_proof.html.j2").render(
        proof_rows=proof_rows(appeal, url, proof, tr), signed=_SIGNED, **_words(tr))
    footer = _signed_in(re.sub(r"\n{2,}", "\n", sanitise(raw)).strip("\n"), proof)
    return article[:start] + footer + article[end:]


def _signed_in(out: str, proof: Proof) -> str:
    """``out`` with the signed text in place of the last :data:`_SIGNED` (a member may have
    written the marker in the story: only the footer's, the last, is the place)."""
    at = out.rfind(_SIGNED)
    if at < 0:
        return out
    return out[:at] + _html.escape(proof.signed_text, quote=False) + out[at + len(_SIGNED):]


def _whole_html(appeal: Appeal, url: str | None, catalogue: Catalogue | None,
                proof: Proof | None, tr: Lang) -> str:
    page = view.page(appeal, url=url, catalogue=catalogue, tr=tr)
    raw = _environment("html").get_template(page.html_template).render(
        page=page, proof_rows=proof_rows(appeal, url, proof, tr),
        signed=_SIGNED if proof is not None else None, **_words(tr))
    out = re.sub(r"\n{2,}", "\n", sanitise(raw)).strip("\n") + "\n"
    if proof is not None:  # after sanitising: its blank lines and spacing are signed
        out = _signed_in(out, proof)
    return out


def sanitise(fragment: str) -> str:
    """``fragment`` with only the tags, attributes and link schemes the kit emits."""
    return nh3.clean(fragment, tags=set(HTML_TAGS), attributes=HTML_ATTRIBUTES,
                     url_schemes=set(URL_SCHEMES), link_rel="nofollow noopener noreferrer",
                     clean_content_tags={"script", "style"}, strip_comments=True)


def _plain(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def _cut(text: str, room: int) -> str:
    """``text`` cut on a word boundary to at most ``room`` characters, with an ellipsis."""
    if len(text) <= room:
        return text
    if room < 2:
        return ""
    head = text[:room - 1]
    if " " in head and not text[room - 1].isspace():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-–—") + "…"


def share_text(appeal: Appeal, *, url: str | None = None,
               catalogue: Catalogue | None = None, tr: Lang | None = None) -> str:
    """At most :data:`SHARE_MAX` characters to repost: the member's ``Share-Text`` when
    given, else title, place, how to help and the link; cut on a word boundary, the link
    kept whole, no control characters."""
    page = view.page(appeal, url=url, catalogue=catalogue, tr=tr)
    link = _plain(page.share_link or "")
    prefix = f"{page.status_word.upper()}: " if page.status_word else ""
    given = _plain(str(appeal.get("Share-Text", "")))
    body = given or " ".join(p for p in (
        f"{_plain(appeal.title)} ({_plain(page.location)})." if page.location
        else f"{_plain(appeal.title)}.",
        _plain(page.share_help)) if p)
    room = SHARE_MAX - len(prefix) - (len(link) + 1 if link else 0)
    if room < 20:  # an absurdly long link: leave it out rather than the words
        link, room = "", SHARE_MAX - len(prefix)
    return (prefix + _cut(body, room) + (f" {link}" if link else ""))[:SHARE_MAX]


def ics(appeal: Appeal, *, url: str | None = None, proof: Proof | None = None,
        tr: Lang | None = None) -> str | None:
    """An iCalendar file (one VEVENT) for a gathering or a call-in window, else None."""
    tr = tr or formats.language_of(appeal)
    return ical.event(appeal, url=url, proof=tuple(
        f"{label}: {value}" for label, value in proof_rows(appeal, url, proof, tr)), tr=tr)


def kit(appeal: Appeal, *, url: str | None = None, catalogue: Catalogue | None = None,
        proof: Proof | None = None, tr: Lang | None = None) -> dict[str, str]:
    """Every rendering by file name: ``appeal.md``, ``appeal.html``, ``share.txt`` and,
    for gatherings and call-ins, ``appeal.ics``. Each says which appeal, revision, status and
    expiry it is, its permalink and (with ``proof``) who signed it; the HTML and Markdown
    carry the clearsigned text. ``share.txt`` is the text to post (at most
    :data:`SHARE_MAX` characters), a blank line, then those lines. All in the words of
    ``tr`` (default: the appeal's language)."""
    tr = tr or formats.language_of(appeal)
    check = "\n".join(f"{label}: {value}"
                      for label, value in proof_rows(appeal, url, proof, tr))
    files = {"appeal.md": markdown(appeal, url=url, catalogue=catalogue, proof=proof, tr=tr),
             "appeal.html": html(appeal, url=url, catalogue=catalogue, proof=proof, tr=tr),
             "share.txt": share_text(appeal, url=url, catalogue=catalogue, tr=tr) + "\n\n"
                          + check + "\n"}
    event = ics(appeal, url=url, proof=proof, tr=tr)
    if event is not None:
        files["appeal.ics"] = event
    return files
