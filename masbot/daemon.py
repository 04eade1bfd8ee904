"""``masbot run``: inbound (IMAP and/or listener) -> society -> outbox -> SMTP, until SIGTERM.

The daemon holds an flock on ``data_dir/masbot.lock`` (with its pid) while it lives: a second
daemon on the same data_dir refuses to start, and ``masbot status`` can tell a live daemon from
one that was killed. SIGUSR1 makes it look at the outbox at once (``masbot retry`` sends it).

SIGHUP, or a change of the config file, reloads the configuration: a new config that fails the
check is refused, its problems are logged, and the running one is kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import fcntl
import gc
import json
import logging
import os
import signal
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, Callable, Mapping

from masbot import logs
from masbot.config.settings import Config, ConfigError, Problem, load_config
from masbot.story.templates import check_directory
from masbot.intake.inbox import ImapInbox
from masbot.signing.keyring import Keyring, from_config as keyring_from_config
from masbot.relay.answers import AnswerSender
from masbot.relay.delivery import Deliverer, RetryPolicy
from masbot.relay.smtp import SmtpTransport
from masbot.publish.site import Activity, Publisher, SiteSettings
from masbot.society import Outcome, Society
from masbot.signing.signer import Signer, SignerError
from masbot.appeal import render
from masbot.publish import pages
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


def lock_path(config: Config) -> Path:
    """The lock file a running daemon holds (flock) in its data_dir, with its pid in it."""
    return config.data_dir / "masbot.lock"


class StartError(Exception):
    """The daemon cannot start; the message is one line saying why."""


class AlreadyRunning(StartError):
    """Another daemon holds the lock on this data_dir; the message says which."""


class DaemonLock:
    """An exclusive flock on ``masbot.lock`` held for the daemon's lifetime.

    The kernel releases it when the process ends in any way (kill -9 included), so whether it
    is held tells ``masbot status`` whether a daemon is alive.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid; raise :class:`AlreadyRunning` if it is held."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = _read_pid(self.path)
            raise AlreadyRunning(
                f"masbot: another masbot is already running on {self.path.parent}"
                + (f" (pid {pid})" if pid else "") + "; stop it first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        """Let go of the lock (the file stays; an unlocked file means no daemon)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def running_pid(config: Config) -> int | None:
    """The pid of the daemon running on this config's data_dir, or None when none runs."""
    path = lock_path(config)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(path) or -1
    finally:
        os.close(fd)  # closing also drops a shared lock we may just have taken
    return None


@dataclass
class Parts:
    """Everything a running society is made of, for the daemon and the demo."""

    config: Config
    store: Store
    signer: Signer
    deliverer: Deliverer
    society: Society
    answers: AnswerSender


def assemble(config: Config, environ: Mapping[str, str] | None = None) -> Parts:
    """Open the store and the key, and wire the society to its transports."""
    store = Store(store_path(config))
    store.start_writer()  # commits in batches, off the event loop
    passphrase = (config.society.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
                  if config.society.passphrase_file else None)
    signer = Signer(config.society.gnupghome, config.society.key, passphrase)
    password = config.smtp.password.read(environ) if config.smtp.password else None
    transport = SmtpTransport(config.smtp, password,
                              local_hostname=config.society.address.rsplit("@", 1)[1])
    deliverer = Deliverer(store, transport, config.society.address, retry_policy(config))
    answers = AnswerSender(store, transport, retry_policy(config))
    keyring = load_keyring(config)
    society = Society(config, store, signer, transport, deliverer, keyring=keyring,
                      answers=answers)
    return Parts(config, store, signer, deliverer, society, answers)


def retry_policy(config: Config) -> RetryPolicy:
    """The outbox's retry policy from the delivery settings."""
    return RetryPolicy(config.delivery.retry_first_seconds, config.delivery.retry_max_seconds,
                       config.delivery.max_age_hours * 3600)


def restart_settings(config: Config) -> dict[str, str]:
    """The settings a reload cannot apply, by dotted name: the signing key (the signer is
    made once), data_dir (the store and the lock), IMAP and the listener (their connections)."""
    soc = config.society
    out = {"data_dir": str(config.data_dir), "society.gnupghome": str(soc.gnupghome),
           "society.key": str(soc.key), "society.passphrase_file": str(soc.passphrase_file)}
    for name in ("imap", "listener"):
        section = getattr(config, name)
        if section is None:
            out[name] = "(none)"
            continue
        for f in dataclasses.fields(section):
            out[f"{name}.{f.name}"] = repr(getattr(section, f.name))
    return out


def changed_settings(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The names whose values differ; a section added or removed is named once."""
    names = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return [n for n in names if n.split(".")[0] == n or n.split(".")[0] not in names]


def restart_needed(config: Config) -> list[str]:
    """The restart-only settings in which ``config`` differs from the daemon now running on its
    data_dir ([] when none runs, or it published nothing)."""
    if running_pid(config) is None or not store_path(config).exists():
        return []
    store = Store(store_path(config))
    try:
        published = store.states().get("restart-settings")
    finally:
        store.close()
    if published is None:
        return []
    try:
        running = json.loads(published[0])
    except ValueError:
        return []
    return changed_settings(running, restart_settings(config))


def load_keyring(config: Config) -> Keyring:
    """The pinned partner keys (and our own); problems are logged, and those posts refused."""
    keyring = keyring_from_config(config)
    for warning in keyring.warnings:
        log.warning("keyring: %s", warning)
    return keyring


def publishing(parts: Parts) -> tuple[Publisher, Callable[[bytes], Awaitable[Outcome]]]:
    """The public site's publisher, and the society's ``handle`` followed by publishing the
    handled message's appeal (after the store committed it, so a page never shows a revision
    the store could still lose)."""
    activity = Activity(parts.deliverer.busy, parts.answers.busy)
    publisher = Publisher(lambda: SiteSettings.of(parts.config, parts.signer.fingerprint,
                                                  parts.society.public_key), parts.store,
                          activity=activity)

    async def handle(raw: bytes) -> Outcome:
        activity.begin()
        try:
            outcome = await parts.society.handle(raw)
        finally:
            activity.end()
        if outcome.appeal_id:
            publisher.mark(outcome.appeal_id)  # written by publisher.run, batched
        return outcome
    return publisher, handle


def warm_up(signer: Signer) -> None:
    """What the first appeal after a start would otherwise pay for: the templates compiled,
    and gpg-agent started with the key loaded, each kind of signature made once over a fixed
    text and never sent (so the agent's way is checked by gpg now, see
    :meth:`Signer._agent_packet`)."""
    render.warm()
    pages.warm()
    try:
        signer.detach_sign(b"masbot warm-up\r\n")
        signer.clearsign("masbot warm-up\n")
    except SignerError as exc:  # the first appeal will say so, with its message
        log.warning("the signing key could not be used at start: %s", exc)


class Daemon:
    """The long-running process."""

    def __init__(self, config_path: Path, environ: Mapping[str, str] | None = None) -> None:
        self.config_path = Path(config_path)
        self.environ = environ
        self.stopping = asyncio.Event()
        self.inbox: ImapInbox | None = None
        self.started_with: dict[str, str] = {}

    def reload(self, parts: Parts) -> None:
        """Load the config file again and apply what can be applied live.

        A new config with problems is refused and the running one kept. Applied at once: SMTP
        (server, TLS, login, password), delivery retries, log settings (the log file is opened
        again, for logrotate), limits, rules, partners and their keys, moderators, templates,
        attachments and the society's public details. The settings in
        :func:`restart_settings` (the signing key, data_dir, IMAP, the listener) need a restart;
        each one that changed is named in the log, and the old value stays in use.
        """
        try:
            config = load_config(self.config_path, self.environ)
            if config.templates_dir is not None:
                problems = check_directory(config.templates_dir)
                if problems:
                    raise ConfigError(problems)
            password = config.smtp.password.read(self.environ) if config.smtp.password else None
        except ConfigError as exc:
            log.error("reload refused, the running configuration is kept:\n%s", exc)
            return
        except (OSError, KeyError) as exc:
            log.error("reload refused, the running configuration is kept: the SMTP password "
                      "cannot be read: %s", exc)
            return
        logs.setup(config.log.level, config.log.format, config.log.file, public_addresses(config))
        transport = parts.deliverer.transport
        if isinstance(transport, SmtpTransport) and (transport.config, transport.password) != (
                config.smtp, password):
            transport.config, transport.password = config.smtp, password
            # Posts waiting out a backoff from the old settings are tried with the new ones now.
            parts.store.retry_pending_now()
            parts.store.answers_due_now()
        parts.deliverer.retry = parts.answers.retry = retry_policy(config)
        old = parts.society.keyring
        parts.society.reconfigure(config, load_keyring(config))
        if old is not None:
            # A verification may still be using the old keyring in a worker thread: close it
            # later rather than pull its GnuPG home out from under it.
            asyncio.get_running_loop().call_later(60, old.close)
        parts.config = config
        pending = changed_settings(self.started_with, restart_settings(config))
        log.info("configuration reloaded: smtp, delivery, log, limits, rules, partners, "
                 "moderators, templates and attachments apply now")
        if pending:
            log.warning("these settings changed but need a restart, their old values stay in "
                        "use until then: %s", ", ".join(pending))
        parts.deliverer.kick()  # a corrected smarthost is tried now, not at the next retry
        parts.answers.kick()

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
                          "unrecorded_items": parts.deliverer.unrecorded_items(),
                          "answers_sent": parts.answers.sent_not_forgotten[:200],
                          "signing": "gpg-agent" if parts.signer.through_agent else "gpg",
                          **extra})

    async def _publish_state(self, parts: Parts, state_file: runtime.StateFile) -> None:
        store = parts.store
        last = None
        while True:
            state = self._imap_state()
            self._write_runtime(parts, state_file)
            if self.inbox is not None and state != last and store.health.writable:
                try:
                    await store.write(lambda s: s.set_state("imap", state))
                    last = state
                except StoreWriteError:
                    pass  # the store's health logs it; published again once it writes
            await asyncio.sleep(1)

    async def _housekeeping(self, store: Store) -> None:
        """Hourly: the images of held appeals that expired undecided are deleted."""
        while True:
            today = datetime.now(timezone.utc).date().isoformat()
            try:
                gone = await store.write(lambda s: s.purge_held_images(today))
            except StoreWriteError:
                gone = 0  # tried again next hour
            if gone:
                log.info("deleted %d image(s) of held appeals that expired undecided", gone)
            await asyncio.sleep(3600)

    async def run(self) -> int:
        """Run until SIGTERM or SIGINT; return the exit code.

        Raises :class:`StartError` (one line) when the daemon cannot start: another one runs
        on the same data_dir, or the listener's port is taken.
        """
        config = load_config(self.config_path, self.environ)
        problem = inbound_problem(config)
        if problem:
            raise ConfigError([problem])
        lock = DaemonLock(lock_path(config))
        lock.acquire()
        try:
            return await self._run(config)
        finally:
            lock.release()

    async def _run(self, config: Config) -> int:
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
        parts.deliverer.journal = lambda: self._write_runtime(parts, state_file)
        forgotten = parts.answers.adopt_sent((previous or {}).get("answers_sent"))
        if forgotten:
            log.warning("%d answer(s) were sent before the last stop but could not be deleted; "
                        "they are deleted now and not sent again", forgotten)
        parts.answers.journal = lambda: self._write_runtime(parts, state_file)
        self.started_with = restart_settings(config)
        try:
            parts.store.clear_states()
            parts.store.set_state("daemon", f"running, pid {os.getpid()}")
            parts.store.set_state("restart-settings", json.dumps(self.started_with))
        except StoreWriteError:
            pass  # the store's health says so, and status reads the runtime file
        publisher, handle = publishing(parts)
        server = None
        if config.listener is not None:
            from masbot.intake import listener  # aiosmtpd: only for a society that listens
            try:
                server = await listener.serve(handle, config.listener.host,
                                              config.listener.port, lmtp=config.listener.lmtp,
                                              max_bytes=config.limits.max_message_bytes)
            except OSError as exc:
                parts.store.set_state("daemon", "stopped: the listener could not start")
                parts.store.close()
                why = os.strerror(exc.errno) if exc.errno else str(exc)
                raise StartError(f"masbot: cannot listen on {config.listener.host}:"
                                 f"{config.listener.port}: {why}"
                                 + (" (another program uses it: stop it or change "
                                    "listener.port)" if exc.errno == errno.EADDRINUSE else "")
                                 ) from None
            parts.store.set_state("listener", f"{'LMTP' if config.listener.lmtp else 'SMTP'} on "
                                  f"{config.listener.host}:{config.listener.port}")
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self.reload(parts))
        # `masbot retry` asks for an immediate look at the outbox.
        def look_now() -> None:
            parts.deliverer.kick()
            parts.answers.kick()
        loop.add_signal_handler(signal.SIGUSR1, look_now)
        await publisher.publish()  # pages a crash left unwritten, and expiries since
        await asyncio.to_thread(warm_up, parts.signer)
        # What exists now (modules, templates, config, keys) lives as long as the daemon: the
        # collector's full passes need not walk it again (it took 50-90 ms a pass).
        gc.freeze()
        tasks = [asyncio.create_task(parts.deliverer.run(), name="deliverer"),
                 asyncio.create_task(parts.answers.run(), name="answers"),
                 asyncio.create_task(publisher.run(), name="publisher"),
                 asyncio.create_task(self._watch(parts), name="config-watch")]
        if config.imap is not None:
            self.inbox = ImapInbox(config.imap, config.imap.password.read(self.environ),
                                   handle, store=parts.store)
            tasks.append(asyncio.create_task(self.inbox.run(), name="imap"))
        tasks.append(asyncio.create_task(self._publish_state(parts, state_file), name="state"))
        tasks.append(asyncio.create_task(self._housekeeping(parts.store), name="housekeeping"))
        log.info("masbot running for %s (key %s, signing through %s)", config.society.name,
                 parts.signer.fingerprint, "gpg-agent" if parts.signer.through_agent else "gpg")
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
        await parts.deliverer.transport.aclose()
        await publisher.flush()  # the pages of what was handled last
        try:
            if self.inbox is not None:
                parts.store.set_state("imap", "stopped")
            parts.store.set_state("daemon", "stopped")
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
        parts.signer.close()
        log.info("stopped")
        return 0
