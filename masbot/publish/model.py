"""What the public site shows, read from the store: every appeal revision that was published
(our own and the partner appeals we relayed), grouped into appeals with their chain of
revisions. Plain data; nothing here writes files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from masbot.appeal import canonical
from masbot.appeal.canonical import Appeal
from masbot.appeal.reading import known_fields
from masbot.recent import Recent
from masbot.relay import loops
from masbot.signing.armor import FormatError, parse_clearsigned
from masbot.store import AppealRecord
from masbot.story.templates import Catalogue

PUBLIC_ACTION = "relay"
"""Only revisions that were posted (or approved by a moderator) are public; held and dropped
ones never reach the site."""
_SLUG = re.compile(r"[A-Z0-9]{2,16}-[0-9]{4}-[0-9]{4,}")


@dataclass(frozen=True)
class Revision:
    """One published revision: the appeal and the clearsigned text its origin signed."""

    appeal: Appeal
    signed_text: str

    @property
    def txt_name(self) -> str:
        """The file the clearsigned text is published as, next to the appeal's page."""
        return f"revision-{self.appeal.revision}.txt"


@dataclass(frozen=True)
class Entry:
    """One appeal on the site: its origin and its revisions, oldest first."""

    slug: str  # the directory under appeals/
    origin: str  # the origin society's fingerprint
    origin_name: str
    own: bool
    origin_key: str  # the origin's public key (partner appeals; ours is society.asc)
    revisions: tuple[Revision, ...]

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    @property
    def appeal_id(self) -> str:
        return self.current.appeal.appeal_id

    def state(self, today: date) -> str:
        """``open`` while readers are asked to help; else the status, or ``expired``."""
        appeal = self.current.appeal
        if appeal.status == "open" and appeal.expires < today:
            return "expired"
        return appeal.status

    def deadline(self) -> date:
        """The appeal's Needed-By date when it gives one, else its expiry."""
        needed = str(self.current.appeal.get("Needed-By", ""))[:10]
        try:
            return min(date.fromisoformat(needed), self.current.appeal.expires)
        except ValueError:
            return self.current.appeal.expires


def _appeal(record: AppealRecord, text: str, society: str, catalogue: Catalogue) -> Appeal:
    if record.fields not in ("", "[]"):
        head = loops.head(text)
        return canonical.restore(
            appeal_id=record.appeal_id, revision=record.revision,
            society=head.get("Society", society),
            issued=record.issued, expires=record.expires, status=record.status,
            updates_to=head.get("Updates-To", ""), fields=record.fields)
    template = loops.head(text).get("Template", "")
    return canonical.parse(text, known_fields(catalogue, template))


# Every pass of the site reads every revision again; a revision never changes once recorded.
_READ: Recent[Appeal] = Recent(4096)


def entries(records: list[AppealRecord], own: str, society: str,
            catalogue: Catalogue) -> list[Entry]:
    """The public appeals among ``records``, each with its public revisions in order.

    Own appeals are rebuilt from their stored fields (exactly what was signed); partner
    appeals are read back from the clearsigned text we verified. A record whose signed text
    cannot be read is left out rather than shown unsigned.
    """
    groups: dict[tuple[str, str], list[Revision]] = {}
    meta: dict[tuple[str, str], tuple[str, str]] = {}
    for record in sorted(records, key=lambda r: (r.origin, r.appeal_id, r.revision)):
        if record.action != PUBLIC_ACTION or not _SLUG.fullmatch(record.appeal_id):
            continue
        read = (record, society, id(catalogue))
        appeal = _READ.get(read)
        if appeal is None:
            try:
                text = parse_clearsigned(record.signed_text).text
                appeal = _READ.keep(read, _appeal(record, text, society, catalogue), catalogue)
            except (FormatError, ValueError, KeyError):
                continue
        key = (record.origin, record.appeal_id)
        groups.setdefault(key, []).append(Revision(appeal, record.signed_text))
        name = society if record.origin == own else (
            loops.head(record.record).get("Origin-Name") or appeal.society)
        meta[key] = (name, record.origin_key)
    out = []
    for (origin, appeal_id), revisions in groups.items():
        mine = origin == own
        slug = appeal_id if mine else f"{appeal_id}.{origin[-16:].lower()}"
        origin_name, origin_key = meta[(origin, appeal_id)]
        out.append(Entry(slug, origin, origin_name, mine, origin_key, tuple(revisions)))
    return out


def ordered(items: list[Entry], today: date) -> tuple[list[Entry], list[Entry]]:
    """Open appeals by deadline then date issued; then the rest, newest first."""
    open_ = sorted((e for e in items if e.state(today) == "open"),
                   key=lambda e: (e.deadline(), e.current.appeal.issued, e.slug))
    ended = sorted((e for e in items if e.state(today) != "open"),
                   key=lambda e: (e.current.appeal.issued, e.slug), reverse=True)
    return open_, ended
