"""One society at work: an inbound message in, its outcome recorded, posts queued, one answer out.

This is the seam between the pure core (intake, pipeline, appeal, rules, post) and the
adapters (store, signer, transports). :meth:`Society.handle` promises: when it returns, the
message's outcome is committed to the store, so the caller may remove the original; a
message already handled (same bytes) is recognised and never posted twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from masbot.story import answers
from masbot.appeal import canonical as appeals
from masbot.story import templates as forms
from masbot.appeal import images
from masbot.intake import message as intake
from masbot.intake import classify as pipeline
from masbot.post import build as post
from masbot.intake.ratelimit import RateLimiter
from masbot.config.settings import Config
from masbot.post import verify
from masbot.signing.keyring import Keyring, KeyringError
from masbot.relay import loops, rules
from masbot.relay.delivery import Deliverer
from masbot.relay.smtp import DeliveryError, Transport
from masbot.signing.signer import Signer
from masbot.store import AppealRecord, Store

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What became of one inbound message (public facts only; safe to log and print)."""

    ref: str
    kind: str
    reason: str
    appeal_id: str | None = None
    action: str | None = None
    destinations: tuple[str, ...] = ()
    answered: bool = False
    trace: list[str] = field(default_factory=list)


def _check_command(text: str, config: Config) -> tuple[dict[str, str], str] | str:
    """A moderator's command verified against the pinned moderator keys, or why not."""
    pinned = {k.fingerprint.upper() for k in config.moderator_keys}
    if not pinned:
        return "no moderator keys are configured"
    try:
        with Keyring.of(*(k.key_file.read_bytes() for k in config.moderator_keys)) as ring:
            check = verify.verify_appeal_text(text, ring)
    except (OSError, KeyringError) as exc:
        return f"the moderator keys could not be loaded ({exc})"
    if isinstance(check, verify.Refused):
        return str(check)
    if check.signer.upper() not in pinned:
        return "it is not signed by a moderator's key"
    fields = loops.head(check.text)
    if fields.get("Moderation") not in ("approve", "reject"):
        return "Moderation must be approve or reject"
    if fields.get("Society") != config.society.id:
        return f"it names the society {fields.get('Society', '(none)')[:20]}, not {config.society.id}"
    if not fields.get("Appeal-ID") or not fields.get("Revision", "").isdigit():
        return "it must name the Appeal-ID and Revision"
    return fields, hashlib.sha256(check.text.encode("utf-8")).hexdigest()


