"""Synchronous IMAP helpers (stdlib :mod:`imaplib`) for arranging and inspecting mail.

Every helper opens its own connection, logs in, does one thing and logs out, so tests
can call them freely while the bot under test holds its own connections.  Mailbox
names are plain ASCII (Dovecot's hierarchy separator with Maildir is ``.``); names are
quoted for you.  Any non-``OK`` answer raises :class:`ImapError`.

The *server* argument is anything with ``host`` and ``port`` attributes, normally a
:class:`harness.dovecot.Dovecot`.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import time
from collections.abc import Iterator
from typing import Protocol


class ImapServer(Protocol):
    """What the helpers need from a server object."""

    host: str
    port: int


class ImapError(RuntimeError):
    """An IMAP command did not answer ``OK``."""


def _quote(mailbox: str) -> str:
    """Quote a mailbox name as an IMAP quoted string."""
    if not mailbox.isascii():
        raise ValueError(f"non-ASCII mailbox names need modified UTF-7: {mailbox!r}")
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(what: str, typ: str, data: list) -> list:
    if typ != "OK":
        raise ImapError(f"{what}: {typ} {data!r}")
    return data


@contextlib.contextmanager
def connect(server: ImapServer, user: str, password: str, timeout: float = 10.0) -> Iterator[imaplib.IMAP4]:
    """Yield a logged-in :class:`imaplib.IMAP4` on the plain port; log out afterwards."""
    conn = imaplib.IMAP4(server.host, server.port, timeout=timeout)
    try:
        _check("LOGIN", *conn.login(user, password))
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.logout()


def _examine(conn: imaplib.IMAP4, mailbox: str) -> int:
    typ, data = conn.select(_quote(mailbox), readonly=True)
    _check(f"EXAMINE {mailbox}", typ, data)
    return int(data[0])


def append(
    server: ImapServer,
    user: str,
    password: str,
    raw_bytes: bytes,
    mailbox: str = "INBOX",
    flags: str | None = None,
) -> None:
    """APPEND *raw_bytes* to *mailbox*.

    imaplib turns bare LF into CRLF (IMAP literals are CRLF), so LF-only ``.eml``
    files are fine.  *flags* is an IMAP flag list such as ``r"(\\Seen)"``.
    """
    with connect(server, user, password) as conn:
        _check(f"APPEND {mailbox}", *conn.append(_quote(mailbox), flags, None, raw_bytes))


def count(server: ImapServer, user: str, password: str, mailbox: str = "INBOX") -> int:
    """Number of messages in *mailbox* (raises :class:`ImapError` if it does not exist)."""
    with connect(server, user, password) as conn:
        return _examine(conn, mailbox)


def _fetch(conn: imaplib.IMAP4, items: str) -> list[tuple[bytes, bytes | None]]:
    """FETCH 1:* *items*; return ``(metadata line, literal or None)`` per message."""
    typ, data = conn.fetch("1:*", items)
    _check("FETCH", typ, data)
    out: list[tuple[bytes, bytes | None]] = []
    for item in data:
        if isinstance(item, tuple):
            out.append((item[0], item[1]))
        elif item and item != b")":
            out.append((item, None))
    return out


def fetch_all(server: ImapServer, user: str, password: str, mailbox: str = "INBOX") -> list[bytes]:
    """Raw bytes (``BODY.PEEK[]``, so ``\\Seen`` is not set) of every message, in order."""
    with connect(server, user, password) as conn:
        if _examine(conn, mailbox) == 0:
            return []
        return [lit for _, lit in _fetch(conn, "(BODY.PEEK[])") if lit is not None]


def flags(server: ImapServer, user: str, password: str, mailbox: str = "INBOX") -> list[set[str]]:
    """The flags of every message in *mailbox*, in order (e.g. ``{"\\\\Seen"}``).

    ``\\Recent`` is left out: it depends on which session looked first, not on
    what the client under test did.
    """
    with connect(server, user, password) as conn:
        if _examine(conn, mailbox) == 0:
            return []
        result = []
        for meta, _ in _fetch(conn, "(FLAGS)"):
            m = re.search(rb"FLAGS \(([^)]*)\)", meta)
            found = set(m.group(1).decode().split()) if m else set()
            result.append(found - {"\\Recent"})
        return result


_LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')


def _unquote(name: bytes) -> str:
    if name.startswith(b'"') and name.endswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", name[1:-1]).decode()
    return name.decode()


def list_mailboxes(server: ImapServer, user: str, password: str) -> list[str]:
    """Names of all mailboxes of *user* (``LIST "" "*"``), e.g. ``["INBOX", "Processed"]``."""
    with connect(server, user, password) as conn:
        typ, data = conn.list('""', "*")
        _check("LIST", typ, data)
        names = []
        for line in data:
            if isinstance(line, tuple):  # name sent as a literal
                names.append(line[1].decode())
                continue
            if not line:
                continue
            m = _LIST_RE.match(line)
            if m is None:
                raise ImapError(f"cannot parse LIST line {line!r}")
            names.append(_unquote(m.group("name")))
        return names


def create_mailbox(server: ImapServer, user: str, password: str, mailbox: str) -> None:
    """CREATE *mailbox*."""
    with connect(server, user, password) as conn:
        _check(f"CREATE {mailbox}", *conn.create(_quote(mailbox)))


def wait_count(
    server: ImapServer,
    user: str,
    password: str,
    expected: int,
    mailbox: str = "INBOX",
    timeout: float = 10.0,
    interval: float = 0.1,
) -> bool:
    """Poll until *mailbox* holds exactly *expected* messages; ``False`` on timeout.

    A missing mailbox counts as 0 messages while waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            n = count(server, user, password, mailbox)
        except ImapError:
            n = 0
        if n == expected:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
