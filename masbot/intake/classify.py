"""The pipeline: an ordered table of named steps from an inbound message to a verdict.

Pure: the steps read an :class:`~masbot.intake.message.Inbound` and the template catalogue and return
a :class:`Verdict`. The first step that returns a verdict ends the chain; ``trace`` names the
steps that ran, so the way a message went can always be printed.
"""

from __future__ import annotations

import re
import enum
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar
from datetime import date
from typing import Callable

from masbot import lang, moderation
from masbot.intake import commands
from masbot.lang import Lang
from masbot.lang.sentence import say
from masbot.story import answers
from masbot.story.templates import Catalogue
from masbot.intake.message import Inbound
from masbot.story.form import Form, parse
from masbot.story.validate import Validation, validate

class VerdictKind(enum.StrEnum):
    """The kinds of verdict, as logged, recorded and printed."""

    PARTNER_POST = "partner-post"
    AUTOMATIC = "automatic"
    UNREADABLE = "unreadable"
    MODERATION = "moderation"
    HELP = "help"
    TEMPLATE = "template"
    NOT_A_REQUEST = "not-a-request"
    READER_REPLY = "reader-reply"
    INVALID = "invalid"
    REQUEST = "request"
    UPDATE = "update"


@dataclass(frozen=True)
class Reply:
    """An answer to the sender, decided by classification."""

    subject: str
    body: str


@dataclass
class Verdict:
    """What a message is. One subclass per kind; ``match`` on the class, not on ``kind``."""

    reason: str  # short, public: safe to log
    trace: list[str] = field(default_factory=list, kw_only=True)
    language: str = field(default="", kw_only=True)
    """The language of answers to the sender (a code :func:`masbot.lang.get` knows), as
    :func:`answer_lang` chose it; :func:`run` fills it in for every verdict."""
    kind: ClassVar[VerdictKind]

    @property
    def reply(self) -> Reply | None:
        """The answer classification already decided on, if any."""
        return None

    @property
    def answer_subject(self) -> str | None:
        """The reply's subject, or None."""
        return self.reply.subject if self.reply else None

    @property
    def answer_body(self) -> str | None:
        """The reply's text, or None when the sender gets no answer from classification."""
        return self.reply.body if self.reply else None


@dataclass
class Answered(Verdict):
    """A verdict that ends in one answer and nothing else."""

    answer: Reply

    @property
    def reply(self) -> Reply | None:
        return self.answer


@dataclass
class PartnerPost(Verdict):
    """A society's signed post, or anything from a partner's list: verified, never answered."""

    kind = VerdictKind.PARTNER_POST


@dataclass
class Automatic(Verdict):
    """Automatic mail (RFC 3834, bounces, lists): recorded, never answered."""

    kind = VerdictKind.AUTOMATIC


@dataclass
class Unreadable(Answered):
    """A mail masbot cannot read at all (size, MIME, charset)."""

    kind = VerdictKind.UNREADABLE


@dataclass
class ModeratorCommand(Verdict):
    """A moderator's approve or reject, to be verified against the pinned moderator keys."""

    kind = VerdictKind.MODERATION


@dataclass
class Help(Answered):
    """A ``help`` command, or a template asked for that does not exist."""

    kind = VerdictKind.HELP


@dataclass
class BlankForm(Answered):
    """A ``template NAME`` command: the blank form is the answer."""

    kind = VerdictKind.TEMPLATE


@dataclass
class NotARequest(Answered):
    """No form field at all: the answer explains how to write a request."""

    kind = VerdictKind.NOT_A_REQUEST


@dataclass
class ReaderReply(Answered):
    """A reader's reply to a post (it names an Appeal-ID but holds no form): the answer says
    how to reach the people behind the appeal; nothing is posted."""

    kind = VerdictKind.READER_REPLY


@dataclass
class Invalid(Answered):
    """A form with errors: the answer is the form annotated with them."""

    form: Form
    validation: Validation
    kind = VerdictKind.INVALID


@dataclass
class Request(Verdict):
    """A valid request for a new appeal."""

    form: Form
    validation: Validation
    kind = VerdictKind.REQUEST


@dataclass
class Update(Verdict):
    """A valid update form: it names an appeal and carries that appeal's Update-Key."""

    form: Form
    validation: Validation
    kind = VerdictKind.UPDATE

    @property
    def refers_to(self) -> str:
        """The Appeal-ID the update names, upper-cased."""
        return str(self.validation.values.get("Refers-To", "")).upper()

    @property
    def update_key(self) -> str:
        """The Update-Key the member gave."""
        return str(self.validation.values.get("Update-Key", ""))


