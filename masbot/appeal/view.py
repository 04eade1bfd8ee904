"""What a reader sees of an appeal, as plain data the renderings share (:mod:`masbot.appeal.render`).

:func:`page` turns the canonical :class:`~masbot.appeal.canonical.Appeal` into a :class:`Page`: a
heading, a status note, a line of facts, then blocks in template order (consecutive one-line
fields grouped into one list of rows; sections as paragraphs; lists as items). Nothing here
escapes anything: each rendering escapes for its own format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import phonenumbers

from masbot.story import when
from masbot.appeal.canonical import ENDS_NOW, Appeal
from masbot.recent import Recent
from masbot.story.templates import Catalogue, FieldSpec, builtin

HIDDEN = frozenset({"Template", "Title", "Share-Text", "Contact-Public", "Medical-Details-OK",
                   "Quote-Consent", "Language", "Tags", "Location", "Filed-By", "Relation",
                   "Consent", "Supersedes", "Update", "Redirect-To", "Funds-Report",
                   "Stop-Sharing", "Images"})
"""Fields shown elsewhere on the page (heading, facts line, status note) or not at all."""
SECTIONS = frozenset({"Story", "How-To-Help", "Other-Needs", "Safety", "Why", "Script", "Body",
                      "Lede", "About", "Update", "Funds-Report", "Note"})
LABELS = {"Update": "Update", "Funds-Report": "How the money was used",
          "Redirect-To": "Give here instead", "Name-To-Publish": "For", "Start": "Starts",
          "End": "Ends", "Target-Phone": "Phone", "Target-Email": "Email"}
STATUS_NOTES = {
    "funded": "Funded. Thank you to everyone who gave.",
    "redirected": "This appeal is closed: please give at the link below instead.",
    "closed": "Closed. Thank you to everyone who gave; here is how the money was used.",
    "withdrawn": "Withdrawn. Please take down any reposts of this appeal.",
    "cancelled": "Cancelled.",
    "postponed": "Postponed. New details follow when there are any.",
}
ENDED = ENDS_NOW
"""Statuses after which readers are no longer asked to give: the donation links go (the
same statuses end an appeal's life at once, see :data:`masbot.appeal.canonical.ENDS_NOW`)."""
SHARE_NOTES = {
    "funded": "Funded, thank you!",
    "redirected": "Please give here instead:",
    "closed": "Thank you: the appeal is closed.",
    "withdrawn": "Please take down your reposts of it.",
    "cancelled": "Cancelled.",
    "postponed": "Postponed; new details to follow.",
}
"""What a share text says instead of "how to help" once the appeal has changed."""
CHOICE_WORDS = {
    ("Bail-Return", "fund"): "Returned bail stays with the fund for the next person",
    ("Bail-Return", "donors"): "Returned bail goes back to the donors",
    ("Bail-Return", "person"): "Returned bail goes to the person bailed out",
    ("Paid-To", "landlord-direct"): "Paid straight to the landlord",
    ("Paid-To", "tenant"): "Paid to the tenant",
    ("Paid-To", "utility"): "Paid straight to the utility",
    ("Lawyer-Reviewed", "yes"): "A lawyer reviewed this appeal",
    ("Lawyer-Reviewed", "no"): "Not reviewed by a lawyer",
}
"""Readable words for choice values a reader would otherwise see raw ("Bail return: fund")."""
CHOICE_LABELS = {"Bail-Return": "If bail is returned", "Paid-To": "Paid to",
                 "Lawyer-Reviewed": "Lawyer"}
EVENT_STATUS = {"cancelled": "https://schema.org/EventCancelled",
                "postponed": "https://schema.org/EventPostponed"}
_URL = re.compile(r"https://[^\s\x00-\x1f\x7f<>\"'`\\]+")
_ITEM = re.compile(r"^[-*•]\s+(.*)$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Part:
    """A piece of a row: text, maybe a link, a machine-readable time or a microdata name."""

    text: str
    href: str | None = None
    datetime: str | None = None
    prop: str | None = None


@dataclass(frozen=True)
class Para:
    """A paragraph of a section: one line (a member's hard-wrapped lines joined), or its
    items when every line is a list item."""

    lines: tuple[str, ...]
    bullets: bool = False


@dataclass(frozen=True)
class Row:
    """One one-line field: its label and its parts."""

    label: str
    parts: tuple[Part, ...]
    prop: str | None = None  # microdata property of the whole value
    scope: str | None = None  # microdata type when the value is an item of its own


@dataclass(frozen=True)
class Block:
    """A group of rows, a section (paragraphs of lines) or a list (items)."""

    kind: str  # "rows", "section" or "list"
    label: str = ""
    rows: tuple[Row, ...] = ()
    paragraphs: tuple[Para, ...] = ()
    items: tuple[Part, ...] = ()
    prop: str | None = None


@dataclass
class Page:
    """Everything the renderings show."""

    appeal: Appeal
    title: str
    location: str
    language: str
    published: str  # ISO 8601 UTC
    published_text: str
    society: str
    status: str
    status_note: str
    status_word: str  # "" while the appeal is open
    filed_by: str
    url: str | None
    event: bool  # a gathering: schema.org Event markup
    event_status: str
    tags: tuple[str, ...]
    update: list[Block] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    share_help: str = ""
    share_link: str | None = None
    supersedes: str = ""

    @property
    def html_template(self) -> str:
        return "gathering.html.j2" if self.event else "appeal.html.j2"


def human_time(moment: datetime) -> str:
    """``Sat 28 Nov 2026, 18:00`` (English names, whatever the locale)."""
    return (f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} "
            f"{moment.year}, {moment:%H:%M}")


def _label(name: str, spec: FieldSpec | None) -> str:
    if name in CHOICE_LABELS:
        return CHOICE_LABELS[name]
    if spec is not None and spec.label:
        return spec.label
    return LABELS.get(name) or name.replace("-", " ").capitalize()


def _paragraphs(text: str) -> tuple[Para, ...]:
    groups: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            groups[-1].append(line.strip())
        elif groups[-1]:
            groups.append([])
    out = []
    for lines in (g for g in groups if g):
        items = [m.group(1) for line in lines if (m := _ITEM.match(line))]
        out.append(Para(tuple(items), True) if len(items) == len(lines)
                   else Para((" ".join(lines),)))
    return tuple(out)


def _link_part(text: str) -> Part:
    return Part(text, href=text) if text.startswith("https://") else Part(text)


def _phone_part(value: str) -> Part:
    number, _, ext = value.partition(" ext. ")
    try:
        shown = phonenumbers.format_number(phonenumbers.parse(number, None),
                                           phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        shown = number
    return Part(shown + (f" ext. {ext}" if ext else ""),
                href=f"tel:{number}" + (f";ext={ext}" if ext else ""))


def _time_parts(name: str, value: str, event: bool) -> tuple[Part, ...]:
    if name == "Window":
        span = when.parse_window(value)
        if isinstance(span, tuple):
            start, end = span
            end_text = f"{end:%H:%M}" if end.date() == start.date() else human_time(end)
            return (Part(human_time(start), datetime=start.isoformat()), Part(when.DASH),
                    Part(end_text, datetime=end.isoformat()), Part(f" ({when.zone_of(start).key})"))
    moment = when.parse_moment(value)
    if moment is None:
        return (Part(value),)
    prop = {"Start": "startDate", "End": "endDate"}.get(name) if event else None
    return (Part(human_time(moment), datetime=moment.isoformat(), prop=prop),
            Part(f" ({when.zone_of(moment).key})"))


def _row(name: str, value: object, spec: FieldSpec | None, appeal: Appeal,
         event: bool) -> Row:
    label = _label(name, spec)
    kind = spec.kind if spec is not None else "text"
    if isinstance(value, tuple):
        return Row(label, tuple(_link_part(v) for v in value))
    text = str(value)
    if kind == "phone":
        return Row(label, (_phone_part(text),))
    if kind == "email":
        return Row(label, (Part(text, href=f"mailto:{text}"),))
    if kind == "link":
        return Row(label, (_link_part(text),))
    if kind in ("datetime", "window"):
        return Row(label, _time_parts(name, text, event))
    if (name, text) in CHOICE_WORDS:
        return Row(label, (Part(CHOICE_WORDS[(name, text)]),))
    if event and name == "Where":
        return Row(label, (Part(text, prop="name"), Part(", "),
                           Part(str(appeal.get("Location", "")), prop="address")),
                   prop="location", scope="https://schema.org/Place")
    return Row(label, (Part(text),))


def _blocks(appeal: Appeal, catalogue: Catalogue, event: bool) -> list[Block]:
    template = catalogue.template(appeal.template)
    blocks: list[Block] = []
    for name, value in appeal.fields:
        if name in HIDDEN or (name == "Donate" and appeal.status in ENDED):
            continue
        spec = template.field(name) if template is not None else None
        kind = spec.kind if spec is not None else ("section" if name in SECTIONS else "text")
        if kind == "section" or (isinstance(value, str) and "\n" in value):
            blocks.append(Block("section", _label(name, spec), paragraphs=_paragraphs(str(value)),
                                prop="description" if event and name == "Why" else None))
        elif kind == "list" and isinstance(value, tuple):
            blocks.append(Block("list", _label(name, spec), items=tuple(Part(v) for v in value)))
        else:
            row = _row(name, value, spec, appeal, event)
            if blocks and blocks[-1].kind == "rows":
                blocks[-1] = Block("rows", rows=blocks[-1].rows + (row,))
            else:
                blocks.append(Block("rows", rows=(row,)))
    return blocks


def _update_blocks(appeal: Appeal) -> list[Block]:
    blocks = []
    for name in ("Update", "Funds-Report"):
        text = str(appeal.get(name, ""))
        if text:
            blocks.append(Block("section", _label(name, None), paragraphs=_paragraphs(text)))
    redirect = str(appeal.get("Redirect-To", ""))
    if redirect:
        blocks.append(Block("rows", rows=(Row(_label("Redirect-To", None),
                                              (_link_part(redirect),)),)))
    return blocks


def _filed_by(appeal: Appeal) -> str:
    if appeal.get("Filed-By") != "champion":
        return ""
    relation = str(appeal.get("Relation", "")) or "a supporter"
    return f"Filed by a champion ({relation}); consent: {appeal.get('Consent', 'not given')}"


def _window_text(appeal: Appeal) -> str:
    """``Tue 1 Dec 2026, 09:00–17:00 (America/Los_Angeles)``."""
    span = when.parse_window(str(appeal.get("Window", "")))
    if not isinstance(span, tuple):
        return str(appeal.get("Window", ""))
    start, end = span
    end_text = f"{end:%H:%M}" if end.date() == start.date() else human_time(end)
    return f"{human_time(start)}{when.DASH}{end_text} ({when.zone_of(start).key})"


def _share_help(appeal: Appeal) -> tuple[str, str | None]:
    """A short "how to help" and the link to end the share text with."""
    donate = appeal.get("Donate", ())
    links = [d for d in donate if d.startswith("https://")] if isinstance(donate, tuple) else []
    template = appeal.template
    if template == "callin":
        phone = _phone_part(str(appeal.get("Target-Phone", ""))).text
        return f"Call {appeal.get('Target', '')} at {phone}, {_window_text(appeal)}.", None
    if template == "gathering":
        start = when.parse_moment(str(appeal.get("Start", "")))
        at = f", {human_time(start)}" if start else ""
        return f"Join us at {appeal.get('Where', '')}{at}.", None
    if template == "press":
        return str(appeal.get("Headline", "")), None
    if template == "disaster" and not links:
        needs = ", ".join(appeal.get("Needs", ()))
        return f"Needed: {needs}.", None
    first = str(appeal.get("How-To-Help", "")).split("\n\n")[0]
    if not links and isinstance(donate, tuple) and donate:
        first = f"Give: {donate[0]}. {first}"
    return " ".join(first.split()), links[0] if links else None


def check_url(url: str | None) -> None:
    """Raise ValueError unless ``url`` is None or one https link without spaces or quotes."""
    if url is not None and not _URL.fullmatch(url):
        raise ValueError(f"the appeal's url must be an https link: {url!r}")


def page(appeal: Appeal, *, url: str | None = None, catalogue: Catalogue | None = None) -> Page:
    """The reader's view of ``appeal``. ``url`` (https only) is where it is published.
    The same view is returned while it is kept (a revision's post, kit, page and feed entry
    each ask for it): treat it as read-only."""
    check_url(url)
    catalogue = catalogue or builtin()
    key = (appeal, url, id(catalogue))
    kept = _PAGES.get(key)
    if kept is not None:
        return kept
    return _PAGES.keep(key, _page(appeal, url, catalogue), catalogue)


_PAGES: Recent[Page] = Recent(256)


def _page(appeal: Appeal, url: str | None, catalogue: Catalogue) -> Page:
    event = appeal.template == "gathering"
    issued = appeal.issued.astimezone(timezone.utc)
    status_note = STATUS_NOTES.get(appeal.status, "")
    if appeal.status == "funded" and appeal.get("Stop-Sharing") == "yes":
        status_note += " Please stop sharing this appeal."
    help_text, link = _share_help(appeal)
    if appeal.status in SHARE_NOTES:
        help_text = SHARE_NOTES[appeal.status]
        if appeal.status == "funded" and appeal.get("Stop-Sharing") == "yes":
            help_text += " Please stop sharing this appeal."
    if appeal.status in ENDED:
        link = str(appeal.get("Redirect-To", "")) or None
    tags = appeal.get("Tags", ())
    return Page(
        appeal=appeal, title=appeal.title or appeal.appeal_id,
        location=str(appeal.get("Location", "")), language=str(appeal.get("Language", "")),
        published=issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        published_text=f"{issued.day} {_MONTHS[issued.month - 1]} {issued.year}",
        society=appeal.society, status=appeal.status, status_note=status_note,
        status_word="" if appeal.status == "open" else appeal.status,
        filed_by=_filed_by(appeal), url=url, event=event,
        event_status=EVENT_STATUS.get(appeal.status, "https://schema.org/EventScheduled"),
        tags=tags if isinstance(tags, tuple) else (),
        update=_update_blocks(appeal), blocks=_blocks(appeal, catalogue, event),
        share_help=help_text, share_link=url or link,
        supersedes=str(appeal.get("Supersedes", "")),
    )
