"""Answers to the person who wrote in: built here, sent at once, never stored.

Every answer is marked ``Auto-Submitted: auto-replied`` (RFC 3834) so that other robots do
not answer it, and is sent with a null envelope sender so its bounces come back to no one.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from masbot import lang
from masbot.lang import Lang
from masbot.lang.sentence import Sentence
from masbot.appeal.canonical import Appeal
from masbot.post import wire
from masbot.story.templates import (Catalogue, Template, blank_form, builtin, example_form,
                                    or_word)
from masbot.story.form import (ACCEPTED, ACCEPTED_HELD, ANNOTATED_HEADER, ANNOTATED_NOT_REPEATED,
                               ANSWER_STOP, BLANK_HEADER, EXAMPLE_HEADER, HELP_FOOTER, LINE_REF,
                               PLEASE_CHECK, STATUS_HEADING, UPDATE_HEADER, Form,
                               hidden_problems)
from masbot.story.validate import Issue, Validation

ENGLISH = lang.get()
_MESSAGE_ID = re.compile(r"^<[^<>\s]{1,250}>$")


@dataclass(frozen=True)
class Sender:
    """Who answers: the society's name and address."""

    name: str
    address: str


def _message(sender: Sender, to: str, subject: str, body: str, *, in_reply_to: str | None,
             now: datetime, message_id: str) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"{sender.name} <{sender.address}>"
    msg["To"] = to
    msg["Subject"] = " ".join(subject.split())[:250]
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if in_reply_to and _MESSAGE_ID.match(in_reply_to):
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["Auto-Submitted"] = "auto-replied"
    msg["Precedence"] = "auto_reply"
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    return msg


def _re(subject: str) -> str:
    subject = " ".join(subject.split())[:200]
    return subject if subject.casefold().startswith("re:") else f"Re: {subject}".rstrip()


def command_word(tr: Lang, verb: str) -> str:
    """The word of the one-line command ``verb`` (help, template, example) members of
    ``tr``'s language write; the English word when the language names none."""
    spellings = tr.words.commands.get(verb)
    return spellings[0] if spellings else verb


def update_form(appeal_id: str, update_key: str, catalogue: Catalogue | None = None,
                tr: Lang = ENGLISH) -> list[str]:
    """The update form, filled in for this appeal, and the Status choices one line each, in
    ``tr``'s language.

    A member replies to the answer with a Status written in; the form parser reads a reply
    whose subject carries ``[APPEAL-ID]`` as an update even when the form lines are quoted
    or left out, and ignores the choice lines.
    """
    words = tr.words
    tpl = (catalogue or builtin()).template("update")
    status = tpl.field("Status") if tpl is not None else None
    status_name = words.field_name("Status")
    lines = [
        tr._(UPDATE_HEADER, field=status_name) + " "
        + tr._("Keep this mail: the {key} is shown only once and the society keeps only a "
               "fingerprint of it.", key=words.field_name("Update-Key")),
        "",
        f"{words.field_name('Template')}: {words.template_name('update')}",
        f"{words.field_name('Refers-To')}: {appeal_id}",
        f"{words.field_name('Update-Key')}: {update_key}",
        f"{status_name}:",
        f"{words.field_name('Note')}:",
        "",
        tr._(STATUS_HEADING, field=status_name),
    ]
    values = [(value, words.value("Status", value)) for value in (status.values if status else ())]
    meanings = _meanings(words.help("Status", status.help if status else "", "update"),
                         [shown for _, shown in values], tr)
    lines += [f"{shown} = {meanings.get(shown, shown)}" for _, shown in values]
    return lines


def _meanings(help_text: str, values: list[str], tr: Lang) -> dict[str, str]:
    """What each choice means, read from a help text written ``value: meaning; value or
    value: meaning`` (in the language's own word for "or")."""
    either = {" or ", or_word(tr)}
    meanings: dict[str, str] = {}
    for part in help_text.split("; "):
        if ": " not in part:
            continue
        named, meaning = part.split(": ", 1)
        for word in either:
            named = named.replace(word, "\n")
        meanings.update(dict.fromkeys((n.strip() for n in named.split("\n")), meaning))
    return {value: meanings[value] for value in values if value in meanings}


