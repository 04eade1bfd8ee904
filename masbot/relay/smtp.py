"""The SMTP transport: hands bytes to the smarthost with aiosmtplib, unchanged.

One small interface (:class:`Transport`) so tests and the demo can put another transport behind
the same seam. Errors are sorted into temporary (try again later) and permanent (5xx), per
recipient: one transaction carries several recipients, and the server may take some and
refuse others.

Connections are kept open while there is work, as an MTA does: a transaction takes an idle
connection to the same server or opens one (at most ``max_connections`` at once), and gives it
back when it is done. A connection idle for ``idle_seconds`` is closed with QUIT; one that
failed in any way is closed at once and never reused.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiosmtplib

from masbot.config.settings import SmtpConfig

log = logging.getLogger(__name__)

Accepted = Callable[[Sequence[str]], None]
"""Called with the recipients the server took, the moment it answered the end of DATA."""


class DeliveryError(Exception):
    """A delivery failed; ``permanent`` is True for a 5xx answer.

    ``refused`` names, when the server refused every recipient, each one with its own error
    (they may differ: a 4xx for one, a 5xx for another)."""

    def __init__(self, message: str, permanent: bool,
                 refused: dict[str, "DeliveryError"] | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.refused = refused or {}


class Transport(Protocol):
    def route(self, recipient: str) -> str:
        """The server ``recipient``'s mail goes through: recipients with the same route can
        share one transaction and one connection."""

    async def send(self, data: bytes, sender: str, recipients: Sequence[str],
                   accepted: Accepted | None = None) -> dict[str, DeliveryError]:
        """Deliver ``data`` byte for byte to ``recipients`` (all of one route) in one
        transaction; return the recipients the server refused, each with its error (it took
        the others). Raise :class:`DeliveryError` when it took none.

        ``accepted`` is called the moment the server has taken responsibility for the
        message (its answer to the end of DATA), with the recipients it took.
        """

    async def aclose(self) -> None:
        """Close the connections kept open (at shutdown)."""


def route_of(transport: object, recipient: str) -> str:
    """``transport``'s route for ``recipient``; one route for a transport that names none."""
    route = getattr(transport, "route", None)
    return route(recipient) if callable(route) else "smarthost"


async def send_one(transport: Transport, data: bytes, sender: str, recipient: str) -> None:
    """Deliver ``data`` to the one ``recipient``, or raise :class:`DeliveryError`."""
    refused = await transport.send(data, sender, [recipient])
    if recipient in refused:
        raise refused[recipient]


def _refusal(code: int, message: str) -> DeliveryError:
    return DeliveryError(f"recipient refused: {code} {message}", code >= 500)


class _Stale(Exception):
    """A kept-open connection turned out closed before the transaction began."""


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    settings: tuple[SmtpConfig, str | None]
    idle_since: float = 0.0


