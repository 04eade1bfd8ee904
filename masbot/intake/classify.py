"""The pipeline: an ordered table of named steps from an inbound message to a verdict.

Pure: the steps read an :class:`~masbot.intake.message.Inbound` and the template catalogue and return
a :class:`Verdict`. The first step that returns a verdict ends the chain; ``trace`` names the
steps that ran, so the way a message went can always be printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from masbot.story import answers
from masbot.story.templates import Catalogue
from masbot.intake.message import Inbound
from masbot.story.form import Form, parse
from masbot.story.validate import Validation, validate

_COMMAND = re.compile(r"^\s*(help|templates?)(?:\s+([A-Za-z][\w-]{0,30}))?(\s+examples?)?\s*[.!]?\s*$",
                      re.I)


@dataclass
class Verdict:
    """What to do with one inbound message."""

    kind: str  # request / invalid / help / template / not-a-request / automatic / unreadable / partner-post
    reason: str  # short, public: safe to log
    answer_subject: str | None = None
    answer_body: str | None = None  # None: no answer at all
    form: Form | None = None
    validation: Validation | None = None
    trace: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """Everything a step may read besides the message."""

    catalogue: Catalogue
    society: str
    today: date  # a datetime (aware) also gives validation the time of day
    partner_addresses: frozenset[str] = frozenset()  # every partner list address and List-Id


Step = Callable[[Inbound, Context], Verdict | None]


def _unreadable(msg: Inbound, ctx: Context) -> Verdict | None:
    if msg.problem is None:
        return None
    body = (f"{ctx.society} could not read your message: {msg.problem}.\n"
            "Please send your request as plain text in the body of a mail.\n")
    return Verdict("unreadable", msg.problem, "Your message could not be read", body)


def _automatic(msg: Inbound, ctx: Context) -> Verdict | None:
    if msg.automatic is None:
        return None
    return Verdict("automatic", f"automatic mail, not answered ({msg.automatic})")


def _from_partner(msg: Inbound, ctx: Context) -> bool:
    """True when a header names a partner's list (by address or as a List-Id)."""
    return any(a in ctx.partner_addresses for a in msg.from_addresses)


def _partner_post(msg: Inbound, ctx: Context) -> Verdict | None:
    # A society's post (a signed relay record) or anything from a partner's list goes to
    # signature verification, never to the member path; a member's own PGP-signed request
    # is neither, and is read like any other request.
    if not (msg.relay_post or _from_partner(msg, ctx)):
        return None
    return Verdict("partner-post", "a partner's post, to be verified")


def _moderation(msg: Inbound, ctx: Context) -> Verdict | None:
    # Signed or not: an unsigned command is refused as such, not read as a request form.
    if not re.search(r"(?m)^(?:- )?Moderation: (?:approve|reject)\b", msg.body):
        return None
    return Verdict("moderation", "a moderator's command, to be verified")


def _command_line(msg: Inbound) -> str:
    for line in msg.body.split("\n"):
        if line.strip():
            return line
    return msg.subject


def _command(msg: Inbound, ctx: Context) -> Verdict | None:
    m = _COMMAND.match(_command_line(msg)) or _COMMAND.match(msg.subject)
    if not m or parse(msg.body, "", ctx.catalogue).entries:
        return None  # a form that starts with "Help!" is a request, not a command
    word, name = m.group(1).casefold(), m.group(2)
    if word == "help" or not name:
        return Verdict("help", "help sent", f"How to ask {ctx.society} for help",
                       answers.help_text(ctx.catalogue, ctx.society))
    tpl = ctx.catalogue.template(name)
    if tpl is None:
        return Verdict("help", "unknown template asked for",
                       f"There is no template called {name[:30]}",
                       f"There is no template called '{name[:30]}'.\n\n"
                       + answers.help_text(ctx.catalogue, ctx.society))
    if m.group(3):  # "template bail example": the form filled in
        return Verdict("template", f"{tpl.name} example sent", f"An example {tpl.name} form",
                       answers.example_text(tpl, ctx.today))
    return Verdict("template", f"blank {tpl.name} form sent", f"The {tpl.name} form",
                   answers.template_text(tpl))


def _form(msg: Inbound, ctx: Context) -> Verdict | None:
    form = parse(msg.body, msg.subject, ctx.catalogue)
    if not form.entries and (form.template_name is None
                             or ctx.catalogue.template(form.template_name) is None):
        # No field at all, and at most a subject tag that names no template (a reply to an
        # answer, "[URGENT]", a spam filter's "[SPAM]"): explain how to write a request.
        body = ("Thank you for writing. This address only takes requests written in one of the "
                "society's forms, so your message was not posted.\n\n"
                + answers.help_text(ctx.catalogue, ctx.society))
        return Verdict("not-a-request", "no form fields found",
                       answers.reply_subject(msg.subject, "How to ask for help"), body)
    validation = validate(form, ctx.catalogue, ctx.today)
    if not validation.ok:
        errors = len(validation.errors)
        return Verdict("invalid", f"form has {errors} error{'s' if errors != 1 else ''}",
                       answers.reply_subject(msg.subject, "Your request needs changes"),
                       answers.annotated(form, validation), form, validation)
    return Verdict("request", f"valid {validation.template.name} request", form=form,
                   validation=validation)


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
            return verdict
    raise AssertionError("the form step always returns a verdict")
