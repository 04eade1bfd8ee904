"""Moderation: the notice a held appeal sends to the moderators, and the signed command that
decides it.

A moderator answers from their own mail app. Two forms are read, both signed by a pinned
moderator key (PGP/MIME as Thunderbird, K-9 Mail or FairEmail sign, or a clearsigned text):

* **a reply** whose first line of its own is ``approve`` or ``reject`` (or the word for it in
  any language masbot speaks, like ``aprobar`` or ``rechazar``; a reason may follow),
  quoting the notice's ``Moderation-Ref:`` line, which binds it to this society, this appeal
  revision and this notice; nothing else of the quoted notice is read;
* **a command block** (``Moderation: approve``, ``Society:``, ``Appeal-ID:``, ``Revision:``).

``held`` alone lists the appeals that wait. Only the signed text is read: a command outside
the signed part is not seen, so it is refused for having none. :func:`check_command` does the
I/O (gpg, through a throwaway keyring); the route (:mod:`masbot.flow`) decides from its
result, and the store obeys one signed command at most once (by its digest).

The notice and the answers are written in the society's language; why a command is refused
is a :class:`~masbot.lang.sentence.Sentence`, logged in English and said in that language.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from masbot import lang
from masbot.lang import N_, Lang
from masbot.lang.sentence import Sentence
from masbot.post import verify
from masbot.relay import loops
from masbot.signing.fingerprints import normalise
from masbot.signing.keyring import Keyring, KeyringError


class Verb(enum.StrEnum):
    """What a moderator may ask for."""

    APPROVE = "approve"
    REJECT = "reject"
    HELD = "held"  # list what waits


@dataclass(frozen=True)
class Command:
    """A verified moderator command."""

    verb: Verb
    appeal_id: str  # empty for HELD
    revision: int  # 0 for HELD
    signer: str  # the moderator key's fingerprint
    digest: str  # SHA-256 of the signed text: a command is obeyed once
    nonce: str | None = None  # the notice it answers (see :func:`notice_nonce`), if given
    note: str = ""  # a reject's reason, as the moderator wrote it

    @property
    def approve(self) -> bool:
        """True for ``approve``."""
        return self.verb == Verb.APPROVE


VERB_WORDS = {
    # TRANSLATORS: the one word a moderator writes to approve a held appeal (no spaces)
    Verb.APPROVE: N_("approve"),
    # TRANSLATORS: the one word a moderator writes to reject a held appeal (no spaces)
    Verb.REJECT: N_("reject"),
    # TRANSLATORS: the one word a moderator writes to get the list of held appeals (no spaces)
    Verb.HELD: N_("held"),
}
"""The word a moderator replies with for each verb, as marked for the catalogs. The English
word is understood in every society, and so is each language's own."""


@cache
def verb_words() -> dict[str, Verb]:
    """Every word a moderator may start a reply with (case-folded), in every language."""
    words = {}
    for code in reversed(lang.available()):  # English last: it wins a clash
        tr = lang.get(code)
        words.update({tr._(word).casefold(): verb for verb, word in VERB_WORDS.items()})
    return words


def verbs_pattern() -> str:
    """A regular expression for any of :func:`verb_words` (match it case-insensitively)."""
    return "|".join(re.escape(word) for word in sorted(verb_words(), key=len, reverse=True))


_REF = re.compile(r"^[ \t]*(?:>[ \t]*)*Moderation-Ref:[ \t]*([A-Z0-9][A-Z0-9-]{0,30})[ \t]+"
                  r"([A-Z0-9][A-Z0-9-]{0,60})[ \t]+r?(\d{1,6})[ \t]+([0-9a-f]{16})[ \t]*$",
                  re.M | re.I)


@cache
def _verb() -> re.Pattern[str]:
    return re.compile(r"^(" + verbs_pattern() + r")\b[\s:,.!-]*(.*)$", re.I)


