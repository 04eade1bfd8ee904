"""What the inbox reads from the IMAP wire that aioimaplib does not tell it.

aioimaplib hands a command only the untagged lines it expects and drops the others ("ignored
untagged response"), among them an ``EXISTS`` inside the answer to masbot's own SEARCH or
FETCH; and it leaves a command waiting on a socket the server closed. :class:`WatchedProtocol`
shows every untagged line to the session's :class:`Link` first (``EXISTS``: mail was
announced; ``BYE``: the session is over) and reports a closed connection there too.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import Any

import aioimaplib

_EXISTS = re.compile(rb"^(?:\* )?(\d+) EXISTS", re.IGNORECASE)
_BYE = re.compile(rb"^(?:\* )?BYE\b", re.IGNORECASE)

__all__ = ["Link", "WatchedClient", "WatchedProtocol"]


class Link:
    """One session's view of its connection: announcements, BYE and loss."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self.arrived = asyncio.Event()
        self.reason = "the connection closed"
        self.announced = 0  # EXISTS lines seen, for tests and the log

    def observe(self, line: bytes) -> None:
        """Every untagged line, before aioimaplib routes (or drops) it."""
        data = bytes(line)
        if _EXISTS.match(data):
            self.announced += 1
            self.arrived.set()
        elif _BYE.match(data):
            text = data.split(b"BYE", 1)[-1].strip().decode("utf-8", "replace")[:120]
            self.reason = f"the server said BYE ({text})" if text else "the server said BYE"
            self.lost.set()

    def closed(self, exc: Exception | None) -> None:
        if not self.lost.is_set():
            self.reason = f"the connection closed ({exc})" if exc else "the connection closed"
        self.lost.set()


class WatchedProtocol(aioimaplib.IMAP4ClientProtocol):
    """aioimaplib's protocol, showing every untagged response to the session first."""

    def __init__(self, loop: asyncio.AbstractEventLoop, link: Link) -> None:
        super().__init__(loop, link.closed)
        self.link = link

    def _untagged_response(self, line: bytes) -> Any:
        self.link.observe(line)
        return super()._untagged_response(line)


class WatchedClient(aioimaplib.IMAP4):
    """aioimaplib's client with :class:`WatchedProtocol` (its constructor takes no protocol)."""

    def __init__(self, host: str, port: int, timeout: float, ssl_context: ssl.SSLContext | None,
                 link: Link) -> None:
        self._link = link
        super().__init__(host, port, timeout=timeout, ssl_context=ssl_context)

    def create_client(self, host: str, port: int, loop: asyncio.AbstractEventLoop | None,
                      conn_lost_cb: Any = None, ssl_context: ssl.SSLContext | None = None) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = WatchedProtocol(local_loop, self._link)
        self._client_task = local_loop.create_task(local_loop.create_connection(
            lambda: self.protocol, host, port, ssl=ssl_context))