@dataclass(frozen=True)
class Context:
    """Everything a step may read besides the message."""

    catalogue: Catalogue
    society: str
    today: date  # a datetime (aware) also gives validation the time of day
    partner_addresses: frozenset[str] = frozenset()  # every partner list address and List-Id
    society_id: str = ""
    fingerprint: str | None = None  # the society key, named in the help answer
    contact: str | None = None  # a human address, read by people
    site_url: str | None = None  # the public site, where every appeal has its page
    language: str = "en"  # the society's language: answers use it unless the member wrote in another


Step = Callable[[Inbound, Context], Verdict | None]


def answer_lang(ctx: Context, form: Form | None = None, spoken: str | None = None) -> Lang:
    """The language of an answer to the sender: the one the member's words were in (a
    command's, ``spoken``) or their form is written in, else the society's. The one place
    that decides it."""
    return lang.get(spoken or (form.language if form is not None else None) or ctx.language)


def _unreadable(msg: Inbound, ctx: Context) -> Verdict | None:
    if msg.problem is None:
        return None
    tr = answer_lang(ctx)
    body = (tr._("{society} could not read your message: {problem}.", society=ctx.society,
                 problem=say(msg.problem, tr)) + "\n"
            + tr._("Please send your request as plain text in the body of a mail.") + "\n")
    return Unreadable(msg.problem, Reply(tr._("Your message could not be read"), body),
                      language=tr.code)


def _automatic(msg: Inbound, ctx: Context) -> Verdict | None:
    if msg.automatic is None:
        return None
    return Automatic(f"automatic mail, not answered ({msg.automatic})")


def _from_partner(msg: Inbound, ctx: Context) -> bool:
    """True when a header names a partner's list (by address or as a List-Id)."""
    return any(a in ctx.partner_addresses for a in msg.from_addresses)


def _partner_post(msg: Inbound, ctx: Context) -> Verdict | None:
    # A society's post (a signed relay record) or anything from a partner's list goes to
    # signature verification, never to the member path; a member's own PGP-signed request
    # is neither, and is read like any other request.
    if not (msg.relay_post or _from_partner(msg, ctx)):
        return None
    return PartnerPost("a partner's post, to be verified")


_MODERATION = re.compile(
    r"^(?:- )?Moderation: (?:approve|reject)\b"  # a command block
    r"|^[ \t]*(?:>[ \t]*)*Moderation-Ref:",  # a reply to a notice, quoting it
    re.M)


@cache
def _signed_word() -> re.Pattern[str]:
    """A text that starts with a moderator's word (in any language), clearsigned or not."""
    return re.compile(r"\A\s*(?:-----BEGIN PGP SIGNED MESSAGE-----\n(?:Hash:[^\n]*\n)*\n)?"
                      r"\s*(?:" + moderation.verbs_pattern() + r")\b", re.I)


def _moderation(msg: Inbound, ctx: Context) -> Verdict | None:
    # Signed or not: an unsigned command is refused as such, not read as a request form.
    # A mail that starts with approve, reject or held and holds no form is a command too
    # ("held" alone asks for the list of waiting appeals).
    if not (_MODERATION.search(msg.body) or (_signed_word().match(msg.body)
                                              and not parse(msg.body, "", ctx.catalogue).entries)):
        return None
    return ModeratorCommand("a moderator's command, to be verified")


_APPEAL_ID = re.compile(r"\b([A-Z][A-Z0-9]{1,30}-20\d\d-\d{4,})\b")


def _quoted_appeal(msg: Inbound) -> str | None:
    """The Appeal-ID a reply is about: in its subject, else in the quoted post."""
    for text in (msg.subject, msg.body):
        if m := _APPEAL_ID.search(text.upper() if text is msg.subject else text):
            return m.group(1)
    return None


def _reader_answer(appeal_id: str, ctx: Context, tr: Lang) -> str:
    lines = [tr._("Thank you for writing about {appeal_id}. This address is {society}'s robot: "
                  "it reads only requests and updates written in the society's forms, so your "
                  "message was not passed on to anyone, and your address is not kept.",
                  appeal_id=appeal_id, society=ctx.society)]
    if ctx.contact:
        lines.append(tr._("To reach the people of the society, write to {contact}.",
                          contact=ctx.contact))
    lines.append(tr._("The appeal itself says how to help and whom to contact: look under "
                      "{how_to_help} and {contact}.",
                      how_to_help=tr.words.field_name("How-To-Help"),
                      contact=tr.words.field_name("Contact")))
    if ctx.site_url:
        base = ctx.site_url if ctx.site_url.endswith("/") else ctx.site_url + "/"
        own = appeal_id.startswith(ctx.society_id + "-") if ctx.society_id else False
        page = f"{base}appeals/{appeal_id}/"
        lines.append(tr._("Its page: {url}", url=page) if own
                     else tr._("The society's appeals: {url}", url=base))
    return "\n\n".join(lines) + "\n"


