"""One society at work: it carries out what :mod:`masbot.flow` decides for each message.

For every inbound message: read it (:mod:`masbot.intake.message`), classify it, gather the
facts its route needs (:mod:`masbot.gather`), walk the route (:func:`masbot.flow.route`), then
carry out the plan's effects here, with the concurrency they need: several messages at once
so gpg signs in parallel, one image decoded at a time, and the updates of one appeal taking
turns.

:meth:`Society.handle` promises: when it returns, the message's outcome is committed to the
store, so the caller may remove the original; a message already handled (same bytes) is
recognised and never posted twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from masbot import flow, gather, lang, moderation
from masbot.appeal import canonical as appeals
from masbot.appeal import formats, reading
from masbot.config.settings import Config
from masbot.intake import classify
from masbot.intake import message as intake
from masbot.intake.ratelimit import RateLimiter
from masbot.post import build as post
from masbot.post import verify
from masbot.relay import loops
from masbot.relay.answers import AnswerSender
from masbot.relay.delivery import Deliverer
from masbot.relay.partners import RelayAction
from masbot.relay.smtp import DeliveryError, Transport, send_one
from masbot.signing.keyring import Keyring
from masbot.signing.signer import Signer
from masbot.store import Answer, AppealRecord, Store
from masbot.story import answers
from masbot.story import templates as forms

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What became of one inbound message (public facts only; safe to log and print)."""

    ref: str
    kind: flow.OutcomeKind
    reason: str
    appeal_id: str | None = None
    action: str | None = None
    destinations: tuple[str, ...] = ()
    answered: bool = False
    trace: list[str] = field(default_factory=list)
    decided_by: str = ""


@dataclass
class _Turns:
    """The updates of one appeal in hand: they take turns with ``lock``."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


def society_facts(config: Config, fingerprint: str,
                  catalogue: forms.Catalogue | None = None) -> flow.Society:
    """What the routes need to know of the society, from its configuration."""
    soc = config.society
    return flow.Society(id=soc.id, name=soc.name, address=soc.address, language=soc.language,
                        appeal_days=soc.appeal_days, fingerprint=fingerprint,
                        table=config.routing, catalogue=catalogue)


def classify_context(config: Config, catalogue: forms.Catalogue, now: datetime,
                     fingerprint: str | None = None) -> classify.Context:
    """What classification needs: the templates, the society's name and its partners' lists."""
    return classify.Context(catalogue, config.society.name, now,
                            config.routing.partner_addresses(), society_id=config.society.id,
                            fingerprint=fingerprint, contact=config.society.contact,
                            site_url=config.publish.base_url,
                            language=config.society.language)


def gatherer(config: Config, fingerprint: str, store: Store | None, keyring: Keyring | None,
             limiter: RateLimiter | None) -> gather.Gatherer:
    """Where the facts of ``config``'s society come from; ``limiter`` None: a dry run."""
    return gather.Gatherer(
        society_id=config.society.id, fingerprint=fingerprint, partners=config.partners,
        attachments=config.attachments, store=store, keyring=keyring,
        moderator_keys=tuple((k.fingerprint, k.key_file) for k in config.moderator_keys),
        limiter=limiter)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