@dataclass
class SmtpTransport:
    """Delivers through the configured smarthost over connections kept open while in use."""

    config: SmtpConfig
    password: str | None = None
    # The name given in EHLO. Without one aiosmtplib calls socket.getfqdn() for every
    # connection, which stalls for seconds on a host whose name does not resolve.
    local_hostname: str | None = None
    idle_seconds: float = 5.0
    max_connections: int = 4
    _idle: list[_Connection] = field(default_factory=list, init=False, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _reaper: asyncio.TimerHandle | None = field(default=None, init=False, repr=False)
    _closing: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    def route(self, recipient: str) -> str:
        """Every recipient goes through the one smarthost."""
        return f"{self.config.host}:{self.config.port}"

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.security == "none":
            return None
        ctx = ssl.create_default_context(cafile=str(self.config.cafile) if self.config.cafile else None)
        return ctx

    def _settings(self) -> tuple[SmtpConfig, str | None]:
        return self.config, self.password

    def _on_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None:
            # Connections belong to the loop that opened them (a CLI command runs its own).
            for conn in self._idle:
                conn.client.close()
            self._idle.clear()
            self._loop, self._slots, self._reaper = loop, asyncio.Semaphore(self.max_connections), None
        return self._slots

    async def _connect(self) -> _Connection:
        cfg = self.config
        client = aiosmtplib.SMTP(
            hostname=cfg.host, port=cfg.port, use_tls=cfg.security == "implicit",
            start_tls=cfg.security == "starttls", tls_context=self._tls_context(),
            username=cfg.username, password=self.password if cfg.username else None,
            timeout=cfg.timeout, local_hostname=self.local_hostname)
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            raise DeliveryError(f"{exc.code} {exc.message}", exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client.close()
            raise DeliveryError(f"{type(exc).__name__}: {exc}", False) from exc
        return _Connection(client, self._settings())

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.settings == self._settings() and conn.client.is_connected:
                return conn
            self._quit_later(conn)  # the settings changed (a reload), or the server left
        return None

    def _give_back(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        if self._reaper is None and self._loop is not None:
            self._reaper = self._loop.call_later(self.idle_seconds, self._reap)

    def _reap(self) -> None:
        """Close the connections idle for ``idle_seconds``; look again for the others."""
        self._reaper = None
        now = time.monotonic()
        keep = [c for c in self._idle if now - c.idle_since < self.idle_seconds]
        for conn in self._idle:
            if conn not in keep:
                self._quit_later(conn)
        self._idle = keep
        if keep and self._loop is not None:
            wait = self.idle_seconds - (now - min(c.idle_since for c in keep))
            self._reaper = self._loop.call_later(max(0.05, wait), self._reap)

    def _quit_later(self, conn: _Connection) -> None:
        task = asyncio.ensure_future(self._quit(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _quit(conn: _Connection) -> None:
        try:
            if conn.client.is_connected:
                await conn.client.quit(timeout=2)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass
        finally:
            conn.client.close()

    async def send(self, data: bytes, sender: str, recipients: Sequence[str],
                   accepted: Accepted | None = None) -> dict[str, DeliveryError]:
        """See :meth:`Transport.send`; the envelope sender may be "" (a null sender)."""
        async with self._on_this_loop():
            conn = self._take_idle()
            reused = conn is not None
            if conn is None:
                conn = await self._connect()
            try:
                try:
                    refused = await self._transaction(conn.client, data, sender, recipients,
                                                      accepted, reused)
                except _Stale:
                    conn.client.close()
                    conn = await self._connect()
                    refused = await self._transaction(conn.client, data, sender, recipients,
                                                      accepted, False)
            except BaseException:
                conn.client.close()  # after any error the connection is not trusted again
                raise
            self._give_back(conn)
            return refused

    @staticmethod
    async def _transaction(client: aiosmtplib.SMTP, data: bytes, sender: str,
                           recipients: Sequence[str], accepted: Accepted | None,
                           reused: bool) -> dict[str, DeliveryError]:
        begun = False
        try:
            options = [f"SIZE={len(data)}"] if client.supports_extension("size") else []
            # MAIL FROM:<> is the null sender of an answer; aiosmtplib.send would refuse it.
            await client.mail(sender, options=options)
            begun = True
            refused: dict[str, DeliveryError] = {}
            for recipient in recipients:
                try:
                    await client.rcpt(recipient)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused[recipient] = _refusal(exc.code, exc.message)
            if len(refused) == len(recipients):
                first = next(iter(refused.values()))
                raise DeliveryError(str(first), all(e.permanent for e in refused.values()),
                                    refused)
            await client.data(data)
        except DeliveryError:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{exc.code} {exc.message}", exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            if reused and not begun:
                raise _Stale() from exc  # closed by the server while idle: open a new one
            raise DeliveryError(f"{type(exc).__name__}: {exc}", False) from exc
        if accepted is not None:
            accepted([r for r in recipients if r not in refused])
        return refused

    async def aclose(self) -> None:
        """Close every kept-open connection with QUIT."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for conn in self._idle:
            self._quit_later(conn)
        self._idle.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
