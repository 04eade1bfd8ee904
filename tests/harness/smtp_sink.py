"""An aiosmtpd SMTP sink on loopback with fault injection.

The sink runs aiosmtpd's threaded :class:`~aiosmtpd.controller.Controller` (its own
thread and event loop) on ``127.0.0.1`` and a free port.  Each accepted message is
recorded as a :class:`Received` holding the envelope and the DATA bytes exactly as the
client sent them (after SMTP dot-unstuffing, before any decoding: aiosmtpd's
``envelope.original_content`` with ``decode_data=False``; the CRLF line endings are kept).

Fault injection, changeable at runtime from the test thread:

* :attr:`SmtpSink.mode` -- ``"accept"``, ``"tempfail"`` (``451 4.3.0 try later``) or
  ``"permfail"`` (``550 5.1.1 no``); :attr:`SmtpSink.fail_stage` chooses whether the
  failure is answered to ``"rcpt"`` (every RCPT TO) or to ``"data"`` (end of DATA).
* :attr:`SmtpSink.rcpt_modes` -- per-recipient override, e.g.
  ``{"partners@lists.example.net": "tempfail"}`` (always answered at RCPT), to
  simulate one destination failing while others accept; ``"hold"`` keeps that RCPT TO
  waiting (the client sees no reply) until the entry changes.
* :meth:`SmtpSink.close_listener` / :meth:`SmtpSink.reopen` -- stop listening entirely
  (connections are refused) and come back on the same port.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Literal

from aiosmtpd.controller import Controller

from .dovecot import free_port

Mode = Literal["accept", "tempfail", "permfail", "hold"]
Stage = Literal["rcpt", "data"]

TEMPFAIL_REPLY = "451 4.3.0 try later"
PERMFAIL_REPLY = "550 5.1.1 no"
_REPLIES: dict[str, str] = {"tempfail": TEMPFAIL_REPLY, "permfail": PERMFAIL_REPLY}


@dataclass(frozen=True)
class Received:
    """One accepted message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    peer: Any = None
    received_at: float = field(default_factory=time.time)

    def __iter__(self):  # allows ``mail_from, rcpt_tos, data = received``
        return iter((self.mail_from, self.rcpt_tos, self.data))


class _Handler:
    """aiosmtpd handler: consults the sink's fault settings and records messages."""

    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address: str, mail_options) -> str:
        with self.sink._cond:
            self.sink.attempts.append(("MAIL", address))
            self.sink.connections.add(session.peer)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        sink = self.sink
        with sink._cond:
            sink.attempts.append(("RCPT", address))
        while (mode := sink._rcpt_mode(address)) == "hold":
            await asyncio.sleep(0.05)
        if mode in _REPLIES:
            return _REPLIES[mode]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        sink = self.sink
        with sink._cond:
            sink.attempts.append(("DATA", ",".join(envelope.rcpt_tos)))
            mode = sink.mode if sink.fail_stage == "data" else "accept"
        if mode in _REPLIES:
            return _REPLIES[mode]
        if sink.on_data is not None:
            sink.on_data(envelope)
        data = bytes(envelope.original_content or b"")
        msg = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data,
            peer=session.peer,
        )
        sink._record(msg)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A recording SMTP server on ``127.0.0.1``.

    :param port: fixed port, or ``None`` for a free one.
    :param write_dir: if given, every accepted message is also written there as
        ``NNNN.eml`` (exact bytes).
    :param hostname: name used in the greeting/EHLO answer.

    Attributes: :attr:`host`, :attr:`port`, :attr:`messages` (list of
    :class:`Received`, one per accepted transaction), :attr:`deliveries` (one per recipient),
    :attr:`attempts` (``("MAIL", sender)``/``("RCPT", addr)``/``("DATA", rcpts)`` for every
    MAIL/RCPT/DATA seen, accepted or not), :attr:`connections` (the client ends that sent a
    MAIL FROM), :attr:`mode`, :attr:`fail_stage`, :attr:`rcpt_modes`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        write_dir: str | Path | None = None,
        hostname: str = "sink.test.invalid",
        data_size_limit: int = 32 * 1024 * 1024,
    ) -> None:
        self.host = "127.0.0.1"
        self.port: int = port or free_port()
        self.write_dir = Path(write_dir) if write_dir is not None else None
        self.hostname = hostname
        self.data_size_limit = data_size_limit
        self.mode: Mode = "accept"
        self.fail_stage: Stage = "data"
        self.rcpt_modes: dict[str, Mode] = {}
        self.messages: list[Received] = []
        self.attempts: list[tuple[str, str]] = []
        self.connections: set[Any] = set()  # the peers (client host, port) that sent MAIL
        # Called (in the sink's thread) with the envelope of a message about to be accepted,
        # before the 250 goes out: a test can do something "between DATA and the answer".
        self.on_data: Callable[[Any], None] | None = None
        self._cond = threading.Condition()
        self._counter = itertools.count(1)
        self._controller: Controller | None = None

    # ------------------------------------------------------------ lifecycle
    def _new_controller(self) -> Controller:
        return Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname=self.hostname,
            decode_data=False,
            enable_SMTPUTF8=True,
            data_size_limit=self.data_size_limit,
            ready_timeout=10.0,
        )

    def start(self) -> "SmtpSink":
        """Start listening (no-op if already listening)."""
        if self._controller is None:
            controller = self._new_controller()
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening and end the server thread (idempotent)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _rcpt_mode(self, address: str) -> str:
        """What RCPT TO ``address`` is answered now: its override, else the sink's mode."""
        with self._cond:
            overrides = {k.lower(): v for k, v in self.rcpt_modes.items()}
            mode = overrides.get(address.lower())
            if mode is None:
                mode = self.mode if self.fail_stage == "rcpt" else "accept"
        return mode

    def close_listener(self) -> None:
        """Stop listening: new connections get ``ECONNREFUSED`` until :meth:`reopen`."""
        self.stop()

    def reopen(self) -> None:
        """Listen again on the same port after :meth:`close_listener`."""
        self.start()

    @property
    def listening(self) -> bool:
        """``True`` while the listener is up."""
        return self._controller is not None

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ recording
    def _record(self, msg: Received) -> None:
        n = next(self._counter)
        if self.write_dir is not None:
            self.write_dir.mkdir(parents=True, exist_ok=True)
            (self.write_dir / f"{n:04d}.eml").write_bytes(msg.data)
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    @property
    def deliveries(self) -> list[Received]:
        """What each recipient received: every accepted message once per recipient of its
        envelope (a transaction with three RCPT TO is three deliveries), in order."""
        with self._cond:
            return [replace(m, rcpt_tos=(r,)) for m in self.messages for r in m.rcpt_tos]

    @property
    def transactions(self) -> int:
        """How many messages (MAIL FROM ... DATA) were accepted."""
        with self._cond:
            return len(self.messages)

    def for_rcpt(self, addr: str) -> list[bytes]:
        """DATA bytes of every accepted message whose envelope includes *addr*
        (case-insensitive)."""
        want = addr.lower()
        with self._cond:
            return [m.data for m in self.messages if want in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least *count* messages were accepted; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= count, timeout=timeout)

    def clear(self) -> None:
        """Forget recorded messages and attempts."""
        with self._cond:
            self.messages.clear()
            self.attempts.clear()
            self.connections.clear()

    def __repr__(self) -> str:
        return (
            f"SmtpSink(port={self.port}, mode={self.mode!r}, fail_stage={self.fail_stage!r}, "
            f"listening={self.listening}, messages={len(self.messages)})"
        )