class Society:
    """Handles inbound messages for one society."""

    def __init__(self, config: Config, store: Store, signer: Signer, answers_via: Transport,
                 deliverer: Deliverer | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 workers: int = 8, keyring: Keyring | None = None,
                 answers: AnswerSender | None = None) -> None:
        self.store = store
        # The answer queue: answers are recorded with the outcome and sent with retries.
        # Without it (tests of one message, the operator's shell) they are sent at once.
        self.answers = answers
        self.signer = signer
        self.answers_via = answers_via
        self.deliverer = deliverer
        self.clock = clock
        self.public_key = signer.export_public()
        self.keyring = keyring  # the partners' pinned keys; without it partner posts are refused
        # One image is decoded at a time: a decoded 40-megapixel image takes hundreds of MB.
        self._image_slot = asyncio.Semaphore(1)
        # Up to ``workers`` messages are handled at once, so that gpg signs in parallel.
        self._slots = asyncio.Semaphore(workers)
        self._updating: dict[str, _Turns] = {}  # appeal id -> its updates taking turns
        self._in_hand: set[str] = set()  # digests being handled right now
        self._idle = asyncio.Event()
        self._idle.set()
        self.limiter = RateLimiter(config.limits.per_sender_per_hour,
                                   config.limits.answers_per_minute)
        self.reconfigure(config)

    def reconfigure(self, config: Config, keyring: Keyring | None = None) -> None:
        """Use a new, already checked config (and its partners' keys) from the next message on."""
        self.config = config
        if keyring is not None:
            self.keyring = keyring
        self.catalogue = forms.load(config.templates_dir)
        self.limiter.per_sender_per_hour = config.limits.per_sender_per_hour
        self.limiter.answers.limit = config.limits.answers_per_minute
        self.facts_of = society_facts(config, self.signer.fingerprint, self.catalogue)
        self.gatherer = gatherer(config, self.signer.fingerprint, self.store, self.keyring,
                                 self.limiter)
        self.gatherer.image_slot = self._image_slot

    def _message_id(self) -> str:
        return f"<{secrets.token_hex(16)}@{_domain(self.config.society.address)}>"

    async def handle(self, raw: bytes) -> Outcome:
        """Handle one message end to end; see the module docstring for the promise."""
        async with self._slots:
            self._idle.clear()
            try:
                return await self._handle(raw)
            finally:
                if not self._in_hand:
                    self._idle.set()

    async def quiesce(self) -> None:
        """Return once no message is being handled."""
        await self._idle.wait()

    async def _handle(self, raw: bytes) -> Outcome:
        limits = self.config.limits
        msg = intake.read(raw, limits)
        previous = self.store.handled(msg.digest)
        if previous is not None or msg.digest in self._in_hand:
            log.info("message %s: already handled (%s); not handled again", msg.ref,
                     previous or "a copy is in hand")
            return Outcome(msg.ref, flow.OutcomeKind.DUPLICATE,
                           f"already handled ({previous or 'in hand'})")
        self._in_hand.add(msg.digest)
        try:
            now = self.clock()
            verdict = classify.run(msg, classify_context(self.config, self.catalogue, now,
                                                         self.signer.fingerprint))
            if isinstance(verdict, classify.Update):
                async with self._turn(verdict.refers_to):
                    return await self._route(msg, raw, verdict, now)
            return await self._route(msg, raw, verdict, now)
        finally:
            self._in_hand.discard(msg.digest)

    @asynccontextmanager
    async def _turn(self, appeal_id: str) -> AsyncIterator[None]:
        """Two updates to one appeal handled at once would both build its revision n+1, so
        they take turns; updates to other appeals do not wait."""
        entry = self._updating.setdefault(appeal_id, _Turns())
        entry.waiting += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.waiting -= 1
            if not entry.waiting:
                del self._updating[appeal_id]

    async def _route(self, msg: intake.Inbound, raw: bytes, verdict: classify.Verdict,
                     now: datetime) -> Outcome:
        facts = await self.gatherer.facts(verdict, msg, raw, now)
        plan = flow.route(verdict, self.facts_of, facts)
        outcome = Outcome(msg.ref, plan.outcome, plan.reason, plan.appeal_id,
                          trace=plan.trace, decided_by=plan.decided_by)
        await self._carry_out(plan, msg, now, outcome)
        log.info("message %s: %s (%s), decided by %s via %s", msg.ref, outcome.kind,
                 outcome.reason, outcome.decided_by, " > ".join(verdict.trace))
        return outcome

    async def _carry_out(self, plan: flow.Plan, msg: intake.Inbound, now: datetime,
                         outcome: Outcome) -> None:
        """Carry out ``plan``'s effects in order. The answer and the moderators' notices are
        queued in the same transaction as the outcome, so none is lost to a crash or an SMTP
        outage."""
        answer = self._answer_of(plan, msg, now)
        notices = [notice for effect in plan.effects if isinstance(effect, flow.NotifyModerators)
                   for notice in self._notices(effect, now)]
        queued = ([answer] if answer else []) + notices if self.answers is not None else []
        for effect in plan.effects:
            match effect:
                case flow.Record(outcome=kind):
                    await self.store.write(lambda s: s.record(msg.digest, kind, answers=queued))
                case flow.Issue():
                    await self._issue(effect, msg, now, outcome, queued)
                case flow.Relay():
                    if not await self._relay(effect, msg, now, outcome):
                        return
                case flow.Moderate():
                    if not await self._moderate(effect, msg.digest, now, outcome, queued):
                        tr = lang.get(self.config.society.language)  # for a moderator
                        refusal = self._build_answer(
                            msg, tr._("Moderation refused"),
                            tr._("Your command was not obeyed: {why}.",
                                 why=tr._("this command was used before")) + "\n", now)
                        refused = [refusal] if refusal and self.answers else []
                        await self.store.write(lambda s: s.record(
                            msg.digest, flow.OutcomeKind.REFUSED, answers=refused))
                        await self._deliver_answer(refusal, msg, outcome)
                        return
                case flow.NotifyModerators():
                    await self._send_notices(notices)
                case flow.Answer():
                    await self._deliver_answer(answer, msg, outcome)

    def _answer_of(self, plan: flow.Plan, msg: intake.Inbound, now: datetime) -> Answer | None:
        """The plan's answer to the sender, built now; None when there is none to give (no
        usable address, or over the answers-per-minute limit)."""
        for effect in plan.effects:
            if isinstance(effect, flow.Answer):
                if effect.always or self.limiter.answer_allowed():
                    return self._build_answer(msg, effect.subject, effect.body, now)
                if msg.answer_to:
                    log.info("message %s: not answered (over %d answers a minute)", msg.ref,
                             self.config.limits.answers_per_minute)
        return None

    def _build_answer(self, msg: intake.Inbound, subject: str, body: str, now: datetime
                      ) -> Answer | None:
        if not msg.answer_to:
            return None
        built = answers.build_bytes(answers.Sender(self.config.society.name,
                                                   self.config.society.address),
                                    msg.answer_to, subject, body, in_reply_to=msg.in_reply_to,
                                    now=now, message_id=self._message_id())
        return Answer(msg.answer_to, built)

    async def _deliver_answer(self, answer: Answer | None, msg: intake.Inbound,
                              outcome: Outcome) -> None:
        """Hand a recorded answer to the answer queue, or (without one) send it now."""
        if answer is None:
            return
        if self.answers is not None:
            self.answers.kick()
            outcome.answered = True
            return
        try:
            await send_one(self.answers_via, answer.data, "", answer.recipient)
        except DeliveryError as exc:
            log.warning("message %s: the answer could not be sent: %s", msg.ref,
                        str(exc).replace(answer.recipient, "<sender>"))
            return
        outcome.answered = True

    def _queued(self, data: bytes | None, outcome: Outcome, action: str,
                destinations: tuple[str, ...]) -> None:
        outcome.action = action
        outcome.destinations = destinations if data else ()
        if data and self.deliverer is not None:
            self.deliverer.kick()

    async def _issue(self, effect: flow.Issue, msg: intake.Inbound, now: datetime,
                     outcome: Outcome, answers: Sequence[Answer] = ()) -> None:
        appeal, decision = effect.appeal, effect.decision
        signed_text = await self.signer.aclearsign(appeal.canonical_text())
        data = None
        if decision.action == RelayAction.RELAY and decision.destinations:
            own = self.signer.fingerprint
            record = post.RelayRecord(own, self.config.society.name, appeal.appeal_id,
                                      appeal.revision, (own,))
            data = await self._sign_post(signed_text, record, self.public_key,
                                         decision.destinations, appeal.title, now,
                                         effect.images)
        issued = AppealRecord(
            appeal_id=appeal.appeal_id, revision=appeal.revision, origin=self.signer.fingerprint,
            template=appeal.template, status=appeal.status, issued=appeal.issued.isoformat(),
            expires=appeal.expires.isoformat(), digest=appeal.digest(),
            update_key_hash=effect.key_hash, action=decision.action, signed_text=signed_text,
            fields=appeals.fields_json(appeal))
        await self.store.write(lambda s: s.record(
            msg.digest, "accepted", appeal=issued, post=data,
            destinations=decision.destinations if data else (),
            held_images=effect.images if decision.action == RelayAction.HOLD else (),
            answers=answers, numbered=appeal.revision == 1))
        self._queued(data, outcome, decision.action, decision.destinations)

    async def _relay(self, effect: flow.Relay, msg: intake.Inbound, now: datetime,
                     outcome: Outcome) -> bool:
        """Sign a partner's appeal onward and record it; False when another copy of this
        revision was recorded first (the message is then recorded as not relayed)."""
        check, decision = effect.post, effect.decision
        fields = loops.head(check.appeal_text)
        data = None
        if decision.action == RelayAction.RELAY and decision.destinations:
            data = await self._sign_post(check.clearsigned_appeal,
                                         verify.next_record(check, self.signer.fingerprint),
                                         check.origin_key, decision.destinations,
                                         fields.get("Title", ""), now, effect.images)
        record = AppealRecord(
            appeal_id=check.record.appeal_id, revision=check.record.revision, origin=check.origin,
            template=fields.get("Template", ""), status=fields.get("Status", ""),
            issued=fields.get("Issued", ""), expires=fields.get("Expires", ""),
            digest=flow.text_digest(check.appeal_text),
            update_key_hash=None, action=decision.action, signed_text=check.clearsigned_appeal,
            record=check.record.text(), origin_key=check.origin_key)
        try:
            await self.store.write(lambda s: s.record(
                msg.digest, "relayed" if data else decision.action, appeal=record, post=data,
                destinations=decision.destinations if data else (),
                held_images=effect.images if decision.action == RelayAction.HOLD else ()))
        except sqlite3.IntegrityError:
            # Another partner's copy of this revision was recorded while we verified this one.
            outcome.kind = flow.OutcomeKind.NOT_RELAYED
            outcome.reason = f"from {effect.partner}: already relayed"
            await self.store.write(lambda s: s.record(msg.digest, flow.OutcomeKind.NOT_RELAYED))
            return False
        self._queued(data, outcome, decision.action, decision.destinations)
        return True

    async def _moderate(self, effect: flow.Moderate, digest: str, now: datetime,
                        outcome: Outcome, answers: Sequence[Answer] = ()) -> bool:
        """Obey the command once; False when the same command was obeyed meanwhile."""
        data = None
        if effect.action == "relay" and effect.destinations:
            data = await self._sign_post(effect.held.signed_text, effect.relay,
                                         effect.origin_key or self.public_key,
                                         effect.destinations, effect.title, now, effect.images)
        if not await self.store.write(lambda s: s.moderate(
                digest, effect.command_digest, effect.held, effect.action, post=data,
                destinations=effect.destinations if data else (), answers=answers)):
            outcome.kind = flow.OutcomeKind.REFUSED
            outcome.reason = "moderator command refused: this command was used before"
            return False
        self._queued(data, outcome, effect.action, effect.destinations)
        return True

    async def decide(self, appeal_id: str, revision: int | None, approve: bool) -> Outcome:
        """An operator's decision from the shell (``masbot approve|reject``): the moderation
        route with the operator's shell access as the authority instead of a signature.
        ``revision`` None means the newest held revision of the appeal."""
        now = self.clock()
        appeal_id = appeal_id.upper()
        if revision is None:
            revision = max((r for a, r, _, _ in self.store.waiting("0000-00-00") if a == appeal_id),
                           default=0)
        verb = moderation.Verb.APPROVE if approve else moderation.Verb.REJECT
        digest = hashlib.sha256(f"operator {verb} {appeal_id} {revision} {now.isoformat()}"
                                .encode("utf-8")).hexdigest()
        held = self.store.held(appeal_id, revision)
        facts = flow.CommandFacts(now, command=moderation.Command(
            verb, appeal_id, revision, "operator", digest), held=held,
            held_images=tuple(self.store.held_images(held)) if held else ())
        plan = flow.route(classify.ModeratorCommand("the operator's command"), self.facts_of,
                          facts)
        outcome = Outcome(f"operator-{digest[:6]}", plan.outcome, plan.reason, appeal_id,
                          trace=plan.trace, decided_by=plan.decided_by)
        for effect in plan.effects:
            if isinstance(effect, flow.Moderate):
                await self._moderate(effect, digest, now, outcome)
        log.info("operator: %s (%s), decided by %s", outcome.kind, outcome.reason,
                 outcome.decided_by)
        return outcome

    async def _sign_post(self, clearsigned: str, record: post.RelayRecord, origin_key: str,
                         destinations: tuple[str, ...], title: str, now: datetime,
                         kept: Sequence[post.PostImage] = ()) -> bytes:
        """Sign once and assemble the post that goes, byte for byte, to every destination."""
        cfg = self.config
        content = post.signed_content(clearsigned, record, origin_key, kept,
                                      site_url=cfg.publish.base_url,
                                      contact=cfg.society.contact,
                                      language=cfg.society.language)
        signature = await self.signer.adetach_sign(content)
        envelope = post.Envelope(
            from_name=cfg.society.name, from_address=cfg.society.address, to=destinations,
            subject=f"[{record.appeal_id}] {title}", date=now, message_id=self._message_id(),
            reply_to=cfg.society.contact)
        return post.assemble(content, signature.data, signature.hash_algo, envelope,
                             boundary=f"=-masbot-{secrets.token_hex(12)}")

    def _as_readers_see_it(self, effect: flow.NotifyModerators) -> str:
        """The held appeal as the reading part of its post would show it (the canonical text
        when it cannot be read as an appeal)."""
        head = loops.head(effect.text)
        try:
            appeal = appeals.parse(effect.text,
                                   reading.known_fields(self.catalogue, head.get("Template", "")))
            shown = reading.text(appeal, reading.Proof(head.get("Society", ""), effect.origin),
                                 catalogue=self.catalogue,
                                 tr=formats.language_of(appeal, self.config.society.language))
        except (ValueError, KeyError):
            return effect.text
        # Without the post's proof footer: nothing is attached to a notice but the images.
        return shown.split("\n________\n")[0].rstrip("\n") + "\n"

    def _notices(self, effect: flow.NotifyModerators, now: datetime) -> list[Answer]:
        """The mails telling each moderator an appeal is held, and how to approve or reject
        it; the images it would publish are attached, so they decide on what readers see."""
        cfg = self.config
        tr = lang.get(cfg.society.language)  # moderators read the society's language
        body = moderation.notice(cfg.society.id, effect.appeal_id, effect.revision,
                                 effect.digest, self._as_readers_see_it(effect),
                                 effect.private, effect.rule, effect.expires, tr=tr)
        out = []
        for moderator in cfg.moderators:
            msg = answers.build(answers.Sender(cfg.society.name, cfg.society.address),
                                moderator, moderation.notice_subject(effect.appeal_id,
                                                                     effect.title, tr),
                                body, in_reply_to=None, now=now, message_id=self._message_id())
            for image in effect.images:
                maintype, subtype = image.content_type.split("/")
                msg.add_attachment(image.data, maintype=maintype, subtype=subtype,
                                   filename=image.name)
            out.append(Answer(moderator, msg.as_bytes()))
        return out

    async def _send_notices(self, notices: Sequence[Answer]) -> None:
        """Queued notices go with the answer queue; without one they are sent now."""
        if self.answers is not None:
            self.answers.kick()
            return
        for notice in notices:
            try:
                await send_one(self.answers_via, notice.data, "", notice.recipient)
            except DeliveryError as exc:
                log.error("a moderator notice was not sent: %s", exc)
