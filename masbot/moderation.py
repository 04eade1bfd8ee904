"""Moderation: the notice a held appeal sends to the moderators, and the signed command that
decides it.

A command is a text clearsigned by a pinned moderator key that names this society, the
appeal and its revision (``Moderation: approve`` or ``reject``). :func:`check_command` is the
only part that does I/O (gpg, through a throwaway keyring); the route (:mod:`masbot.flow`)
decides from its result, and the store obeys one command at most once (by its digest).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from masbot.post import verify
from masbot.relay import loops
from masbot.signing.keyring import Keyring, KeyringError
from masbot.signing.fingerprints import normalise


@dataclass(frozen=True)
class Command:
    """A verified moderator command."""

    verb: str  # "approve" or "reject"
    appeal_id: str
    revision: int
    signer: str  # the moderator key's fingerprint
    digest: str  # SHA-256 of the signed text: a command is obeyed once

    @property
    def approve(self) -> bool:
        """True for ``approve``."""
        return self.verb == "approve"


def check_command(text: str, society_id: str, moderator_keys: Sequence[tuple[str, Path]]
                  ) -> Command | str:
    """The command in ``text`` verified against the pinned ``(fingerprint, key file)`` pairs,
    or why it is refused (a sentence safe to log and to send back)."""
    pinned = {normalise(fingerprint) for fingerprint, _ in moderator_keys}
    if not pinned:
        return "no moderator keys are configured"
    try:
        with Keyring.of(*(path.read_bytes() for _, path in moderator_keys)) as ring:
            check = verify.verify_appeal_text(text, ring)
    except (OSError, KeyringError) as exc:
        return f"the moderator keys could not be loaded ({exc})"
    if isinstance(check, verify.Refused):
        return str(check)
    if normalise(check.signer) not in pinned:
        return "it is not signed by a moderator's key"
    fields = loops.head(check.text)
    if fields.get("Moderation") not in ("approve", "reject"):
        return "Moderation must be approve or reject"
    if fields.get("Society") != society_id:
        return f"it names the society {fields.get('Society', '(none)')[:20]}, not {society_id}"
    if not fields.get("Appeal-ID") or not fields.get("Revision", "").isdigit():
        return "it must name the Appeal-ID and Revision"
    return Command(fields["Moderation"], fields["Appeal-ID"], int(fields["Revision"]),
                   normalise(check.signer),
                   hashlib.sha256(check.text.encode("utf-8")).hexdigest())


def notice(society_id: str, appeal_id: str, revision: int, text: str, private: str,
           rule: str = "") -> str:
    """The text of the mail telling moderators an appeal revision is held, and how to decide."""
    body = (f"Appeal {appeal_id} (revision {revision}) is held for moderation by the relay "
            f"rules{f' (rule: {rule})' if rule else ''}. Nothing about its sender is kept or "
            "shown here.\n\n"
            "To decide, clearsign this text with your moderator key (gpg --clearsign) and "
            "mail it here; change approve to reject to refuse it. Each signed command is "
            "obeyed once, and only for this society:\n\n"
            f"Moderation: approve\nSociety: {society_id}\nAppeal-ID: {appeal_id}\n"
            f"Revision: {revision}\nNonce: {secrets.token_hex(8)}\n\n"
            "The appeal:\n\n" + text)
    if private.strip():
        body += "\nPrivate notes from the filer (never published, not kept):\n" + private + "\n"
    return body