def notice_nonce(society_id: str, appeal_id: str, revision: int, digest: str) -> str:
    """The token a notice carries for one held revision: derived from the revision's content
    digest, so a reply answers exactly this notice and no other revision or society."""
    text = f"{society_id}\n{appeal_id}\n{revision}\n{digest}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def reference(society_id: str, appeal_id: str, revision: int, digest: str) -> str:
    """The ``Moderation-Ref:`` line a notice carries and a reply quotes."""
    return (f"Moderation-Ref: {society_id} {appeal_id} {revision} "
            f"{notice_nonce(society_id, appeal_id, revision, digest)}")


def _own_lines(text: str) -> list[str]:
    """The lines the moderator wrote: not quoted, not blank."""
    return [line.strip() for line in text.split("\n")
            if line.strip() and not line.lstrip().startswith(">")]


def read_command(text: str, society_id: str, signer: str) -> Command | str:
    """The command in a verified signed ``text``, or why there is none. Pure."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    fields = loops.head(text)
    if "Moderation" in fields:  # the command block
        if fields["Moderation"] not in ("approve", "reject"):
            return Sentence(N_("Moderation must be approve or reject"))
        if fields.get("Society") != society_id:
            return Sentence(N_("it names the society {named}, not {society}"),
                            named=fields.get("Society", "(none)")[:20], society=society_id)
        if not fields.get("Appeal-ID") or not fields.get("Revision", "").isdigit():
            return Sentence(N_("it must name the Appeal-ID and Revision"))
        nonce = fields.get("Nonce")
        return Command(Verb(fields["Moderation"]), fields["Appeal-ID"], int(fields["Revision"]),
                       signer, digest, nonce if nonce and len(nonce) == 16 else None)
    own = _own_lines(text)
    first = _verb().match(own[0]) if own else None
    if first is None:
        return Sentence(N_("the signed text does not start with {approve}, {reject} or {held} "
                           "(only the signed part of a mail is read)"),
                        **{verb.value: Sentence(word) for verb, word in VERB_WORDS.items()})
    verb = verb_words()[first.group(1).casefold()]
    if verb == Verb.HELD:
        return Command(verb, "", 0, signer, digest)
    refs = {m.groups() for m in _REF.finditer(text)}
    if not refs:
        return Sentence(N_("the reply does not quote the notice's Moderation-Ref line, so it is "
                           "not known which appeal it answers"))
    if len(refs) > 1:
        return Sentence(N_("the reply quotes more than one Moderation-Ref line"))
    ((society, appeal_id, revision, nonce),) = refs
    if society != society_id:
        return Sentence(N_("it answers a notice of the society {named}, not {society}"),
                        named=society[:20], society=society_id)
    return Command(verb, appeal_id.upper(), int(revision), signer, digest, nonce.lower(),
                   first.group(2)[:200])


def check_command(raw: bytes, body: str, signed_mail: bool, society_id: str,
                  moderator_keys: Sequence[tuple[str, Path]]) -> Command | str:
    """The command of a mail verified against the pinned ``(fingerprint, key file)`` pairs,
    or why it is refused (a sentence safe to log and to send back).

    A PGP/MIME mail (``signed_mail``) is verified as a whole and its From must be the
    signer's; otherwise the body must be one clearsigned text.
    """
    pinned = {normalise(fingerprint) for fingerprint, _ in moderator_keys}
    if not pinned:
        return Sentence(N_("no moderator keys are configured"))
    if not signed_mail and "-----BEGIN PGP SIGNED MESSAGE-----" not in body:
        return Sentence(N_("the command is not signed: sign the reply with your moderator key "
                           "(PGP/MIME), or clearsign the command block"))
    try:
        with Keyring.of(*(path.read_bytes() for _, path in moderator_keys)) as ring:
            check = (verify.verify_signed_mail(raw, ring) if signed_mail
                     else verify.verify_appeal_text(body, ring))
    except (OSError, KeyringError) as exc:
        return Sentence(N_("the moderator keys could not be loaded ({error})"), error=str(exc))
    if isinstance(check, verify.Refused):
        if check.reason == verify.Reason.UNKNOWN_KEY:
            return Sentence(N_("it is not signed by a moderator's key ({detail})"),
                            detail=check.message)
        return str(check)
    if normalise(check.signer) not in pinned:
        return Sentence(N_("it is not signed by a moderator's key"))
    return read_command(check.text.replace("\r\n", "\n"), society_id, normalise(check.signer))


def notice_subject(appeal_id: str, title: str, tr: Lang = lang.get()) -> str:
    """The subject of the notice telling moderators ``appeal_id`` is held, in ``tr``'s
    language."""
    return tr._("[held] {appeal_id} {title}", appeal_id=appeal_id, title=title)[:200]


def notice(society_id: str, appeal_id: str, revision: int, digest: str, text: str,
           private: str, rule: str = "", expires: str = "", tr: Lang = lang.get()) -> str:
    """The text of the mail telling moderators an appeal revision is held, and how to decide,
    in ``tr``'s language (the society's). The ``Moderation-Ref:`` line and the command block
    are the same in every language: they are read by the bot."""
    ref = reference(society_id, appeal_id, revision, digest)
    nonce = notice_nonce(society_id, appeal_id, revision, digest)
    approve, reject, held = (tr._(VERB_WORDS[v]) for v in (Verb.APPROVE, Verb.REJECT, Verb.HELD))
    lines = [
        tr._("Appeal {appeal_id} (revision {revision}) waits for a moderator: the relay rule "
             "'{rule}' holds it.", appeal_id=appeal_id, revision=revision, rule=rule) if rule
        else tr._("Appeal {appeal_id} (revision {revision}) waits for a moderator.",
                  appeal_id=appeal_id, revision=revision),
        tr._("It can wait until {expires}; after that it is no longer posted.",
             expires=expires) if expires else "",
        tr._("Nothing about its sender is kept or shown here."),
        "",
        tr._("To decide, reply to this mail and sign the reply with your moderator key "
             "(PGP/MIME, as Thunderbird, K-9 Mail or FairEmail sign). Write one word on the "
             "first line:"),
        "",
        f"    {approve}",
        f"    {reject:<8} " + tr._("(a reason may follow on the same line)"),
        "",
        tr._('Keep the quoted line below in your reply: it says which appeal and which notice '
             'you answer. A signed reply is obeyed once, and only for this society. Reply '
             '"{held}" (signed) to get the list of appeals that wait.', held=held),
        "",
        ref,
        "",
        tr._("Or clearsign this block (gpg --clearsign) and mail it here; change approve to "
             "reject to refuse it:"),
        "",
        f"Moderation: approve\nSociety: {society_id}\nAppeal-ID: {appeal_id}\n"
        f"Revision: {revision}\nNonce: {nonce}",
        "",
        tr._("The appeal, as readers would see it:"),
        "",
        text.rstrip("\n"),
    ]
    body = "\n".join(line for i, line in enumerate(lines) if line or i > 2) + "\n"
    if private.strip():
        body += ("\n" + tr._("Private notes from the filer (never published, not kept):")
                 + "\n" + private + "\n")
    return body


def waiting_list(held: Sequence[tuple[str, int, str, str]], tr: Lang = lang.get()) -> str:
    """The answer to ``held``: one line per waiting revision (id, revision, title, expires),
    in ``tr``'s language."""
    if not held:
        return tr._("No appeal waits for a moderator.") + "\n"
    lines = [tr.ngettext("{n} appeal revision waits for a moderator:",
                         "{n} appeal revisions wait for a moderator:", len(held)), ""]
    lines += ["- " + tr._("{appeal_id} revision {revision}: {title} (can wait until {expires})",
                          appeal_id=appeal_id, revision=revision, title=title, expires=expires)
              for appeal_id, revision, title, expires in held]
    return ("\n".join(lines) + "\n\n"
            + tr._("Each was sent to you in a notice; reply to it to decide.") + "\n")
