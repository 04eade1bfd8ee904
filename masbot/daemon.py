"""``masbot run``: inbound (IMAP and/or listener) -> society -> outbox -> SMTP, until SIGTERM.

SIGHUP, or a change of the config file, reloads the configuration: a new config that fails the
check is refused, its problems are logged, and the running one is kept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping

from masbot import logs
from masbot.intake import listener
from masbot.config.settings import Config, ConfigError, Problem, load_config
from masbot.story.templates import check_directory
from masbot.intake.inbox import ImapInbox
from masbot.signing.keyring import Keyring, from_config as keyring_from_config
from masbot.relay.delivery import Deliverer, RetryPolicy
from masbot.relay.smtp import SmtpTransport
from masbot.society import Society
from masbot.signing.signer import Signer
from masbot.store import Store, StoreWriteError
from masbot import runtime

log = logging.getLogger(__name__)


def inbound_problem(config: Config) -> Problem | None:
    """Why this config cannot run as a daemon (it has no way to receive mail), or None."""
    if config.imap is None and config.listener is None:
        return Problem(str(config.path), 1,
                       "no inbound: give an imap section, a listener section, or both")
    return None


def public_addresses(config: Config) -> list[str]:
    """The addresses that may appear in logs: the society's own, its lists and moderators."""
    return [config.society.address, config.local_list, *config.moderators,
            *(a for p in config.partners for a in p.addresses)]


def store_path(config: Config) -> Path:
    """Where the SQLite store lives."""
    return config.data_dir / "masbot.sqlite3"


@dataclass
class Parts:
    """Everything a running society is made of, for the daemon and the demo."""

    config: Config
    store: Store
    signer: Signer
    deliverer: Deliverer
    society: Society


def assemble(config: Config, environ: Mapping[str, str] | None = None) -> Parts:
    """Open the store and the key, and wire the society to its transports."""
    store = Store(store_path(config))
    passphrase = (config.society.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
                  if config.society.passphrase_file else None)
    signer = Signer(config.society.gnupghome, config.society.key, passphrase)
    password = config.smtp.password.read(environ) if config.smtp.password else None
    transport = SmtpTransport(config.smtp, password)
    retry = RetryPolicy(config.delivery.retry_first_seconds, config.delivery.retry_max_seconds,
                        config.delivery.max_age_hours * 3600)
    deliverer = Deliverer(store, transport, config.society.address, retry)
    keyring = load_keyring(config)
    society = Society(config, store, signer, transport, deliverer, keyring=keyring)
    return Parts(config, store, signer, deliverer, society)


def load_keyring(config: Config) -> Keyring:
    """The pinned partner keys (and our own); problems are logged, and those posts refused."""
    keyring = keyring_from_config(config)
    for warning in keyring.warnings:
        log.warning("keyring: %s", warning)
    return keyring


