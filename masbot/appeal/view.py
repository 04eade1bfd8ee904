"""What a reader sees of an appeal, as plain data the renderings share (:mod:`masbot.appeal.render`).

:func:`page` turns the canonical :class:`~masbot.appeal.canonical.Appeal` into a :class:`Page`: a
heading, a status note, a line of facts, then blocks in template order (consecutive one-line
fields grouped into one list of rows; sections as paragraphs; lists as items). Nothing here
escapes anything: each rendering escapes for its own format.

Readers see an appeal in its language (:func:`~masbot.appeal.formats.language_of`): field
labels and choice values from the language's field file (``tr.words``), every fixed sentence
from its catalog, and dates, times and amounts as its locale writes them
(:mod:`masbot.appeal.formats`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import phonenumbers

from masbot import lang
from masbot.lang import N_, Lang
from masbot.story import when
from masbot.appeal.canonical import ENDS_NOW, Appeal
from masbot.appeal.formats import (amount_text, clock_text, issued_day_text, language_of,
                                   local_formats, moment_text, status_value, tag_of)
from masbot.recent import Recent
from masbot.story.templates import Catalogue, FieldSpec, builtin

HIDDEN = frozenset({"Template", "Title", "Share-Text", "Contact-Public", "Medical-Details-OK",
                   "Quote-Consent", "Language", "Tags", "Location", "Filed-By", "Relation",
                   "Consent", "Supersedes", "Update", "Redirect-To", "Funds-Report",
                   "Stop-Sharing", "Images"})
"""Fields shown elsewhere on the page (heading, facts line, status note) or not at all."""
SECTIONS = frozenset({"Story", "How-To-Help", "Other-Needs", "Safety", "Why", "Script", "Body",
                      "Lede", "About", "Update", "Funds-Report", "Note"})
LABELS = {
    # TRANSLATORS: a heading over the latest news of an appeal (what its filer wrote).
    "Update": N_("Update"),
    "Funds-Report": N_("How the money was used"),
    "Redirect-To": N_("Give here instead"),
    # TRANSLATORS: a label before the (only) name an appeal publishes: "For: Sam R."
    "Name-To-Publish": N_("For"),
    # TRANSLATORS: labels of a gathering's start and end time.
    "Start": N_("Starts"), "End": N_("Ends"),
    # TRANSLATORS: labels of the phone number and email address readers call or write to.
    "Target-Phone": N_("Phone"), "Target-Email": N_("Email")}
"""Reader labels that say more than the field's name; a language's field file may give its
own label for the field, else the catalog translates these."""
STATUS_NOTES = {
    "funded": N_("Funded. Thank you to everyone who gave."),
    "redirected": N_("This appeal is closed: please give at the link below instead."),
    "closed": N_("Closed. Thank you to everyone who gave; here is how the money was used."),
    "withdrawn": N_("Withdrawn. Please take down any reposts of this appeal."),
    "cancelled": N_("Cancelled."),
    "postponed": N_("Postponed. New details follow when there are any."),
}
STOP_SHARING = N_("Please stop sharing this appeal.")
ENDED = ENDS_NOW
"""Statuses after which readers are no longer asked to give: the donation links go (the
same statuses end an appeal's life at once, see :data:`masbot.appeal.canonical.ENDS_NOW`)."""
SHARE_NOTES = {
    "funded": N_("Funded, thank you!"),
    "redirected": N_("Please give here instead:"),
    "closed": N_("Thank you: the appeal is closed."),
    "withdrawn": N_("Please take down your reposts of it."),
    "cancelled": N_("Cancelled."),
    "postponed": N_("Postponed; new details to follow."),
}
"""What a share text says instead of "how to help" once the appeal has changed."""
CHOICE_WORDS = {
    ("Bail-Return", "fund"): N_("Returned bail stays with the fund for the next person"),
    ("Bail-Return", "donors"): N_("Returned bail goes back to the donors"),
    ("Bail-Return", "person"): N_("Returned bail goes to the person bailed out"),
    ("Paid-To", "landlord-direct"): N_("Paid straight to the landlord"),
    ("Paid-To", "tenant"): N_("Paid to the tenant"),
    ("Paid-To", "utility"): N_("Paid straight to the utility"),
    ("Lawyer-Reviewed", "yes"): N_("A lawyer reviewed this appeal"),
    ("Lawyer-Reviewed", "no"): N_("Not reviewed by a lawyer"),
}
"""Readable words for choice values a reader would otherwise see raw ("Bail return: fund")."""
CHOICE_LABELS = {"Bail-Return": N_("If bail is returned"), "Paid-To": N_("Paid to"),
                 "Lawyer-Reviewed": N_("Lawyer")}
EVENT_STATUS = {"cancelled": "https://schema.org/EventCancelled",
                "postponed": "https://schema.org/EventPostponed"}
_URL = re.compile(r"https://[^\s\x00-\x1f\x7f<>\"'`\\]+")
_ITEM = re.compile(r"^[-*•]\s+(.*)$")


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
    field: str = ""  # the canonical field name


@dataclass(frozen=True)
class Block:
    """A group of rows, a section (paragraphs of lines) or a list (items)."""

    kind: str  # "rows", "section" or "list"
    label: str = ""
    rows: tuple[Row, ...] = ()
    paragraphs: tuple[Para, ...] = ()
    items: tuple[Part, ...] = ()
    prop: str | None = None
    field: str = ""  # the canonical field name of a section or list


@dataclass
class Page:
    """Everything the renderings show."""

    appeal: Appeal
    title: str
    location: str
    language: str  # the appeal's Language: tag, "" when it has none
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
    tr: Lang = field(default_factory=lang.get)
    """The language of everything masbot writes on the page."""

    @property
    def html_template(self) -> str:
        return "gathering.html.j2" if self.event else "appeal.html.j2"

    @property
    def lang_tag(self) -> str:
        """The page's language as an HTML ``lang`` or a ``Content-Language`` (see
        :func:`tag_of`)."""
        return tag_of(self.appeal, self.tr)


def label(tr: Lang, name: str, spec: FieldSpec | None = None) -> str:
    """How readers of ``tr`` see field ``name``: the language's field file, else the
    reader label masbot gives it (translated), else the template's label, else the name."""
    if name in CHOICE_LABELS:
        default = tr._(CHOICE_LABELS[name])
    elif spec is not None and spec.label:
        default = spec.label
    elif name in LABELS:
        default = tr._(LABELS[name])
    else:
        default = name.replace("-", " ").capitalize()
    return tr.words.label(name, default)


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


def _zone(moment: datetime) -> Part:
    return Part(f" ({when.zone_of(moment).key})")


def _time_parts(name: str, value: str, event: bool, tr: Lang) -> tuple[Part, ...]:
    if name == "Window":
        span = when.parse_window(value)
        if isinstance(span, tuple):
            start, end = span
            end_text = (clock_text(tr, end) if end.date() == start.date()
                        else moment_text(tr, end))
            return (Part(moment_text(tr, start), datetime=start.isoformat()), Part(when.DASH),
                    Part(end_text, datetime=end.isoformat()), _zone(start))
    moment = when.parse_moment(value)
    if moment is None:
        return (Part(value),)
    prop = {"Start": "startDate", "End": "endDate"}.get(name) if event else None
    return (Part(moment_text(tr, moment), datetime=moment.isoformat(), prop=prop),
            _zone(moment))


def _day_value(tr: Lang, value: str) -> str:
    """A ``date`` or ``date-or-asap`` value as readers of ``tr`` read it."""
    if not local_formats(tr):
        return value
    if value == "ASAP":
        return tr._("as soon as possible")
    try:
        return tr.date(date.fromisoformat(value))
    except ValueError:
        return value


def _release_parts(tr: Lang, value: str) -> tuple[Part, ...]:
    """A press release's ``immediate`` or ``embargoed until <moment>``."""
    if not local_formats(tr):
        return (Part(value),)
    if value == "immediate":
        # TRANSLATORS: a press release's "Release:" field: it may be published at once.
        return (Part(tr._("immediate")),)
    moment = when.parse_moment(value.removeprefix("embargoed until "))
    if not value.startswith("embargoed until ") or moment is None:
        return (Part(value),)
    return (Part(tr._("embargoed until {moment}", moment=moment_text(tr, moment)),
                 datetime=moment.isoformat()), _zone(moment))


def _row(name: str, value: object, spec: FieldSpec | None, appeal: Appeal,
         event: bool, tr: Lang) -> Row:
    shown = label(tr, name, spec)
    kind = spec.kind if spec is not None else "text"
    if isinstance(value, tuple):
        return Row(shown, tuple(_link_part(v) for v in value), field=name)
    text = str(value)
    if kind == "phone":
        return Row(shown, (_phone_part(text),), field=name)
    if kind == "email":
        return Row(shown, (Part(text, href=f"mailto:{text}"),), field=name)
    if kind == "link":
        return Row(shown, (_link_part(text),), field=name)
    if kind in ("datetime", "window"):
        return Row(shown, _time_parts(name, text, event, tr), field=name)
    if kind in ("date", "date-or-asap"):
        return Row(shown, (Part(_day_value(tr, text)),), field=name)
    if kind == "amount":
        return Row(shown, (Part(amount_text(tr, text)),), field=name)
    if kind == "release":
        return Row(shown, _release_parts(tr, text), field=name)
    if (name, text) in CHOICE_WORDS:
        return Row(shown, (Part(tr._(CHOICE_WORDS[(name, text)])),), field=name)
    if kind == "choice":
        return Row(shown, (Part(tr.words.value(name, text)),), field=name)
    if event and name == "Where":
        return Row(shown, (Part(text, prop="name"), Part(", "),
                           Part(str(appeal.get("Location", "")), prop="address")),
                   prop="location", scope="https://schema.org/Place", field=name)
    return Row(shown, (Part(text),), field=name)


def _blocks(appeal: Appeal, catalogue: Catalogue, event: bool, tr: Lang) -> list[Block]:
    template = catalogue.template(appeal.template)
    blocks: list[Block] = []
    for name, value in appeal.fields:
        if name in HIDDEN or (name == "Donate" and appeal.status in ENDED):
            continue
        spec = template.field(name) if template is not None else None
        kind = spec.kind if spec is not None else ("section" if name in SECTIONS else "text")
        if kind == "section" or (isinstance(value, str) and "\n" in value):
            blocks.append(Block("section", label(tr, name, spec),
                                paragraphs=_paragraphs(str(value)),
                                prop="description" if event and name == "Why" else None,
                                field=name))
        elif kind == "list" and isinstance(value, tuple):
            blocks.append(Block("list", label(tr, name, spec),
                                items=tuple(Part(v) for v in value), field=name))
        else:
            row = _row(name, value, spec, appeal, event, tr)
            if blocks and blocks[-1].kind == "rows":
                blocks[-1] = Block("rows", rows=blocks[-1].rows + (row,))
            else:
                blocks.append(Block("rows", rows=(row,)))
    return blocks


def _update_blocks(appeal: Appeal, tr: Lang) -> list[Block]:
    blocks = []
    for name in ("Update", "Funds-Report"):
        text = str(appeal.get(name, ""))
        if text:
            blocks.append(Block("section", label(tr, name), paragraphs=_paragraphs(text),
                                field=name))
    redirect = str(appeal.get("Redirect-To", ""))
    if redirect:
        blocks.append(Block("rows", rows=(Row(label(tr, "Redirect-To"),
                                              (_link_part(redirect),), field="Redirect-To"),)))
    return blocks


def _filed_by(appeal: Appeal, tr: Lang) -> str:
    if appeal.get("Filed-By") != "champion":
        return ""
    relation = str(appeal.get("Relation", "")) or tr._("a supporter")
    consent = str(appeal.get("Consent", ""))
    return tr._("Filed by a champion ({relation}); consent: {consent}", relation=relation,
                consent=tr.words.value("Consent", consent) if consent else tr._("not given"))


def window_text(appeal: Appeal, tr: Lang) -> str:
    """``Tue 1 Dec 2026, 09:00–17:00 (America/Los_Angeles)``, in the words of ``tr``."""
    span = when.parse_window(str(appeal.get("Window", "")))
    if not isinstance(span, tuple):
        return str(appeal.get("Window", ""))
    start, end = span
    end_text = clock_text(tr, end) if end.date() == start.date() else moment_text(tr, end)
    return f"{moment_text(tr, start)}{when.DASH}{end_text} ({when.zone_of(start).key})"


def _share_help(appeal: Appeal, tr: Lang) -> tuple[str, str | None]:
    """A short "how to help" and the link to end the share text with."""
    donate = appeal.get("Donate", ())
    links = [d for d in donate if d.startswith("https://")] if isinstance(donate, tuple) else []
    template = appeal.template
    if template == "callin":
        phone = _phone_part(str(appeal.get("Target-Phone", ""))).text
        return tr._("Call {target} at {phone}, {window}.", target=appeal.get("Target", ""),
                    phone=phone, window=window_text(appeal, tr)), None
    if template == "gathering":
        start = when.parse_moment(str(appeal.get("Start", "")))
        if start is None:
            return tr._("Join us at {place}.", place=appeal.get("Where", "")), None
        return tr._("Join us at {place}, {time}.", place=appeal.get("Where", ""),
                    time=moment_text(tr, start)), None
    if template == "press":
        return str(appeal.get("Headline", "")), None
    if template == "disaster" and not links:
        return tr._("Needed: {needs}.", needs=", ".join(appeal.get("Needs", ()))), None
    first = str(appeal.get("How-To-Help", "")).split("\n\n")[0]
    if not links and isinstance(donate, tuple) and donate:
        first = tr._("Give: {handle}.", handle=donate[0]) + " " + first
    return " ".join(first.split()), links[0] if links else None


def check_url(url: str | None) -> None:
    """Raise ValueError unless ``url`` is None or one https link without spaces or quotes."""
    if url is not None and not _URL.fullmatch(url):
        raise ValueError(f"the appeal's url must be an https link: {url!r}")


def page(appeal: Appeal, *, url: str | None = None, catalogue: Catalogue | None = None,
         tr: Lang | None = None) -> Page:
    """The reader's view of ``appeal``. ``url`` (https only) is where it is published; ``tr``
    the language of the page (default: :func:`language_of` the appeal). The same view is
    returned while it is kept (a revision's post, kit, page and feed entry each ask for it):
    treat it as read-only."""
    check_url(url)
    catalogue = catalogue or builtin()
    tr = tr or language_of(appeal)
    key = (appeal, url, id(catalogue), tr.code)
    kept = _PAGES.get(key)
    if kept is not None:
        return kept
    return _PAGES.keep(key, _page(appeal, url, catalogue, tr), catalogue)


_PAGES: Recent[Page] = Recent(512)  # as many as render._RENDERED: a burst's site pass follows it


def _page(appeal: Appeal, url: str | None, catalogue: Catalogue, tr: Lang) -> Page:
    event = appeal.template == "gathering"
    issued = appeal.issued.astimezone(timezone.utc)
    stop = appeal.status == "funded" and appeal.get("Stop-Sharing") == "yes"
    status_note = tr._(STATUS_NOTES[appeal.status]) if appeal.status in STATUS_NOTES else ""
    if stop:
        status_note += " " + tr._(STOP_SHARING)
    help_text, link = _share_help(appeal, tr)
    if appeal.status in SHARE_NOTES:
        help_text = tr._(SHARE_NOTES[appeal.status])
        if stop:
            help_text += " " + tr._(STOP_SHARING)
    if appeal.status in ENDED:
        link = str(appeal.get("Redirect-To", "")) or None
    tags = appeal.get("Tags", ())
    published_text = issued_day_text(tr, issued.date())
    return Page(
        appeal=appeal, title=appeal.title or appeal.appeal_id,
        location=str(appeal.get("Location", "")), language=str(appeal.get("Language", "")),
        published=issued.strftime("%Y-%m-%dT%H:%M:%SZ"), published_text=published_text,
        society=appeal.society, status=appeal.status, status_note=status_note,
        status_word="" if appeal.status == "open" else status_value(tr, appeal.status),
        filed_by=_filed_by(appeal, tr), url=url, event=event,
        event_status=EVENT_STATUS.get(appeal.status, "https://schema.org/EventScheduled"),
        tags=tags if isinstance(tags, tuple) else (),
        update=_update_blocks(appeal, tr), blocks=_blocks(appeal, catalogue, event, tr),
        share_help=help_text, share_link=url or link,
        supersedes=str(appeal.get("Supersedes", "")), tr=tr,
    )