def _help_text(ctx: Context, tr: Lang) -> str:
    return answers.help_text(ctx.catalogue, ctx.society, fingerprint=ctx.fingerprint,
                             contact=ctx.contact, tr=tr)


def _command_line(msg: Inbound) -> str:
    for line in msg.body.split("\n"):
        if line.strip():
            return line
    return msg.subject


def _command(msg: Inbound, ctx: Context) -> Verdict | None:
    command = commands.read(_command_line(msg), ctx.catalogue) \
        or commands.read(msg.subject, ctx.catalogue)
    if command is None or parse(msg.body, "", ctx.catalogue).entries:
        return None  # a form that starts with "Help!" is a request, not a command
    name = command.name
    tr = answer_lang(ctx, spoken=command.language)
    if command.verb == "help" or not name:
        return Help("help sent", Reply(tr._("How to ask {society} for help", society=ctx.society),
                                       _help_text(ctx, tr)), language=tr.code)
    tpl = ctx.catalogue.template(name)
    if tpl is None:
        return Help("unknown template asked for", Reply(
            tr._("There is no template called {name}", name=name[:30]),
            tr._("There is no template called '{name}'.", name=name[:30]) + "\n\n"
            + _help_text(ctx, tr)), language=tr.code)
    shown = tr.words.template_name(tpl.name)
    if command.example:  # "template bail example": the form filled in
        return BlankForm(f"{tpl.name} example sent",
                         Reply(tr._("An example {template} form", template=shown),
                               answers.example_text(tpl, ctx.today, tr)), language=tr.code)
    return BlankForm(f"blank {tpl.name} form sent",
                     Reply(tr._("The {template} form", template=shown),
                           answers.template_text(tpl, tr)), language=tr.code)


def _reader_reply(form: Form) -> bool:
    """A reply to a post rather than an update: it names an appeal (in its subject or a quote)
    but the member wrote none of the update's own fields (Refers-To taken from the subject
    is not written by them: line 0)."""
    return not any(name in form.entries and form.entries[name].line > 0
                   for name in ("Update-Key", "Status", "Refers-To", "Template"))


def _form(msg: Inbound, ctx: Context) -> Verdict | None:
    form = parse(msg.body, msg.subject, ctx.catalogue)
    tr = answer_lang(ctx, form)
    no_form = not form.entries and (form.template_name is None
                                    or ctx.catalogue.template(form.template_name) is None)
    if (no_form or (form.template_name == "update" and _reader_reply(form))) \
            and (appeal_id := _quoted_appeal(msg)) is not None:
        return ReaderReply("a reader's reply about an appeal", Reply(
            answers.reply_subject(msg.subject, tr._("About {appeal_id}", appeal_id=appeal_id)),
            _reader_answer(appeal_id, ctx, tr)), language=tr.code)
    if no_form:
        # No field at all, and at most a subject tag that names no template (a reply to an
        # answer, "[URGENT]", a spam filter's "[SPAM]"): explain how to write a request.
        body = (tr._("Thank you for writing. This address only takes requests written in one "
                     "of the society's forms, so your message was not posted.") + "\n\n"
                + _help_text(ctx, tr))
        return NotARequest("no form fields found",
                           Reply(answers.reply_subject(msg.subject, tr._("How to ask for help")),
                                 body), language=tr.code)
    validation = validate(form, ctx.catalogue, ctx.today, tr=tr)
    if not validation.ok:
        errors = len(validation.errors)
        return Invalid(f"form has {errors} error{'s' if errors != 1 else ''}",
                       Reply(answers.reply_subject(msg.subject, tr._("Your request needs changes")),
                             answers.annotated(form, validation, tr)), form, validation,
                       language=tr.code)
    assert validation.template is not None  # a valid form always names its template
    if validation.template.name == "update":
        return Update(f"valid update of {str(validation.values.get('Refers-To', ''))[:40]}",
                      form, validation, language=tr.code)
    return Request(f"valid {validation.template.name} request", form, validation,
                   language=tr.code)


STEPS: list[tuple[str, Step]] = [
    # A partner's signed post usually arrives through a list (List-Id, Precedence: list):
    # it is looked at before the automatic-mail rule, and is never answered either way.
    ("partner-post", _partner_post),
    ("automatic", _automatic),
    ("unreadable", _unreadable),
    ("moderation", _moderation),
    ("command", _command),
    ("form", _form),
]


def run(msg: Inbound, ctx: Context) -> Verdict:
    """Run the steps in order until one returns a verdict."""
    trace: list[str] = []
    for name, step in STEPS:
        trace.append(name)
        verdict = step(msg, ctx)
        if verdict is not None:
            verdict.trace = trace
            verdict.language = verdict.language or answer_lang(ctx).code
            return verdict
    raise AssertionError("the form step always returns a verdict")
