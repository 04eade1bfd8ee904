"""Why something was refused: stable short codes and messages that are safe to log.

Messages never quote the mail (no From address, no text, no file names): they name only
parts, fingerprints, and the user ids and addresses of trusted keys and configured partners
(DESIGN §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why something was refused (stable short codes, safe to log)."""

    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    WRAPPED = "wrapped"                    # the signed part is inside something else
    HTML = "html"                          # the signed text sits inside HTML
    REFERENCE = "external-reference"       # content behind a reference (message/external-body)
    INLINE = "inline-signature"            # an inline-signed text inside an unsigned mail
    PREPENDED = "prepended-text"
    APPENDED = "appended-text"
    EXTRA_PART = "extra-part"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_KEY = "unknown-key"            # not in the keyring
    UNPINNED_KEY = "unpinned-key"          # in the keyring, but not a receiving partner's pin
    EXPIRED_KEY = "expired-key"
    REVOKED_KEY = "revoked-key"
    EXPIRED_SIGNATURE = "expired-signature"
    FROM_MISMATCH = "from-mismatch"
    NOT_CLEARSIGNED = "not-clearsigned"
    TEXT_OUTSIDE = "text-outside-signature"
    MULTIPLE_BLOCKS = "multiple-blocks"
    BAD_ARMOR = "bad-armor"
    BAD_CONTENT = "bad-content"            # signed content is not [appeal, record, key]
    BAD_RECORD = "bad-record"
    ORIGIN_MISMATCH = "origin-mismatch"
    APPEAL_SIGNATURE = "appeal-signature"  # the appeal does not verify with the origin key
    RECORD_MISMATCH = "record-mismatch"
    PATH_MISMATCH = "path-mismatch"
    IMAGE_MISMATCH = "image-mismatch"      # an image the origin's appeal does not list


@dataclass(frozen=True)
class Refused:
    """A negative answer: ``reason`` (a code) and ``message`` (for people)."""

    reason: Reason
    message: str
    ok = False

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class Refusal(Exception):
    """Raised inside the checks; turned into :class:`Refused` at the public functions."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.refused = Refused(reason, message)
