"""``masbot rules explain``: the plan the daemon would make for one message, sent nowhere.

The same code as the daemon from end to end: :func:`masbot.intake.message.read` with the
configured limits, classification with the partners' lists, :mod:`masbot.gather` with the
society's keys and its store opened read-only, and :func:`masbot.flow.route`. Only the rate
limit is not counted, no Appeal-ID is taken and nothing is written.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import tempfile
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from masbot import flow, society
from masbot.config.settings import Config
from masbot.intake import classify
from masbot.intake import message as intake
from masbot.signing.keyring import from_config
from masbot.store import Store
from masbot.story import templates as forms

T = TypeVar("T")


@dataclass(frozen=True)
class Explanation:
    """A message's plan, or why it would not be handled at all (a duplicate)."""

    plan: flow.Plan | None
    duplicate: str | None = None  # the outcome recorded for the same bytes before


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to the end, also when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def explain(config: Config, fingerprint: str, raw: bytes, store_path: Any,
            use_store: bool = True, now: datetime | None = None) -> Explanation:
    """The plan for ``raw`` as the daemon of ``config`` would make it now.

    ``use_store`` False routes as if the store were empty (nothing seen, held or numbered).
    """
    now = now or datetime.now(timezone.utc)
    limits = config.limits
    msg = intake.read(raw, limits)
    store = Store.reader(store_path) if use_store else None
    try:
        if store is not None and (previous := store.handled(msg.digest)) is not None:
            return Explanation(None, previous)
        catalogue = forms.load(config.templates_dir)
        verdict = classify.run(msg, society.classify_context(config, catalogue, now,
                                                             fingerprint or None))
        # The keyring's throwaway home goes to the system's temporary directory, not under
        # data_dir: a dry run leaves nothing where the daemon keeps its state.
        with from_config(config, Path(tempfile.gettempdir())) as keyring:
            gatherer = society.gatherer(config, fingerprint, store, keyring, limiter=None)
            facts = _run(gatherer.facts(verdict, msg, raw, now))
        return Explanation(flow.route(verdict, society.society_facts(config, fingerprint,
                                                                      catalogue), facts))
    finally:
        if store is not None:
            store.close()


def lines(explanation: Explanation) -> Iterator[str]:
    """The explanation for people, one line at a time."""
    plan = explanation.plan
    if plan is None:
        yield (f"duplicate: these exact bytes were handled before ({explanation.duplicate}); "
               "the daemon would not handle them again")
        return
    verdict = plan.verdict
    yield f"classify: {' > '.join(verdict.trace)} -> {verdict.kind} ({verdict.reason})"
    yield f"route {plan.route}:"
    for step in plan.steps:
        yield f"  {step}"
    if plan.decision is not None:
        yield "rules:"
        for line in plan.decision.trace:
            yield f"  {line}"
        yield f"action: {plan.decision.action} (decided by {plan.decision.rule})"
        for destination in plan.destinations:
            yield f"  -> {destination}"
    yield f"outcome: {plan.outcome} ({plan.reason}), decided by {plan.decided_by}"
    yield "effects:"
    for line in flow.effects_of(plan):
        yield f"  {line}"
