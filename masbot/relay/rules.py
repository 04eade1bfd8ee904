"""Relay rules: which lists an appeal goes to, decided from plain data.

Rules are tried in order; the first whose every given criterion matches decides. A criterion
given as a list matches when any of its values matches. When no rule matches, the table's
``default`` decides. The trace says which rules were tried and why each did not match, so an
operator can ask "why did this go there?" and get the answer the code used.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from masbot.signing.fingerprints import normalise
from masbot.relay.partners import Action, RelayAction, Rule, RuleTable


class Kind(enum.StrEnum):
    """Whether an appeal revision is the first one or an update of it."""

    NEW = "new"
    UPDATE = "update"


LOCAL = "local"
"""The ``origin`` of an appeal filed with this society."""


@dataclass(frozen=True)
class Facts:
    """What the rules may look at: public facts of the appeal and where it came from."""

    origin: str  # LOCAL, or the name of the partner it came from
    template: str
    tags: tuple[str, ...] = ()
    language: str = ""
    location: str = ""
    kind: Kind = Kind.NEW

    @classmethod
    def of_appeal(cls, fields: dict[str, str], origin: str, revision: int) -> "Facts":
        """The facts of a relayed appeal from its one-line fields (see ``loops.head``)."""
        tags = tuple(t.strip().casefold() for t in fields.get("Tags", "").split(",") if t.strip())
        return cls(origin=origin, template=fields.get("Template", ""), tags=tags,
                   language=fields.get("Language", ""), location=fields.get("Location", ""),
                   kind=Kind.NEW if revision == 1 else Kind.UPDATE)


@dataclass(frozen=True)
class Decision:
    """The outcome: the action, the lists it goes to, which rule decided, and the trace."""

    action: RelayAction
    targets: tuple[str, ...]
    destinations: tuple[str, ...]
    rule: str
    trace: tuple[str, ...]


def _mismatch(rule: Rule, facts: Facts) -> str | None:
    """Why ``rule`` does not match ``facts``, or None when it matches."""
    m = rule.match
    if m.origin is not None:
        if m.origin == "any":
            pass
        elif m.origin == "partner":
            if facts.origin == LOCAL:
                return "origin is local, not a partner"
        elif m.origin != facts.origin:
            return f"origin is {facts.origin}, not {m.origin}"
    if m.template is not None and facts.template not in m.template:
        return f"template is {facts.template}, not {'/'.join(m.template)}"
    if m.tags is not None and not set(t.casefold() for t in m.tags) & set(facts.tags):
        return f"none of the tags {', '.join(m.tags)}"
    if m.language is not None and not any(
            facts.language.casefold() == lang.casefold()
            or facts.language.casefold().startswith(lang.casefold() + "-") for lang in m.language):
        return f"language is {facts.language or 'unknown'}, not {'/'.join(m.language)}"
    if m.location is not None and not any(
            loc.casefold() in facts.location.casefold() for loc in m.location):
        return f"location '{facts.location}' mentions none of {', '.join(m.location)}"
    if m.kind is not None and m.kind != facts.kind:
        return f"kind is {facts.kind}, not {m.kind}"
    return None


def decide(table: RuleTable, facts: Facts) -> Decision:
    """Apply the rules of ``table`` to ``facts``. Pure; never sends anything.

    An appeal is never sent back to the partner it came from.
    """
    trace: list[str] = []
    chosen: Action = table.default
    rule_name = "default"
    for rule in table.rules:
        why_not = _mismatch(rule, facts)
        if why_not is None:
            trace.append(f"rule '{rule.name}' (line {rule.line}): matches -> {rule.action.action}")
            chosen, rule_name = rule.action, rule.name
            break
        trace.append(f"rule '{rule.name}' (line {rule.line}): no match, {why_not}")
    else:
        trace.append(f"no rule matched: default -> {chosen.action}")
    destinations: tuple[str, ...] = ()
    if chosen.action == RelayAction.RELAY:
        exclude: set[str] = set()
        if facts.origin != LOCAL:
            origin = table.partner(facts.origin)
            if origin is not None:
                exclude = set(origin.addresses)
                trace.append(f"not sent back to {facts.origin}, where it came from")
        destinations = tuple(d for d in table.destinations(chosen.to) if d not in exclude)
    return Decision(chosen.action, tuple(chosen.to), destinations, rule_name, tuple(trace))


def off_path(table: RuleTable, decision: Decision, path: tuple[str, ...]) -> Decision:
    """``decision`` without the lists of societies already on a post's path."""
    on_path = {normalise(f) for f in path}
    skip = {a for p in table.partners if normalise(p.fingerprint) in on_path
            for a in p.addresses}
    if not skip & set(decision.destinations):
        return decision
    return replace(decision,
                   destinations=tuple(d for d in decision.destinations if d not in skip),
                   trace=decision.trace + ("not sent to societies already on the path",))
