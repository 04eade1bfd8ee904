"""The public site, written under one directory and rebuilt from the store alone.

::

    index.html                      open appeals first, then the ended ones, marked
    check.html                      how to check an appeal: fingerprint, key, commands
    society.asc                     the society's public key
    feed.atom                       every revision (Atom)
    appeals/<ID>/index.html         the permalink page: current revision, earlier ones, kit
    appeals/<ID>/revision-<N>.txt   each revision's clearsigned text, as its origin signed it
    appeals/<ID>/kit/…              the repost kit of the current revision
    appeals/<ID>.<fpr16>/…          a partner's appeal (its own key in origin-key.asc)

The index, the check page and the feed's own words are in the society's language
(:attr:`SiteSettings.language`); each appeal's page, kit and feed entry in the appeal's.

The daemon calls :meth:`Site.publish` after the store committed a revision; ``masbot
publish`` calls :meth:`Site.rebuild`. Both write each file atomically and leave unchanged
files alone; the pages hold no clock reading, so the same store gives the same bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Protocol

from masbot.appeal import formats, render
from masbot.publish import feed, model, pages
from masbot.publish.files import sync_directory, write_atomic
from masbot.store import AppealRecord
from masbot.story.templates import Catalogue, builtin


class AppealSource(Protocol):
    """What the site reads: the store's appeal revisions (``Store.appeals``)."""

    def appeals(self) -> list[AppealRecord]: ...


@dataclass(frozen=True)
class SiteSettings:
    """Everything the site needs besides the store; plain values, no config object."""

    dir: Path
    society: str
    society_id: str
    fingerprint: str
    public_key: str
    base_url: str | None = None  # https://…/ ; None: relative links only
    contact: str | None = None
    language: str = "en"  # the society's: the chrome's, and an appeal's that names none

    @classmethod
    def of(cls, config, fingerprint: str, public_key: str) -> "SiteSettings":
        """The settings a loaded :class:`~masbot.config.settings.Config` gives."""
        base = config.publish.base_url
        if base and not base.endswith("/"):
            base += "/"
        return cls(dir=config.publish_dir, society=config.society.name,
                   society_id=config.society.id, fingerprint=fingerprint,
                   public_key=public_key, base_url=base, contact=config.society.contact,
                   language=config.society.language)

    def permalink(self, slug: str) -> str | None:
        """An appeal's permanent address, when the site's address is known."""
        return f"{self.base_url}appeals/{slug}/" if self.base_url else None


class Site:
    """Writes the public site from the store. Safe to call again: it converges."""

    def __init__(self, settings: SiteSettings, store: AppealSource, *,
                 catalogue: Catalogue | None = None,
                 today: Callable[[], date] = date.today) -> None:
        self.settings = settings
        self.store = store
        self.catalogue = catalogue or builtin()
        self.today = today  # only to mark open appeals past their expiry as expired

    def _entries(self) -> list[model.Entry]:
        s = self.settings
        return model.entries(self.store.appeals(), s.fingerprint, s.society, self.catalogue)

    def _info(self) -> pages.SiteInfo:
        s = self.settings
        return pages.SiteInfo(s.society, s.fingerprint, s.language, s.contact)

    def publish(self, *appeal_ids: str) -> list[Path]:
        """Write the pages of ``appeal_ids`` (every origin's appeal of each id), the index,
        the feed and the check page. Call it only after the store committed. Returns the files
        written (unchanged files are not rewritten).

        Without an fsync: each file is replaced whole by a rename, so readers and mirrors
        never see half a page, and what a power cut could leave empty or old, the
        :meth:`rebuild` that every start of the daemon runs writes again (fsyncs cost 0.3 to
        1 ms an appeal, in ``docs/benchmarks.md``)."""
        entries = self._entries()
        return self._write(entries, [e for e in entries if e.appeal_id in appeal_ids],
                           durable=False)

    def rebuild(self) -> list[Path]:
        """Write every page from the store, each file and directory fsynced; the same store
        gives the same bytes."""
        entries = self._entries()
        return self._write(entries, entries)

    def _write(self, entries: list[model.Entry], chosen: list[model.Entry],
               durable: bool = True) -> list[Path]:
        s, today, info = self.settings, self.today(), self._info()
        files: dict[Path, bytes] = {}
        for entry in chosen:
            files.update(self._appeal_files(entry, info, today))
        partners = sorted({(e.origin_name, e.origin) for e in entries if not e.own})
        files[Path("index.html")] = pages.index(info, entries, today)
        files[Path("check.html")] = pages.check(info, partners)
        files[Path("society.asc")] = s.public_key.encode("ascii")
        files[Path("feed.atom")] = feed.atom(
            society=s.society, society_id=s.society_id, fingerprint=s.fingerprint,
            base=s.base_url or "", entries=entries,
            permalinks={e.slug: s.permalink(e.slug) for e in entries}, catalogue=self.catalogue,
            language=s.language)
        # Appeal pages before the index and feed that link to them.
        written: list[Path] = []
        for rel in sorted(files, key=lambda p: (p.parent == Path("."), str(p))):
            if write_atomic(s.dir / rel, files[rel], sync_dir=False, durable=durable):
                written.append(s.dir / rel)
        if durable:
            # Each directory once, the appeals' before the root's.
            for directory in sorted({p.parent for p in written}, key=lambda d: -len(d.parts)):
                sync_directory(directory)
        return written

    def _appeal_files(self, entry: model.Entry, info: pages.SiteInfo,
                      today: date) -> dict[Path, bytes]:
        s = self.settings
        base = Path("appeals") / entry.slug
        permalink = s.permalink(entry.slug)
        out: dict[Path, bytes] = {}
        for revision in entry.revisions:
            out[base / revision.txt_name] = revision.signed_text.encode("utf-8")
        if not entry.own:
            out[base / "origin-key.asc"] = entry.origin_key.encode("ascii")
        proof = render.Proof(entry.current.signed_text, entry.origin, entry.origin_name,
                             f"{s.base_url}check.html" if s.base_url else None)
        tr = formats.language_of(entry.current.appeal, s.language)
        kit = render.kit(entry.current.appeal, url=permalink, catalogue=self.catalogue,
                         proof=proof, tr=tr)
        for name, text in kit.items():
            out[base / "kit" / name] = text.encode("utf-8")
        out[base / "index.html"] = pages.appeal(info, entry, today, permalink=permalink,
                                                kit=kit, catalogue=self.catalogue, tr=tr)
        return out