def accepted(appeal: Appeal, update_key: str, validation: Validation, *, held: bool,
             catalogue: Catalogue | None = None, tr: Lang = ENGLISH) -> tuple[str, str]:
    """Subject and text telling a member their appeal is published (or held for review),
    with the update form filled in for it, and the public text; in ``tr``'s language (the
    public text is the appeal itself, as every partner reads it)."""
    lines = [tr._(ACCEPTED_HELD if held else ACCEPTED, appeal_id=appeal.appeal_id), ""]
    if validation.warnings:
        lines.append(tr._(PLEASE_CHECK))
        lines += [f"? {issue_text(w, tr)}" for w in validation.warnings]
        lines.append("")
    lines += update_form(appeal.appeal_id, update_key, catalogue, tr)
    lines += ["", tr._(ANSWER_STOP), ""]
    lines += appeal.canonical_text().rstrip("\n").split("\n")
    return f"[{appeal.appeal_id}] {appeal.title}", "\n".join(lines) + "\n"


def issue_text(issue: Issue, tr: Lang = ENGLISH) -> str:
    """How an answer states ``issue``: ``str(issue)``, with a sentence of the form parser's
    (a :class:`~masbot.lang.sentence.Sentence`) said in ``tr``'s language."""
    if isinstance(issue.message, Sentence):
        where = f"{tr.words.field_name(issue.field)}: " if issue.field else ""
        return where + issue.message.say(tr)
    return str(issue)


MAX_MARKS = 60
"""The most problems one answer lists (errors before warnings): enough to fix a real form,
and a junk mail cannot make the answer many times larger than itself."""
MAX_ECHO_CHARS = 20_000
"""How much of the member's own text an annotated answer repeats."""


def annotated(form: Form, validation: Validation, tr: Lang = ENGLISH) -> str:
    """The member's own text with ``! field: what is wrong`` under each line that needs work,
    the bot's own sentences in ``tr``'s language.

    Problems that belong to no line (a missing field) are listed first. At most
    :data:`MAX_MARKS` problems and :data:`MAX_ECHO_CHARS` characters of the text are shown,
    so the answer stays small whatever was sent.
    """
    ranked = sorted(validation.issues, key=lambda i: i.severity != "error")  # stable
    shown, hidden = {id(i) for i in ranked[:MAX_MARKS]}, len(ranked) - MAX_MARKS
    by_line: dict[int, list[str]] = {}
    loose: list[str] = []
    for issue in validation.issues:
        if id(issue) not in shown:
            continue
        mark = "!" if issue.severity == "error" else "?"
        text = f"{mark} {issue_text(issue, tr)}"
        if issue.line is None:
            loose.append(text)
        else:
            by_line.setdefault(issue.line, []).append(text)
    out = [
        tr._(ANNOTATED_HEADER) + " "
        + tr._("Lines marked ! must be fixed; lines marked ? are worth a second look. Correct "
               "your text and send it again (the marks may stay in: they are ignored)."),
        "",
    ]
    if loose:
        out += loose + [""]
    echoed = 0
    for number, line in enumerate(form.lines, start=1):
        if number in form.skipped or line.lstrip().startswith(">"):
            continue
        if echoed + len(line) > MAX_ECHO_CHARS:
            out += ["", tr._(ANNOTATED_NOT_REPEATED, line=number)]
            break
        echoed += len(line) + 1
        if not line.strip() and out and not out[-1] and not by_line.get(number):
            continue  # one blank line where the bot's own lines were left out
        out.append(line.rstrip())
        out += by_line.pop(number, [])
    for number, rest in sorted(by_line.items()):  # issues on lines not repeated above
        out += [f"{tr._(LINE_REF, line=number)} {text}" for text in rest]
    if hidden > 0:
        out += ["", hidden_problems(tr, hidden)]
    out += ["", tr._(HELP_FOOTER, help=command_word(tr, "help"),
                     template=command_word(tr, "template"))]
    return "\n".join(out) + "\n"


