"""Loop prevention and freshness for posts that partners relay to us. Pure functions.

Everything here reads the signed content only (the relay record and the origin's appeal
text): list servers rewrite headers, so headers can neither prove nor disprove a loop.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from masbot.post.build import RelayRecord
from masbot.signing.fingerprints import normalise

HOP_LIMIT = 8
"""A post that has passed this many societies is not relayed further."""
FUTURE_SKEW = timedelta(hours=1)
_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")


def head(text: str) -> dict[str, str]:
    """The one-line ``Key: value`` fields of an appeal text, first occurrence of each."""
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        m = _LINE.match(line.rstrip("\r"))
        if m and m.group(1) not in fields:
            fields[m.group(1)] = m.group(2).strip()
    return fields


def why_not_relay(record: RelayRecord, own_fingerprint: str, seen: bool,
                  hop_limit: int = HOP_LIMIT) -> str | None:
    """Why a verified post must go no further, or None when it may."""
    own = normalise(own_fingerprint)
    if own in (normalise(f) for f in record.path):
        return "loop: this society is already on the post's path"
    if normalise(record.origin) == own:
        return "loop: this society's own appeal came back"
    if seen:
        return (f"already relayed: {record.appeal_id} revision {record.revision} from "
                f"{record.origin_name} was seen before")
    if len(record.path) >= hop_limit:
        return f"hop limit: the post has passed {len(record.path)} societies (limit {hop_limit})"
    return None


def why_stale(fields: dict[str, str], now: datetime) -> str | None:
    """Why an appeal is too old or dated in the future to relay, or None."""
    try:
        issued = datetime.strptime(fields.get("Issued", ""), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=timezone.utc)
        expires = date.fromisoformat(fields.get("Expires", ""))
    except ValueError:
        return "the appeal has no valid Issued or Expires date"
    if issued > now + FUTURE_SKEW:
        return f"future-dated: issued {fields['Issued']}"
    if expires < now.date():
        return f"stale: expired on {expires.isoformat()}"
    return None
