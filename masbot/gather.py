"""The facts a route decides from: the only I/O between a verdict and :func:`masbot.flow.route`.

For each kind of verdict, :meth:`Gatherer.facts` asks the adapters what the route needs and
nothing more: the rate limiter, the store (numbers, recorded revisions, held appeals, used
commands), gpg (a partner's post, a moderator's command) and Pillow (images). The daemon and
``masbot rules explain`` gather through the same code; a dry run only counts nothing, takes
no number and leaves the store as it was.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from masbot import flow, lang, moderation
from masbot.appeal import images
from masbot.config.settings import Attachments
from masbot.intake.classify import ModeratorCommand, PartnerPost, Request, Update, Verdict
from masbot.intake.message import Inbound
from masbot.intake.ratelimit import RateLimiter
from masbot.lang import Lang
from masbot.lang.sentence import say
from masbot.post import verify
from masbot.post.build import PostImage
from masbot.relay.partners import Partner
from masbot.signing.keyring import Keyring
from masbot.store import Store


@dataclass
class Gatherer:
    """Where facts come from. ``limiter`` None means a dry run: nothing is counted."""

    society_id: str
    fingerprint: str
    partners: tuple[Partner, ...]
    attachments: Attachments
    store: Store | None
    keyring: Keyring | None = None  # the partners' pinned keys; None refuses partner posts
    moderator_keys: Sequence[tuple[str, Path]] = ()
    limiter: RateLimiter | None = None
    image_slot: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))

    @property
    def dry_run(self) -> bool:
        """True for ``rules explain``: nothing is counted, numbered or written."""
        return self.limiter is None

    async def facts(self, verdict: Verdict, msg: Inbound, raw: bytes, now: datetime
                    ) -> flow.Facts:
        """Everything ``verdict``'s route needs, for a message handled at ``now``."""
        if isinstance(verdict, PartnerPost):  # partners' lists are never rate-limited
            return await self._partner(raw, now)
        allowed = self.limiter.sender_allowed(msg.answer_to) if self.limiter else True
        if not allowed:
            return flow.Facts(now, sender_allowed=False)
        match verdict:
            case Request():
                kept, notes = await self._images(msg, lang.get(verdict.language))
                return flow.RequestFacts(now, dry_run=self.dry_run,
                                         number=self._number(f"{self.society_id}-{now.year}"),
                                         update_key=("(a new key, shown once)" if self.dry_run
                                                     else secrets.token_urlsafe(18)),
                                         images=kept, image_notes=notes)
            case Update():
                original = (self.store.latest(self.fingerprint, verdict.refers_to)
                            if self.store else None)
                _, notes = await self._images(msg, lang.get(verdict.language),
                                              keep=False)  # an update publishes none
                return flow.UpdateFacts(now, dry_run=self.dry_run, original=original,
                                        image_notes=notes)
            case ModeratorCommand():
                return await self._command(msg, raw, now)
        return flow.Facts(now, dry_run=self.dry_run)

    def _number(self, scope: str) -> int:
        if self.store is None:
            return 1
        return self.store.peek_number(scope) if self.dry_run else self.store.next_number(scope)

    async def _partner(self, raw: bytes, now: datetime) -> flow.PartnerFacts:
        if self.keyring is None:
            return flow.PartnerFacts(now, dry_run=self.dry_run)
        result = await asyncio.to_thread(verify.check_partner_post, raw, self.partners,
                                         self.keyring)
        if isinstance(result, verify.Refused):
            return flow.PartnerFacts(now, dry_run=self.dry_run, verified=result)
        check = result.post
        newest = None
        if self.store is not None:
            latest = self.store.latest(check.origin, check.record.appeal_id)
            newest = latest.revision if latest else None
        carried, note = await self._carried(check)
        return flow.PartnerFacts(now, dry_run=self.dry_run, verified=result, newest=newest,
                                 images=carried, images_note=note)

    async def _carried(self, check: verify.PostCheck) -> tuple[tuple[PostImage, ...], str]:
        """A partner's images we may relay: only where we keep images and only when each
        carries pixels and nothing else. They are bound by the origin's signature, so they
        cannot be re-encoded; one that fails drops them all ("all or none")."""
        policy = self.attachments
        if not check.images:
            return (), ""
        if policy.images != "keep":
            return (), "this society does not publish images: relayed without them"
        if (len(check.images) > policy.max_images
                or sum(len(i.data) for i in check.images) > policy.max_total_bytes):
            return (), "more images than our limits: relayed without them"
        for image in check.images:
            async with self.image_slot:
                clean = await asyncio.to_thread(images.is_clean, image.data,
                                                max_pixels=policy.max_pixels)
            if not clean:
                return (), ("an image with metadata or of an unreadable kind: relayed without "
                            "its images")
        return check.images, ""

    async def _images(self, msg: Inbound, tr: Lang, keep: bool = True
                      ) -> tuple[tuple[images.CleanImage, ...], str]:
        """The images a request publishes (only with ``attachments.images: keep``), and what
        to tell the sender about its attachments, in ``tr``'s language."""
        policy = self.attachments
        dropped = msg.attachments
        kept: list[images.CleanImage] = []
        notes: list[str] = []
        if keep and policy.images == "keep":
            for tried, data in enumerate(msg.images):
                if len(kept) == policy.max_images or tried == policy.max_images + 2:
                    notes.append("- " + tr.ngettext(
                        "{n} more image was dropped: at most {most} are published with one "
                        "appeal", "{n} more images were dropped: at most {most} are published "
                        "with one appeal", len(msg.images) - tried, most=policy.max_images))
                    break
                async with self.image_slot:
                    result = await asyncio.to_thread(images.clean, data, len(kept) + 1,
                                                     max_pixels=policy.max_pixels)
                if isinstance(result, images.Refused):
                    notes.append("- " + tr._("an image was dropped: {reason}",
                                             reason=say(result.reason, tr)))
                elif sum(len(i.data) for i in kept) + len(result.data) > policy.max_total_bytes:
                    notes.append("- " + tr._("an image was dropped: with it the images would be "
                                             "larger than {kb} kB together",
                                             kb=policy.max_total_kb))
                else:
                    kept.append(result)
        else:
            dropped += len(msg.images)
        text = ""
        if kept:
            text += "\n" + tr.ngettext(
                "{n} image is published with the appeal as {names}, re-encoded from its pixels "
                "alone: no location, camera, date, comment or file name is kept. Check that "
                "the picture itself shows nothing that identifies anyone at risk.",
                "{n} images are published with the appeal as {names}, re-encoded from their "
                "pixels alone: no location, camera, date, comment or file name is kept. Check "
                "that the pictures themselves show nothing that identifies anyone at risk.",
                len(kept), names=", ".join(i.name for i in kept)) + "\n"
        if notes:
            text += "\n" + "\n".join(notes) + "\n"
        if dropped:
            text += "\n" + tr.ngettext(
                "Your message had {n} attachment that was not published. It is never kept; "
                "put everything readers need in the text.",
                "Your message had {n} attachments that were not published. They are never "
                "kept; put everything readers need in the text.", dropped) + "\n"
        return tuple(kept), text

    async def _command(self, msg: Inbound, raw: bytes, now: datetime) -> flow.CommandFacts:
        command = await asyncio.to_thread(moderation.check_command, raw, msg.body, msg.signed,
                                          self.society_id, self.moderator_keys)
        if isinstance(command, str) or self.store is None:
            return flow.CommandFacts(now, dry_run=self.dry_run, command=command)
        if command.verb == moderation.Verb.HELD:
            return flow.CommandFacts(now, dry_run=self.dry_run, command=command,
                                     waiting=self.store.waiting(now.date().isoformat()))
        held = self.store.held(command.appeal_id, command.revision)
        return flow.CommandFacts(
            now, dry_run=self.dry_run, command=command, held=held,
            used=self.store.command_used(command.digest),
            held_images=tuple(self.store.held_images(held)) if held else ())