@dataclass(frozen=True)
class Snapshot:
    """The store's appeal revisions read at one moment, for a site written in another thread
    (the store's connection belongs to the thread that opened it)."""

    records: tuple[AppealRecord, ...]

    def appeals(self) -> list[AppealRecord]:
        return list(self.records)


class Activity:
    """How busy the relay is: the messages in hand, and whatever else says it is busy (the
    outbox's transactions, the answers being sent)."""

    def __init__(self, *others: Callable[[], bool]) -> None:
        self.in_hand = 0
        self.others = list(others)

    def begin(self) -> None:
        """A message is being handled."""
        self.in_hand += 1

    def end(self) -> None:
        """A message's handling ended (whatever its outcome)."""
        self.in_hand -= 1

    def busy(self) -> bool:
        """True while a message is in hand or anything else is busy."""
        return self.in_hand > 0 or any(other() for other in self.others)


class Publisher:
    """What the daemon runs after a message was handled and the store committed: the pages of
    that message's appeal, the index and the feed, written in a worker thread one at a time.

    The relay comes first: while messages are being handled (a burst, a backlog after an
    outage), the pages wait until the relay has been quiet for :attr:`quiet` seconds, but
    never more than :attr:`max_lag` seconds after the mark. The lists have the appeal as soon
    as it is signed; the site follows when the burst is over, in one pass rather than one
    every :attr:`pace` seconds, each competing with the posts for the interpreter.

    A failure to write is logged and never undoes or repeats the handling: the next publish
    or ``masbot publish`` writes the pages again.
    """

    def __init__(self, settings: Callable[[], SiteSettings], store: AppealSource,
                 pace: float = 2.0, delay: float = 0.3, activity: Activity | None = None,
                 quiet: float = 0.3, max_lag: float = 30.0) -> None:
        self.settings = settings
        self.store = store
        # Seconds between two passes: every pass writes the index and the feed of all appeals,
        # so a burst is published in a few passes rather than dozens.
        self.pace = pace
        # Seconds from a mark to its pass: the post and the answer leave first, without a
        # pass competing with them for the interpreter.
        self.delay = delay
        self.activity = activity
        self.quiet = quiet
        self.max_lag = max_lag
        self._lock: asyncio.Lock | None = None
        self._pending: set[str] = set()
        self._wake: asyncio.Event | None = None

    def mark(self, appeal_id: str) -> None:
        """``appeal_id`` changed (its revision is committed): :meth:`run` publishes it soon
        (after :attr:`delay`, or :attr:`pace` after the last pass), together with every other
        appeal marked meanwhile, so a burst of messages costs a few page-writing passes, not
        one per message."""
        self._pending.add(appeal_id)
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()

    async def run(self) -> None:
        """Publish what :meth:`mark` named, until cancelled. A crash before a page is written
        loses nothing: the daemon rebuilds the site when it starts."""
        if self._wake is None:
            self._wake = asyncio.Event()
        while True:
            await self._wake.wait()
            await self._until_quiet(time.monotonic())
            self._wake.clear()
            await self.flush()
            await asyncio.sleep(self.pace)

    async def _until_quiet(self, marked: float) -> None:
        """Return :attr:`delay` seconds after ``marked`` at the earliest, once the relay has
        been seen quiet for :attr:`quiet` seconds, and :attr:`max_lag` seconds after
        ``marked`` at the latest."""
        if self.activity is None:
            await asyncio.sleep(self.delay)
            return
        step = min(0.05, self.quiet / 4)
        quiet_since: float | None = marked
        while (now := time.monotonic()) < marked + self.max_lag:
            if self.activity.busy():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= self.quiet and now - marked >= self.delay:
                return
            await asyncio.sleep(step)

    async def flush(self) -> None:
        """Publish every appeal marked and not yet published."""
        if self._pending:
            ids, self._pending = sorted(self._pending), set()
            await self.publish(*ids)

    async def publish(self, *appeal_ids: str) -> None:
        """Publish ``appeal_ids`` (none: rebuild the whole site)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            site = Site(self.settings(), Snapshot(tuple(self.store.appeals())))
            try:
                if not appeal_ids:
                    await asyncio.to_thread(site.rebuild)
                else:
                    await asyncio.to_thread(site.publish, *appeal_ids)
            except Exception as exc:  # never undo or repeat the handling over a page
                logging.getLogger("masbot.publish").error(
                    "the public site under %s was not updated%s (masbot publish writes it "
                    "again): %s: %s", site.settings.dir,
                    f" for {', '.join(appeal_ids)}" if appeal_ids else "", type(exc).__name__,
                    exc)
