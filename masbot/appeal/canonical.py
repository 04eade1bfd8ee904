"""The canonical appeal: the public text every rendering and every signature derives from."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from typing import Protocol

from masbot.appeal import HEAD_KEYS, IMAGES, Value

__all__ = ["HEAD_KEYS", "IMAGES", "Value", "Appeal", "Validated", "build", "revise", "restore",
           "parse", "appeal_id", "fields_json", "from_json"]


class Validated(Protocol):
    """A validated form, as the appeal needs it (see :class:`masbot.story.validate.Validation`)."""

    @property
    def ok(self) -> bool: ...

    @property
    def values(self) -> dict[str, Value]: ...

PENDING_CONSENT_DAYS = 7
"""Appeals filed with ``Consent: pending`` expire after a week unless updated."""


@dataclass(frozen=True)
class Appeal:
    """A published appeal at one revision. ``fields`` are public, in template order."""

    appeal_id: str
    revision: int
    society: str
    issued: datetime
    expires: date
    status: str
    updates_to: str
    fields: tuple[tuple[str, Value], ...]

    @property
    def template(self) -> str:
        return str(dict(self.fields)["Template"])

    @property
    def title(self) -> str:
        return str(dict(self.fields).get("Title", ""))

    @property
    def images(self) -> tuple[str, ...]:
        """``image-N.ext sha256:HEX`` for each published image (a system field, in the head,
        so the origin's signature binds the image bytes)."""
        value = dict(self.fields).get(IMAGES, ())
        return value if isinstance(value, tuple) else ()

    def get(self, name: str, default: Value = "") -> Value:
        """The value of public field ``name``."""
        return dict(self.fields).get(name, default)

    def canonical_text(self) -> str:
        """The text that is clearsigned: ``Key: value`` lines, sections, ``* `` items.

        No line starts with a dash, so clearsigning escapes nothing: a list item is ``* item``
        (a member's ``- item`` line in a section becomes ``* item`` too), and a reader who
        sees the signed text in a mail app reads the same lines the society wrote. Deterministic for the same appeal, ends with a newline and has no trailing
        whitespace, so it survives clearsigning and a copy-paste round trip.
        """
        head = [
            ("Appeal-ID", self.appeal_id),
            ("Revision", str(self.revision)),
            ("Society", self.society),
            ("Issued", self.issued.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
            ("Expires", self.expires.isoformat()),
            ("Status", self.status),
            ("Updates-To", self.updates_to),
        ]
        if self.images:
            head.append(("Images", ", ".join(self.images)))
        out = [f"{k}: {v}" for k, v in head]
        for name, value in self.fields:
            if name == IMAGES:
                continue
            if isinstance(value, tuple):
                if name in ("Tags",):
                    out.append(f"{name}: {', '.join(value)}")
                else:
                    out.append(f"{name}:")
                    out.extend(f"{ITEM}{item}" for item in value)
            elif "\n" in value or name in _SECTIONS:
                out.append(f"{name}:")
                out.extend(_section_line(line) for line in value.split("\n"))
            else:
                out.append(f"{name}: {value}")
        return "\n".join(out) + "\n"

    def digest(self) -> str:
        """SHA-256 of the canonical text: how an update names the revision it supersedes."""
        return hashlib.sha256(self.canonical_text().encode("utf-8")).hexdigest()


ITEM = "* "
"""How a list item starts in the canonical text (never ``- ``: clearsigning dash-escapes it)."""
_DASH_ITEM = re.compile(r"^-[ \t]+(?=\S)")
_FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):(?: (.*))?$")


def _section_line(line: str) -> str:
    """A section's line as published: trailing space gone, a ``- `` item as ``* ``."""
    if not line.strip():
        return ""
    return _DASH_ITEM.sub(ITEM, line.rstrip())


_SECTIONS = frozenset({"Story", "How-To-Help", "Other-Needs", "Safety", "Why", "Script", "Body",
                       "Update", "Funds-Report", "Lede", "About"})

UPDATE_FIELDS = ("Supersedes", "Update", "Redirect-To", "Funds-Report", "Stop-Sharing")
"""Fields an update adds; the next update replaces them."""
STATUS_AFTER = {"update": "open", "extended": "open", "corrected": "open", "funded": "funded",
                "redirect": "redirected", "closed": "closed", "withdrawn": "withdrawn",
                "cancelled": "cancelled", "postponed": "postponed"}
ENDS_NOW = frozenset({"redirected", "closed", "withdrawn", "cancelled"})


def fields_json(appeal: Appeal) -> str:
    """The public fields as JSON (lists for list values), to rebuild the appeal later."""
    return json.dumps([[k, list(v) if isinstance(v, tuple) else v] for k, v in appeal.fields],
                      ensure_ascii=False)


def from_json(text: str) -> tuple[tuple[str, Value], ...]:
    """The inverse of :func:`fields_json`."""
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in json.loads(text))


def restore(*, appeal_id: str, revision: int, society: str, issued: str, expires: str,
            status: str, updates_to: str, fields: str) -> Appeal:
    """An appeal revision rebuilt from what the store keeps (ISO dates, fields as JSON)."""
    return Appeal(appeal_id=appeal_id, revision=revision, society=society,
                  issued=datetime.fromisoformat(issued), expires=date.fromisoformat(expires),
                  status=status, updates_to=updates_to, fields=from_json(fields))


