"""The relay's domain: partner societies, relay rules and their actions, as plain data.

The config module reads these from YAML; the rules (:mod:`masbot.relay.rules`) and the route
(:mod:`masbot.flow`) decide from them, never from the whole configuration.
"""

from __future__ import annotations

import enum
from pathlib import Path
from collections.abc import Iterable
from dataclasses import dataclass


class Direction(enum.StrEnum):
    """Which way posts go between this society and a partner."""

    SEND = "send"  # we post to the partner; its posts are not accepted
    RECEIVE = "receive"  # we accept the partner's posts; we post nothing to it
    BOTH = "both"


class RelayAction(enum.StrEnum):
    """What a relay rule does with an appeal."""

    RELAY = "relay"  # sign and send to the rule's destinations
    HOLD = "hold"  # keep it for a moderator's decision
    DROP = "drop"  # record it and send nothing


@dataclass(frozen=True)
class Partner:
    """A partner society: its list addresses and the one key its posts must be signed by."""

    name: str
    addresses: tuple[str, ...]
    fingerprint: str
    direction: Direction = Direction.BOTH
    key_file: Path | None = None

    @property
    def sends_to(self) -> bool:
        """True when this society posts to the partner (direction send or both)."""
        return self.direction in (Direction.SEND, Direction.BOTH)

    @property
    def receives_from(self) -> bool:
        """True when this society accepts posts from the partner (direction receive or both)."""
        return self.direction in (Direction.RECEIVE, Direction.BOTH)


@dataclass(frozen=True)
class RuleMatch:
    """A rule's criteria; None means "any". A tuple matches when any of its values does."""

    origin: str | None = None  # "any", "partner", "local" or a partner's name
    template: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    language: tuple[str, ...] | None = None
    location: tuple[str, ...] | None = None
    kind: str | None = None  # "new" or "update"


@dataclass(frozen=True)
class Action:
    """What to do, and for ``relay`` the targets: local, partners, moderators or a partner."""

    action: RelayAction
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One relay rule, with the line of the config it was written on."""

    name: str
    match: RuleMatch
    action: Action
    line: int


@dataclass(frozen=True)
class RuleTable:
    """Everything the relay decides from: the rules in order, the default, the lists."""

    local_list: str
    moderators: tuple[str, ...]
    partners: tuple[Partner, ...]
    rules: tuple[Rule, ...]
    default: Action

    def partner(self, name: str) -> Partner | None:
        """The partner called ``name``, or None."""
        return next((p for p in self.partners if p.name == name), None)

    def destinations(self, names: Iterable[str]) -> tuple[str, ...]:
        """The list addresses that relay targets stand for, de-duplicated, in order.

        ``local`` is the local list, ``partners`` every address of every partner we send to
        (direction send or both), ``moderators`` the moderators' addresses, and a partner's name
        all its addresses. Raises KeyError for any other name.
        """
        out: dict[str, None] = {}
        for name in names:
            if name == "local":
                found: Iterable[str] = (self.local_list,)
            elif name == "partners":
                found = (a for p in self.partners if p.sends_to for a in p.addresses)
            elif name == "moderators":
                found = self.moderators
            elif (partner := self.partner(name)) is not None:
                found = partner.addresses
            else:
                raise KeyError(name)
            out.update(dict.fromkeys(found))
        return tuple(out)

    def partner_addresses(self) -> frozenset[str]:
        """Every partner list address, casefolded, also in its List-Id spelling
        (``in.riverside.test``): mail naming one goes to signature verification."""
        addresses = [a.casefold() for p in self.partners for a in p.addresses]
        return frozenset(addresses + [a.replace("@", ".") for a in addresses])