@dataclass
class _Turns:
    """The updates of one appeal in hand: they take turns with ``lock``."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


def _partner_addresses(config: Config) -> frozenset[str]:
    """Every partner list address, also in its List-Id spelling (``in.riverside.test``)."""
    addresses = [a.casefold() for p in config.partners for a in p.addresses]
    return frozenset(addresses + [a.replace("@", ".") for a in addresses])


def _key_hash(update_key: str) -> str:
    return hashlib.sha256(update_key.encode("utf-8")).hexdigest()


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


class Society:
    """Handles inbound messages for one society."""

    def __init__(self, config: Config, store: Store, signer: Signer, answers_via: Transport,
                 deliverer: Deliverer | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 workers: int = 4, keyring: Keyring | None = None) -> None:
        self.config = config
        self.store = store
        self.signer = signer
        self.answers_via = answers_via
        self.deliverer = deliverer
        self.clock = clock
        self.catalogue = forms.load(config.templates_dir)
        self.public_key = signer.export_public()
        self.keyring = keyring  # the partners' pinned keys; without it partner posts are refused
        # Up to ``workers`` messages are handled at once, so that gpg signs in parallel.
        self._slots = asyncio.Semaphore(workers)
        # One image is decoded at a time: a decoded 40-megapixel image takes hundreds of MB.
        self._image_slot = asyncio.Semaphore(1)
        self._updating: dict[str, _Turns] = {}  # appeal id -> its updates taking turns
        self._in_hand: set[str] = set()  # digests being handled right now
        self._idle = asyncio.Event()
        self._idle.set()
        self.limiter = RateLimiter(config.limits.per_sender_per_hour,
                                   config.limits.answers_per_minute)

    def reconfigure(self, config: Config, keyring: Keyring | None = None) -> None:
        """Use a new, already checked config (and its partners' keys) from the next message on."""
        self.config = config
        if keyring is not None:
            self.keyring = keyring
        self.catalogue = forms.load(config.templates_dir)
        self.limiter.per_sender_per_hour = config.limits.per_sender_per_hour
        self.limiter.answers.limit = config.limits.answers_per_minute

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
        cfg = self.config
        limits = intake.Limits(cfg.limits.max_message_bytes, cfg.limits.max_mime_parts,
                               cfg.limits.max_mime_depth)
        msg = intake.read(raw, limits)
        previous = self.store.handled(msg.digest)
        if previous is not None or msg.digest in self._in_hand:
            log.info("message %s: already handled (%s); not handled again", msg.ref,
                     previous or "a copy is in hand")
            return Outcome(msg.ref, "duplicate", f"already handled ({previous or 'in hand'})")
        self._in_hand.add(msg.digest)
        try:
            return await self._handle_new(msg, raw)
        finally:
            self._in_hand.discard(msg.digest)

    async def _handle_new(self, msg: intake.Inbound, raw: bytes) -> Outcome:
        cfg = self.config
        now = self.clock()
        ctx = pipeline.Context(self.catalogue, cfg.society.name, now,
                               _partner_addresses(cfg))
        verdict = pipeline.run(msg, ctx)
        # Partners' lists are exempt: their posts are checked by signature, not counted.
        if verdict.kind != "partner-post" and not self.limiter.sender_allowed(msg.answer_to):
            self.store.record(msg.digest, "rate-limited")
            log.info("message %s: rate-limited (over %d messages an hour from one sender); "
                     "not answered", msg.ref, cfg.limits.per_sender_per_hour)
            return Outcome(msg.ref, "rate-limited", "over the per-sender limit, not answered")
        outcome = Outcome(msg.ref, verdict.kind, verdict.reason, trace=verdict.trace)
        subject, body = verdict.answer_subject, verdict.answer_body
        if verdict.kind == "partner-post":
            await self._from_partner(msg, raw, now, outcome)
            subject, body = None, None  # partners are robots: never answered
        elif verdict.kind == "moderation":
            subject, body = await self._moderate(msg, now, outcome)
        elif verdict.kind == "request":
            kept, notes = await self._images(msg, verdict)
            subject, body = await self._publish(msg, verdict, now, outcome, kept)
            body += notes
        else:
            self.store.record(msg.digest, verdict.kind)
        log.info("message %s: %s (%s) via %s", msg.ref, outcome.kind, outcome.reason,
                 " > ".join(outcome.trace))
        if body is not None and msg.answer_to:
            if verdict.kind == "request" or self.limiter.answer_allowed():
                outcome.answered = await self._answer(msg, subject or "Your request", body, now)
            else:
                log.info("message %s: not answered (over %d answers a minute)", msg.ref,
                         cfg.limits.answers_per_minute)
        return outcome

    async def _images(self, msg: intake.Inbound, verdict: pipeline.Verdict
                      ) -> tuple[tuple[images.CleanImage, ...], str]:
        """The images this request publishes (only with ``attachments.images: keep``, only
        with a new appeal), and what to tell the sender about its attachments."""
        policy = self.config.attachments
        dropped = msg.attachments
        kept: list[images.CleanImage] = []
        notes: list[str] = []
        if policy.images == "keep" and verdict.validation.template.name != "update":
            for tried, data in enumerate(msg.images):
                if len(kept) == policy.max_images or tried == policy.max_images + 2:
                    notes.append(f"- {len(msg.images) - tried} more image(s) were dropped: at "
                                 f"most {policy.max_images} are published with one appeal")
                    break
                async with self._image_slot:
                    result = await asyncio.to_thread(
                        images.clean, data, len(kept) + 1,
                        max_pixels=policy.max_pixels)
                if isinstance(result, images.Refused):
                    notes.append(f"- an image was dropped: {result.reason}")
                elif sum(len(i.data) for i in kept) + len(result.data) > policy.max_total_bytes:
                    notes.append(f"- an image was dropped: with it the images would be larger "
                                 f"than {policy.max_total_kb} kB together")
                else:
                    kept.append(result)
        else:
            dropped += len(msg.images)
        text = ""
        if kept:
            text += (f"\n{len(kept)} image(s) are published with the appeal as "
                     f"{', '.join(i.name for i in kept)}, re-encoded from their pixels alone: "
                     "no location, camera, date, comment or file name is kept. Check that the "
                     "pictures themselves show nothing that identifies anyone at risk.\n")
        if notes:
            text += "\n" + "\n".join(notes) + "\n"
        if dropped:
            text += (f"\nYour message had {dropped} attachment(s) that were not published. "
                     "They are never kept; put everything readers need in the text.\n")
        return tuple(kept), text

    async def _publish(self, msg: intake.Inbound, verdict: pipeline.Verdict, now: datetime,
                       outcome: Outcome, kept: tuple[images.CleanImage, ...] = ()
                       ) -> tuple[str, str]:
        """A valid form becomes a new appeal, or the next revision of one (``update``)."""
        cfg = self.config
        validation = verdict.validation
        if validation.template.name == "update":
            return await self._revise(msg, validation, now, outcome)
        number = self.store.next_number(f"{cfg.society.id}-{now.year}")
        appeal = appeals.build(
            validation, appeal_id=appeals.appeal_id(cfg.society.id, now.year, number),
            society=cfg.society.name, updates_to=cfg.society.address, issued=now,
            appeal_days=cfg.society.appeal_days)
        if kept:
            appeal = dataclasses.replace(appeal, fields=appeal.fields + (
                (appeals.IMAGES, tuple(image.listing() for image in kept)),))
        update_key = secrets.token_urlsafe(18)
        decision = await self._issue(msg, appeal, "new", _key_hash(update_key), now, outcome,
                                     kept)
        if decision.action == "drop":
            return ("Your request was not posted",
                    "Your request is valid, but this society's policy does not post it. "
                    "Please ask the society's organisers if you think this is a mistake.\n")
        if decision.action == "hold":
            await self._notify_moderators(appeal.appeal_id, appeal.revision, appeal.title,
                                          appeal.canonical_text(), validation.private, now, kept)
        return answers.accepted(appeal, update_key, validation, held=decision.action == "hold")

    async def _from_partner(self, msg: intake.Inbound, raw: bytes, now: datetime,
                            outcome: Outcome) -> None:
        """Verify a partner's post completely; relay it by the rules, or refuse it with a reason."""
        cfg = self.config
        own = self.signer.fingerprint
        if self.keyring is None:
            result: verify.Accepted | verify.Refused = verify.Refused(
                verify.Reason.UNKNOWN_KEY, "no partner keys are loaded")
        else:
            result = await asyncio.to_thread(verify.check_partner_post, raw, cfg.partners,
                                             self.keyring)
        if isinstance(result, verify.Refused):
            outcome.kind, outcome.reason = "refused", f"partner post refused: {result}"
            self.store.record(msg.digest, "refused")
            return
        check, partner = result.post, result.partner
        fields = loops.head(check.appeal_text)
        why = loops.why_not_relay(check.record, own, self.store.seen(
            check.origin, check.record.appeal_id, check.record.revision)) or loops.why_stale(fields, now)
        outcome.appeal_id = check.record.appeal_id
        if why:
            outcome.kind, outcome.reason = "not-relayed", f"from {partner.name}: {why}"
            self.store.record(msg.digest, "not-relayed")
            return
        decision = rules.off_path(cfg, rules.decide(cfg, rules.Facts.of_appeal(
            fields, partner.name, check.record.revision)), check.record.path)
        outcome.trace += [f"rules: {line}" for line in decision.trace]
        destinations = decision.destinations
        data = None
        carried = (await self._carried_images(check, msg)
                   if decision.action in ("relay", "hold") else ())
        if decision.action == "relay" and destinations:
            data = await self._sign_post(check.clearsigned_appeal, verify.next_record(check, own),
                                         check.origin_key, destinations,
                                         fields.get("Title", ""), now, carried)
        appeal_record = AppealRecord(
            appeal_id=check.record.appeal_id, revision=check.record.revision, origin=check.origin,
            template=fields.get("Template", ""), status=fields.get("Status", ""),
            issued=fields.get("Issued", ""), expires=fields.get("Expires", ""),
            digest=hashlib.sha256(check.appeal_text.encode("utf-8")).hexdigest(),
            update_key_hash=None, action=decision.action, signed_text=check.clearsigned_appeal,
            record=check.record.text(), origin_key=check.origin_key)
        try:
            self.store.record(msg.digest, "relayed" if data else decision.action,
                              appeal=appeal_record, post=data,
                              destinations=destinations if data else (),
                              held_images=carried if decision.action == "hold" else ())
        except sqlite3.IntegrityError:
            # Another partner's copy of this revision was recorded while we verified this one.
            outcome.kind, outcome.reason = "not-relayed", f"from {partner.name}: already relayed"
            self.store.record(msg.digest, "not-relayed")
            return
        if data and self.deliverer is not None:
            self.deliverer.kick()
        outcome.kind = "partner-post"
        outcome.action, outcome.destinations = decision.action, destinations if data else ()
        if decision.action == "hold":
            await self._notify_moderators(check.record.appeal_id, check.record.revision,
                                          fields.get("Title", ""), check.appeal_text, "", now,
                                          carried)
        outcome.reason = (f"from {partner.name}, origin {check.record.origin_name}: "
                          f"{decision.action} by {decision.rule}")

    async def _revise(self, msg: intake.Inbound, validation, now: datetime,
                      outcome: Outcome) -> tuple[str, str]:
        """An update form with the right Update-Key makes the appeal's next revision."""
        # Two updates to one appeal handled at once would both build its revision n+1, so
        # they take turns; updates to other appeals do not wait.
        appeal_id = str(validation.values.get("Refers-To", "")).upper()
        entry = self._updating.setdefault(appeal_id, _Turns())
        entry.waiting += 1
        try:
            async with entry.lock:
                return await self._revise_now(msg, validation, now, outcome)
        finally:
            entry.waiting -= 1
            if not entry.waiting:
                del self._updating[appeal_id]

    async def _revise_now(self, msg: intake.Inbound, validation, now: datetime,
                          outcome: Outcome) -> tuple[str, str]:
        cfg = self.config
        appeal_id = str(validation.values.get("Refers-To", "")).upper()
        record = self.store.latest(self.signer.fingerprint, appeal_id)
        key = str(validation.values.get("Update-Key", ""))
        if record is None or record.update_key_hash is None or not hmac.compare_digest(
                record.update_key_hash, _key_hash(key)):
            # One answer for both cases, so the answer does not tell which appeal ids exist.
            outcome.kind, outcome.reason = "invalid", "update refused: unknown appeal or wrong key"
            self.store.record(msg.digest, "invalid")
            return ("Your update was not published",
                    f"No appeal {appeal_id[:40]} of this society matches that Update-Key, so "
                    "nothing was changed. Copy the Refers-To and Update-Key lines exactly from "
                    "the answer you got when the appeal was published.\n")
        previous = appeals.restore(
            appeal_id=record.appeal_id, revision=record.revision, society=cfg.society.name,
            issued=record.issued, expires=record.expires, status=record.status,
            updates_to=cfg.society.address, fields=record.fields)
        appeal = appeals.revise(previous, validation.values, issued=now,
                                appeal_days=cfg.society.appeal_days)
        decision = await self._issue(msg, appeal, "update", record.update_key_hash, now, outcome)
        outcome.kind = "update"
        if decision.action == "hold":
            await self._notify_moderators(appeal.appeal_id, appeal.revision, appeal.title,
                                          appeal.canonical_text(), validation.private, now)
        text = (f"Your update is published as revision {appeal.revision} of {appeal.appeal_id} "
                f"(status: {appeal.status}), along the same routes as the appeal"
                + (" once a moderator approves it" if decision.action == "hold" else "")
                + ".\n\n" + appeal.canonical_text())
        return f"[{appeal.appeal_id}] revision {appeal.revision}", text

    async def _issue(self, msg: intake.Inbound, appeal: appeals.Appeal, kind: str,
                     key_hash: str | None, now: datetime, outcome: Outcome,
                     kept: Sequence[post.PostImage] = ()) -> rules.Decision:
        """Route, sign, record and queue one appeal revision; the outcome says where it went."""
        cfg = self.config
        tags = appeal.get("Tags", ())
        decision = rules.decide(cfg, rules.Facts(
            origin="local", template=appeal.template,
            tags=tuple(tags) if isinstance(tags, tuple) else (),
            language=str(appeal.get("Language", cfg.society.language)),
            location=str(appeal.get("Location", "")), kind=kind))
        outcome.trace += [f"rules: {line}" for line in decision.trace]
        signed_text = await asyncio.to_thread(self.signer.clearsign, appeal.canonical_text())
        data = None
        if decision.action == "relay" and decision.destinations:
            data = await self._build_post(appeal, signed_text, decision.destinations, now, kept)
        record = AppealRecord(
            appeal_id=appeal.appeal_id, revision=appeal.revision, origin=self.signer.fingerprint,
            template=appeal.template, status=appeal.status, issued=appeal.issued.isoformat(),
            expires=appeal.expires.isoformat(), digest=appeal.digest(),
            update_key_hash=key_hash, action=decision.action, signed_text=signed_text,
            fields=appeals.fields_json(appeal))
        self.store.record(msg.digest, "accepted", appeal=record, post=data,
                          destinations=decision.destinations if data else (),
                          held_images=kept if decision.action == "hold" else ())
        if data and self.deliverer is not None:
            self.deliverer.kick()
        outcome.appeal_id, outcome.action = appeal.appeal_id, decision.action
        outcome.destinations = decision.destinations if data else ()
        outcome.reason += f", {decision.action} by {decision.rule}"
        return decision

    async def _build_post(self, appeal: appeals.Appeal, signed_text: str,
                          destinations: tuple[str, ...], now: datetime,
                          kept: Sequence[post.PostImage] = ()) -> bytes:
        """The post of one of our own appeals: we are its origin and its whole path."""
        own = self.signer.fingerprint
        record = post.RelayRecord(own, self.config.society.name, appeal.appeal_id,
                                  appeal.revision, (own,))
        return await self._sign_post(signed_text, record, self.public_key, destinations,
                                     appeal.title, now, kept)

    async def _sign_post(self, clearsigned: str, record: post.RelayRecord, origin_key: str,
                         destinations: tuple[str, ...], title: str, now: datetime,
                         kept: Sequence[post.PostImage] = ()) -> bytes:
        """Sign once and assemble the post that goes, byte for byte, to every destination."""
        cfg = self.config
        content = post.signed_content(clearsigned, record, origin_key, kept)
        signature = await asyncio.to_thread(self.signer.detach_sign, content)
        envelope = post.Envelope(
            from_name=cfg.society.name, from_address=cfg.society.address, to=destinations,
            subject=f"[{record.appeal_id}] {title}", date=now, message_id=self._message_id())
        return post.assemble(content, signature.data, signature.hash_algo, envelope,
                             boundary=f"=-masbot-{secrets.token_hex(12)}")

    async def _carried_images(self, check: verify.PostCheck, msg: intake.Inbound
                              ) -> tuple[post.PostImage, ...]:
        """A partner's images, relayed only where we keep images and only when each carries
        pixels and nothing else (they are bound by the origin's signature, so we cannot
        re-encode them; one that fails drops them all, as "all or none" requires)."""
        policy = self.config.attachments
        if policy.images != "keep" or not check.images:
            return ()
        if (len(check.images) > policy.max_images
                or sum(len(i.data) for i in check.images) > policy.max_total_bytes):
            log.info("message %s: %s carries more images than our limits; relayed without them",
                     msg.ref, check.record.appeal_id)
            return ()
        for image in check.images:
            async with self._image_slot:
                clean = await asyncio.to_thread(images.is_clean, image.data,
                                                max_pixels=policy.max_pixels)
            if not clean:
                log.warning("message %s: %s carries an image with metadata or of an unreadable "
                            "kind; relayed without its images", msg.ref, check.record.appeal_id)
                return ()
        return check.images

    async def _notify_moderators(self, appeal_id: str, revision: int, title: str, text: str,
                                 private: str, now: datetime,
                                 held_images: Sequence[post.PostImage] = ()) -> None:
        """Tell the moderators an appeal is held, and how to approve or reject it; the images
        it would publish are attached, so they decide on what readers would see."""
        cfg = self.config
        body = (f"Appeal {appeal_id} (revision {revision}) is held for moderation by the relay "
                "rules. Nothing about its sender is kept or shown here.\n\n"
                "To decide, clearsign this text with your moderator key (gpg --clearsign) and "
                "mail it here; change approve to reject to refuse it. Each signed command is "
                "obeyed once, and only for this society:\n\n"
                f"Moderation: approve\nSociety: {cfg.society.id}\nAppeal-ID: {appeal_id}\n"
                f"Revision: {revision}\nNonce: {secrets.token_hex(8)}\n\n"
                "The appeal:\n\n" + text)
        if private.strip():
            body += "\nPrivate notes from the filer (never published, not kept):\n" + private + "\n"
        for moderator in cfg.moderators:
            msg = answers.build(answers.Sender(cfg.society.name, cfg.society.address),
                                moderator, f"[held] {appeal_id} {title}"[:200], body,
                                in_reply_to=None, now=now, message_id=self._message_id())
            for image in held_images:
                maintype, subtype = image.content_type.split("/")
                msg.add_attachment(image.data, maintype=maintype, subtype=subtype,
                                   filename=image.name)
            try:
                await self.answers_via.send(msg.as_bytes(), "", [moderator])
            except DeliveryError as exc:
                log.error("moderator notice for %s not sent: %s", appeal_id, exc)

    async def _moderate(self, msg: intake.Inbound, now: datetime,
                        outcome: Outcome) -> tuple[str, str]:
        """Obey a moderator's signed approve/reject once, or refuse it with the reason."""
        cfg = self.config
        result = await asyncio.to_thread(_check_command, msg.body, cfg)
        if isinstance(result, str):
            outcome.kind, outcome.reason = "refused", f"moderator command refused: {result}"
            self.store.record(msg.digest, "refused")
            return "Moderation refused", f"Your command was not obeyed: {result}.\n"
        fields, command_digest = result
        action = "relay" if fields["Moderation"] == "approve" else "rejected"
        record = self.store.held(fields["Appeal-ID"], int(fields["Revision"]))
        data, destinations = None, ()
        if record is not None and action == "relay":
            data, destinations = await self._approved_post(record, now)
        if record is None or not self.store.moderate(msg.digest, command_digest, record, action,
                                                      post=data, destinations=destinations):
            why = "this command was used before" if record else "that appeal is not held"
            outcome.kind, outcome.reason = "refused", f"moderator command refused: {why}"
            self.store.record(msg.digest, "refused")
            return "Moderation refused", f"Your command was not obeyed: {why}.\n"
        if data and self.deliverer is not None:
            self.deliverer.kick()
        outcome.appeal_id, outcome.action, outcome.destinations = record.appeal_id, action, destinations
        outcome.reason = f"moderator {fields['Moderation']}d {record.appeal_id}"
        return (f"[{record.appeal_id}] {fields['Moderation']}d",
                f"{record.appeal_id} revision {record.revision}: {fields['Moderation']}d"
                + (f", sent to {len(destinations)} lists" if destinations else "") + ".\n")

    async def _approved_post(self, record: AppealRecord, now: datetime) -> tuple[bytes, tuple[str, ...]]:
        """The post for an approved appeal: to the local list and partners, off its path."""
        cfg = self.config
        own = self.signer.fingerprint
        if record.record:  # a partner's appeal: keep its origin and path, and add us
            head = loops.head(record.record)
            relay = post.RelayRecord(head["Origin"], head["Origin-Name"], record.appeal_id,
                                     record.revision,
                                     tuple(f.strip() for f in head["Path"].split(",")) + (own,))
            origin_key = record.origin_key
        else:
            relay = post.RelayRecord(own, cfg.society.name, record.appeal_id, record.revision, (own,))
            origin_key = self.public_key
        decision = rules.off_path(cfg, rules.Decision(
            "relay", ("local", "partners"), cfg.destinations(["local", "partners"]),
            "moderator", ()), relay.path)
        title = loops.head(record.signed_text).get("Title", "")
        data = await self._sign_post(record.signed_text, relay, origin_key,
                                     decision.destinations, title, now,
                                     self.store.held_images(record))
        return data, decision.destinations

    async def _answer(self, msg: intake.Inbound, subject: str, body: str, now: datetime) -> bool:
        answer = answers.build(answers.Sender(self.config.society.name, self.config.society.address),
                               msg.answer_to, subject, body, in_reply_to=msg.in_reply_to, now=now,
                               message_id=self._message_id())
        try:
            await self.answers_via.send(answer.as_bytes(), "", [msg.answer_to])
        except DeliveryError as exc:
            # Answers are never queued to disk, so a failed one is only logged (without address).
            log.warning("message %s: the answer could not be sent: %s", msg.ref,
                        str(exc).replace(msg.answer_to, "<sender>"))
            return False
        return True