def help_text(catalogue: Catalogue, society: str, *, fingerprint: str | None = None,
              contact: str | None = None, tr: Lang = ENGLISH) -> str:
    """The list of templates and how to use them, in paragraphs a phone can reflow, in
    ``tr``'s language.

    Says that the sender's address is not kept; gives the society's signing key
    ``fingerprint`` and a human ``contact`` when they are handed in.
    """
    words = tr.words
    out = [tr._("{society} posts requests for help to its members and partner societies. "
                "Write your request in one of these forms and mail it here:", society=society),
           ""]
    for name in catalogue.names():  # short lines: they fit a phone without reflowing
        title = words.template_title(name, catalogue.templates[name].title)
        out.append(f"  {words.template_name(name):<10} {title}")
    bail = words.template_name("bail")
    out += ["",
            tr._('Send "{template} NAME" (for example "{template} {bail}") to get a blank form, '
                 'or "{template} NAME {example}" for one filled in. Put the template in the '
                 'subject like "[{bail}] Get Sam home" or write "{field}: {bail}" as the '
                 'first line.', template=command_word(tr, "template"), bail=bail,
                 example=command_word(tr, "example"), field=words.field_name("Template")),
            "",
            tr._("Never include dates of birth, booking or case numbers, street addresses, or a "
                 "person's full name without their consent: the appeal is public."),
            "",
            tr._("Your address is not kept: the society answers you once and does not store who "
                 "wrote, in its records or in what it publishes.")]
    if fingerprint:
        out += ["", tr._("Everything {society} publishes is signed with the key {fingerprint}; "
                         "a copy that does not verify with it did not come from us.",
                         society=society, fingerprint=fingerprint)]
    if contact:
        out += ["", tr._("To reach a person at {society}: {contact}", society=society,
                         contact=contact)]
    return "\n".join(out) + "\n"


def template_text(tpl: Template, tr: Lang = ENGLISH) -> str:
    """A blank form with instructions, in ``tr``'s language."""
    return (tr._(BLANK_HEADER) + " " + tr._('Everything after the "-- " line is only notes.')
            + "\n\n" + blank_form(tpl, tr))


def example_text(tpl: Template, today: date, tr: Lang = ENGLISH) -> str:
    """The template's filled-in example, to copy and change, in ``tr``'s language."""
    name = tr.words.template_name(tpl.name)
    return (tr._(EXAMPLE_HEADER, template=name) + " "
            + tr._('Send "{command} {template}" for the blank form with what each field '
                   'means.', command=command_word(tr, "template"), template=name)
            + "\n\n" + example_form(tpl, today, tr))


def build(sender: Sender, to: str, subject: str, body: str, *, in_reply_to: str | None,
          now: datetime, message_id: str) -> EmailMessage:
    """A complete answer message; ``now`` and ``message_id`` are handed in by the caller."""
    return _message(sender, to, subject, body, in_reply_to=in_reply_to, now=now,
                    message_id=message_id)


def build_bytes(sender: Sender, to: str, subject: str, body: str, *, in_reply_to: str | None,
                now: datetime, message_id: str) -> bytes:
    """The answer :func:`build` makes, written straight as bytes (no email objects)."""
    head = [wire.address_header("From", sender.name, sender.address),
            wire.header("To", to), wire.header("Subject", " ".join(subject.split())[:250]),
            wire.header("Date", format_datetime(now)), wire.header("Message-ID", message_id)]
    if in_reply_to and _MESSAGE_ID.match(in_reply_to):
        head += [wire.header("In-Reply-To", in_reply_to), wire.header("References", in_reply_to)]
    head += [b"Auto-Submitted: auto-replied\r\n", b"Precedence: auto_reply\r\n",
             b"MIME-Version: 1.0\r\n"]
    return b"".join(head) + wire.text_part(body)


def reply_subject(original: str, fallback: str) -> str:
    """``Re: <original>``, or the fallback when the original had none."""
    return _re(original) if original.strip() else fallback