def revise(previous: Appeal, update: dict[str, Value], *, issued: datetime,
           appeal_days: int) -> Appeal:
    """The next revision of ``previous`` after a valid update form.

    It names the digest of the revision it supersedes, so readers can link the chain; a new
    Goal or Needed-By replaces the old; the Update-Key is never part of it.
    """
    status = STATUS_AFTER.get(str(update.get("Status", "update")), "open")
    # An update's post carries no images, so its text lists none (the revision before keeps them).
    fields = [(k, v) for k, v in previous.fields if k not in UPDATE_FIELDS and k != IMAGES]
    for name in ("Goal", "Needed-By"):
        if name in update:
            fields = [(k, update[name] if k == name else v) for k, v in fields]
    fields.append(("Supersedes", previous.digest()))
    for source, target in (("Note", "Update"), ("Redirect-To", "Redirect-To"),
                           ("Funds-Report", "Funds-Report"), ("Stop-Sharing", "Stop-Sharing")):
        if update.get(source):
            fields.append((target, update[source]))
    if status in ENDS_NOW:
        expires = issued.date()
    elif str(update.get("Status")) == "extended":
        expires = (issued + timedelta(days=appeal_days)).date()
    else:
        expires = previous.expires
    return Appeal(appeal_id=previous.appeal_id, revision=previous.revision + 1,
                  society=previous.society, issued=issued.astimezone(timezone.utc).replace(microsecond=0),
                  expires=expires, status=status, updates_to=previous.updates_to,
                  fields=tuple(fields))


def appeal_id(society_id: str, year: int, number: int) -> str:
    """``ANYTOWN-2026-0007``: the society, the year and a per-year sequence number."""
    return f"{society_id}-{year}-{number:04d}"


def build(validation: Validated, *, appeal_id: str, society: str, updates_to: str,
          issued: datetime, appeal_days: int, language: str = "") -> Appeal:
    """The first revision of an appeal from a valid form.

    ``issued`` is handed in (the core reads no clock); the appeal expires after
    ``appeal_days``, or after a week when consent is still pending. The appeal always says
    its ``Language``: the member's own ``Language`` field, else ``language`` (the language
    the member wrote the form in, or the society's), so that every partner's relay rules and
    readers' renderings know it.
    """
    if not validation.ok:
        raise ValueError("only a valid form becomes an appeal")
    days = PENDING_CONSENT_DAYS if validation.values.get("Consent") == "pending" else appeal_days
    fields = list(validation.values.items())
    if language and "Language" not in validation.values:
        after = next((i + 1 for i, (key, _) in enumerate(fields) if key == "Location"),
                     len(fields))
        fields.insert(after, ("Language", language))
    return Appeal(
        appeal_id=appeal_id,
        revision=1,
        society=society,
        issued=issued.astimezone(timezone.utc).replace(microsecond=0),
        expires=(issued + timedelta(days=days)).date(),
        status="open",
        updates_to=updates_to,
        fields=tuple(fields),
    )




def parse(text: str, known: frozenset[str] = frozenset()) -> Appeal:
    """An :class:`Appeal` read back from its canonical text (a partner's verified appeal).

    The head's system fields are required; after them each ``Key: value`` line is a field,
    and ``Key:`` alone opens a section or a list that runs until the next line naming a
    field. ``known`` are the field names of the appeal's template: when given, only they open
    a new field inside a section, so a member's ``Note: …`` line stays part of the story.
    Raises ValueError when the head is not an appeal's.
    """
    lines = text.rstrip("\n").split("\n")
    head: dict[str, str] = {}
    i = 0
    for i, line in enumerate(lines):
        m = _FIELD_LINE.match(line)
        if not m or m.group(1) not in HEAD_KEYS + (IMAGES,) or m.group(1) in head:
            break
        head[m.group(1)] = m.group(2) or ""
    else:
        i = len(lines)
    missing = [k for k in HEAD_KEYS if k not in head]
    if missing or not head["Revision"].isdigit():
        raise ValueError(f"not an appeal's text: {', '.join(missing) or 'Revision'} missing")
    fields: list[tuple[str, Value]] = []
    if head.get(IMAGES):
        fields.append((IMAGES, tuple(x.strip() for x in head[IMAGES].split(","))))
    name: str | None = None
    body: list[str] = []

    def close() -> None:
        if name is None:
            return
        filled = [t for t in body if t.strip()]
        if filled and all(t.startswith(ITEM) or t.startswith("- ") for t in filled):
            fields.append((name, tuple(t[2:].strip() for t in filled)))
        else:
            fields.append((name, "\n".join(body).strip("\n")))

    for line in lines[i:]:
        m = _FIELD_LINE.match(line)
        opens = m is not None and (not known or m.group(1) in known or name is None)
        if m and opens:
            close()
            name, body = None, []
            if m.group(2) is None:
                name = m.group(1)
            elif m.group(1) == "Tags":
                fields.append(("Tags", tuple(t.strip() for t in m.group(2).split(","))))
            else:
                fields.append((m.group(1), m.group(2)))
        elif name is not None:
            body.append(line)
    close()
    issued = datetime.strptime(head["Issued"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return Appeal(appeal_id=head["Appeal-ID"], revision=int(head["Revision"]),
                  society=head["Society"], issued=issued,
                  expires=date.fromisoformat(head["Expires"]), status=head["Status"],
                  updates_to=head["Updates-To"], fields=tuple(fields))