class Daemon:
    """The long-running process."""

    def __init__(self, config_path: Path, environ: Mapping[str, str] | None = None) -> None:
        self.config_path = Path(config_path)
        self.environ = environ
        self.stopping = asyncio.Event()
        self.inbox: ImapInbox | None = None

    def reload(self, parts: Parts) -> None:
        """Load the config file again; keep the running config when the new one has problems."""
        try:
            config = load_config(self.config_path, self.environ)
            if config.templates_dir is not None:
                problems = check_directory(config.templates_dir)
                if problems:
                    raise ConfigError(problems)
        except ConfigError as exc:
            log.error("reload refused, the running configuration is kept:\n%s", exc)
            return
        old = parts.society.keyring
        parts.society.reconfigure(config, load_keyring(config))
        if old is not None:
            # A verification may still be using the old keyring in a worker thread: close it
            # later rather than pull its GnuPG home out from under it.
            asyncio.get_running_loop().call_later(60, old.close)
        parts.config = config
        log.info("configuration reloaded")

    async def _watch(self, parts: Parts) -> None:
        def stamp() -> float | None:
            try:
                return os.stat(self.config_path).st_mtime
            except OSError:
                return None
        seen = stamp()
        while True:
            await asyncio.sleep(2)
            now = stamp()
            if now != seen:
                seen = now
                self.reload(parts)

    def _imap_state(self) -> str:
        inbox = self.inbox
        return (f"{inbox.state}" + (f"; last error: {inbox.last_error}" if inbox.last_error
                                    else "")) if inbox else "no IMAP inbox configured"

    def _write_runtime(self, parts: Parts, state_file: runtime.StateFile, **extra: object) -> None:
        """The runtime file, not the store, carries what status must see (and a restart must
        know) while the store cannot write."""
        state_file.write({"store": parts.store.health.describe(), "imap": self._imap_state(),
                          "unrecorded": parts.deliverer.unrecorded,
                          "unrecorded_items": parts.deliverer.unrecorded_items(), **extra})

    async def _publish_state(self, parts: Parts, state_file: runtime.StateFile) -> None:
        store = parts.store
        last = None
        while True:
            state = self._imap_state()
            self._write_runtime(parts, state_file)
            if state != last and store.health.writable:
                try:
                    store.set_state("imap", state)
                    last = state
                except StoreWriteError:
                    pass  # the store's health logs it; published again once it writes
            await asyncio.sleep(1)

    async def _housekeeping(self, store: Store) -> None:
        """Hourly: the images of held appeals that expired undecided are deleted."""
        while True:
            try:
                gone = store.purge_held_images(date.today().isoformat())
            except StoreWriteError:
                gone = 0  # tried again next hour
            if gone:
                log.info("deleted %d image(s) of held appeals that expired undecided", gone)
            await asyncio.sleep(3600)

    async def run(self) -> int:
        """Run until SIGTERM or SIGINT; return the exit code."""
        config = load_config(self.config_path, self.environ)
        problem = inbound_problem(config)
        if problem:
            raise ConfigError([problem])
        logs.setup(config.log.level, config.log.format, config.log.file, public_addresses(config))
        # A log file on a full disk: drop the line rather than print a traceback for each one.
        logging.raiseExceptions = False
        stale = runtime.remove_stale_keyrings(runtime.keyrings_dir(config.data_dir))
        if stale:
            log.info("removed %d keyring home(s) left by a previous run", stale)
        parts = assemble(config, self.environ)
        previous = runtime.StateFile.read(runtime.state_path(config.data_dir))
        state_file = runtime.StateFile(runtime.state_path(config.data_dir))
        adopted = parts.deliverer.adopt_unrecorded((previous or {}).get("unrecorded_items"))
        if adopted:
            log.warning("%d delivery(ies) were accepted before the last stop but could not be "
                        "recorded; they are recorded now and not sent again", adopted)
        parts.deliverer.on_unrecorded = lambda: self._write_runtime(parts, state_file)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self.reload(parts))
        tasks = [asyncio.create_task(parts.deliverer.run(), name="deliverer"),
                 asyncio.create_task(self._watch(parts), name="config-watch")]
        server = None
        if config.imap is not None:
            self.inbox = ImapInbox(config.imap, config.imap.password.read(self.environ),
                                   parts.society.handle, store=parts.store)
            tasks.append(asyncio.create_task(self.inbox.run(), name="imap"))
        tasks.append(asyncio.create_task(self._publish_state(parts, state_file), name="state"))
        tasks.append(asyncio.create_task(self._housekeeping(parts.store), name="housekeeping"))
        if config.listener is not None:
            server = await listener.serve(parts.society.handle, config.listener.host,
                                          config.listener.port, lmtp=config.listener.lmtp,
                                          max_bytes=config.limits.max_message_bytes)
        log.info("masbot running for %s (key %s)", config.society.name, parts.signer.fingerprint)
        await self.stopping.wait()
        log.info("stopping")
        if server is not None:
            server.close()
        # Take no new mail, finish the messages in hand, then stop.
        if self.inbox is not None:
            self.inbox.pause()
        try:
            async with asyncio.timeout(30):
                await parts.society.quiesce()
        except TimeoutError:
            log.warning("stopping with messages in hand; they are handled again at the next start")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            parts.store.set_state("imap", "stopped")
        except StoreWriteError:
            pass
        self._write_runtime(parts, state_file, stopped=True)
        state_file.close()
        if parts.deliverer.unrecorded:
            log.error("stopping with %d delivery(ies) accepted but not recorded (the store "
                      "cannot write); the next start records them from %s",
                      parts.deliverer.unrecorded, runtime.state_path(config.data_dir))
        parts.store.close()
        if parts.society.keyring is not None:
            parts.society.keyring.close()
        log.info("stopped")
        return 0
