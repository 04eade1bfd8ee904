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

from masbot.appeal.canonical import Appeal
from masbot.post import wire
from masbot.story.templates import Catalogue, Template, blank_form, builtin, example_form
from masbot.story.form import (ANNOTATED_HEADER, ANNOTATED_NOT_REPEATED, ANSWER_STOP, BLANK_HEADER,
                               EXAMPLE_HEADER, HELP_FOOTER, STATUS_HEADING, UPDATE_HEADER, Form)
from masbot.story.validate import Validation

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


def update_form(appeal_id: str, update_key: str, catalogue: Catalogue | None = None) -> list[str]:
    """The update form, filled in for this appeal, and the Status choices one line each.

    A member replies to the answer with a Status written in; the form parser reads a reply
    whose subject carries ``[APPEAL-ID]`` as an update even when the form lines are quoted
    or left out, and ignores the choice lines.
    """
    tpl = (catalogue or builtin()).template("update")
    status = tpl.field("Status") if tpl is not None else None
    lines = [
        f"{UPDATE_HEADER}: write one Status below (and what it asks for) and send it. Keep "
        "this mail: the Update-Key is shown only once and the society keeps only a "
        "fingerprint of it.",
        "",
        "Template: update",
        f"Refers-To: {appeal_id}",
        f"Update-Key: {update_key}",
        "Status:",
        "Note:",
        "",
        STATUS_HEADING,
    ]
    meanings: dict[str, str] = {}
    for part in (status.help if status else "").split("; "):
        if ": " in part:
            words, meaning = part.split(": ", 1)
            meanings.update(dict.fromkeys(words.split(" or "), meaning))
    lines += [f"{value} = {meanings.get(value, value)}" for value in
              (status.values if status else ())]
    return lines


def accepted(appeal: Appeal, update_key: str, validation: Validation, *, held: bool,
             catalogue: Catalogue | None = None) -> tuple[str, str]:
    """Subject and text telling a member their appeal is published (or held for review),
    with the update form filled in for it, and the public text."""
    lines = []
    if held:
        lines.append(f"Thank you. Your appeal {appeal.appeal_id} is valid and waits for a "
                     "moderator of the society before it is posted.")
    else:
        lines.append(f"Thank you. Your appeal is published as {appeal.appeal_id}.")
    lines.append("")
    if validation.warnings:
        lines.append("Please check:")
        lines += [f"? {w}" for w in validation.warnings]
        lines.append("")
    lines += update_form(appeal.appeal_id, update_key, catalogue)
    lines += ["", ANSWER_STOP, ""]
    lines += appeal.canonical_text().rstrip("\n").split("\n")
    return f"[{appeal.appeal_id}] {appeal.title}", "\n".join(lines) + "\n"


MAX_MARKS = 60
"""The most problems one answer lists (errors before warnings): enough to fix a real form,
and a junk mail cannot make the answer many times larger than itself."""
MAX_ECHO_CHARS = 20_000
"""How much of the member's own text an annotated answer repeats."""


def annotated(form: Form, validation: Validation) -> str:
    """The member's own text with ``! field: what is wrong`` under each line that needs work.

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
        text = f"{mark} {issue}"
        if issue.line is None:
            loose.append(text)
        else:
            by_line.setdefault(issue.line, []).append(text)
    out = [
        f"{ANNOTATED_HEADER} Lines marked ! must be fixed; lines marked ? are worth a second "
        "look. Correct your text and send it again (the marks may stay in: they are ignored).",
        "",
    ]
    if loose:
        out += loose + [""]
    echoed = 0
    for number, line in enumerate(form.lines, start=1):
        if number in form.skipped or line.lstrip().startswith(">"):
            continue
        if echoed + len(line) > MAX_ECHO_CHARS:
            out += ["", f"{ANNOTATED_NOT_REPEATED} {number}, is not repeated here]"]
            break
        echoed += len(line) + 1
        if not line.strip() and out and not out[-1] and not by_line.get(number):
            continue  # one blank line where the bot's own lines were left out
        out.append(line.rstrip())
        out += by_line.pop(number, [])
    for number, rest in sorted(by_line.items()):  # issues on lines not repeated above
        out += [f"(line {number}) {text}" for text in rest]
    if hidden > 0:
        out += ["", f"[{hidden} more problem{'s' if hidden != 1 else ''} not listed: fix these "
                    "first and send the text again]"]
    out += ["", f"{HELP_FOOTER}, or \"template NAME\" for a blank form."]
    return "\n".join(out) + "\n"


def help_text(catalogue: Catalogue, society: str, *, fingerprint: str | None = None,
              contact: str | None = None) -> str:
    """The list of templates and how to use them, in paragraphs a phone can reflow.

    Says that the sender's address is not kept; gives the society's signing key
    ``fingerprint`` and a human ``contact`` when they are handed in.
    """
    out = [f"{society} posts requests for help to its members and partner societies. Write "
           "your request in one of these forms and mail it here:", ""]
    for name in catalogue.names():  # short lines: they fit a phone without reflowing
        out.append(f"  {name:<10} {catalogue.templates[name].title}")
    out += ["",
            "Send \"template NAME\" (for example \"template bail\") to get a blank form, or "
            "\"template NAME example\" for one filled in. Put the template in the subject like "
            "\"[bail] Get Sam home\" or write \"Template: bail\" as the first line.",
            "",
            "Never include dates of birth, booking or case numbers, street addresses, or a "
            "person's full name without their consent: the appeal is public.",
            "",
            "Your address is not kept: the society answers you once and does not store who "
            "wrote, in its records or in what it publishes."]
    if fingerprint:
        out += ["", f"Everything {society} publishes is signed with the key {fingerprint}; "
                    "a copy that does not verify with it did not come from us."]
    if contact:
        out += ["", f"To reach a person at {society}: {contact}"]
    return "\n".join(out) + "\n"


def template_text(tpl: Template) -> str:
    """A blank form with instructions."""
    return (f"{BLANK_HEADER} Everything after the \"-- \" line is only notes.\n\n"
            + blank_form(tpl))


def example_text(tpl: Template, today: date) -> str:
    """The template's filled-in example, to copy and change."""
    return (f"{EXAMPLE_HEADER} {tpl.name} form: change it to your own request and send it "
            "here. Send \"template " + tpl.name + "\" for the blank form with what each field "
            "means.\n\n" + example_form(tpl, today))


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
