"""Signatures asked of gpg-agent directly, over its Assuan socket.

gpg itself, started once per signature, is most of what an appeal costs the machine: about
5 ms of CPU for each of an appeal's two signatures, against a fraction of a millisecond for the
agent to sign a digest (``docs/benchmarks.md``). So masbot computes the digest, asks the agent
that holds the society's key to sign it (``SIGKEY``, ``SETHASH``, ``PKSIGN``, the commands gpg
itself sends) and builds the packet (:mod:`masbot.signing.packets`). The key never leaves the
agent, and a passphrase is given the way gpg gives it (loopback pinentry).

Only a version 4 primary key whose secret the agent holds, Ed25519 or RSA, is signed with
here; :func:`agent_key` says None for anything else and gpg signs as before.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from dataclasses import dataclass

from masbot.signing import packets

TIMEOUT = 60.0  # seconds; the agent answers in milliseconds when it is up


class AgentError(Exception):
    """The agent could not be reached, or it refused; the message says which."""


@dataclass(frozen=True)
class AgentKey:
    """The society's key as the agent knows it."""

    fingerprint: str
    keygrip: str
    pk_algo: int  # packets.PK_EDDSA or packets.PK_RSA
    expires: int | None = None  # seconds since the epoch

    def expired(self, now: float) -> bool:
        """Whether the key has expired at ``now`` (the agent would still sign with it)."""
        return self.expires is not None and now >= self.expires


def agent_key(gpg_binary: str, home: str, fingerprint: str) -> AgentKey | None:
    """The agent's handle on primary key ``fingerprint`` in ``home``, or None when it is not a
    key signed with here: not found; expired, revoked, invalid or disabled; not able to sign
    itself; its secret not in the agent (a stub, a card); not a version 4 Ed25519 or RSA key.
    gpg checks validity at each signature, the agent never does: call this again from time to
    time (:class:`masbot.signing.signer.Signer` does)."""
    try:
        done = subprocess.run([gpg_binary, "--homedir", home, "--batch", "--no-tty",
                               "--with-colons", "--with-keygrip", "--list-secret-keys",
                               fingerprint], capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    records = [line.split(":") for line in done.stdout.decode("utf-8", "replace").splitlines()]
    for n, rec in enumerate(records):
        if rec[0] != "sec" or len(rec) < 17:
            continue
        following = records[n + 1:n + 3]
        fpr = next((r[9] for r in following if r[0] == "fpr" and len(r) > 9), "")
        grip = next((r[9] for r in following if r[0] == "grp" and len(r) > 9), "")
        algo = int(rec[3]) if rec[3].isdigit() else 0
        usable = (fpr == fingerprint and len(fpr) == 40 and len(grip) == 40
                  and rec[14] == "+" and rec[1] not in ("e", "r", "i", "d", "n")
                  and "s" in rec[11] and "D" not in rec[11])
        expires = int(rec[6]) if rec[6].isdigit() else None
        if not usable:
            return None
        if algo == packets.PK_EDDSA and rec[16] == "ed25519":
            return AgentKey(fpr, grip, algo, expires)
        if algo == packets.PK_RSA:
            return AgentKey(fpr, grip, algo, expires)
        return None
    return None


def socket_path(home: str) -> str:
    """Where the agent of ``home`` listens, started if it is not running."""
    try:
        subprocess.run(["gpgconf", "--homedir", home, "--launch", "gpg-agent"],
                       capture_output=True, timeout=TIMEOUT, check=False)
        done = subprocess.run(["gpgconf", "--homedir", home, "--list-dirs", "agent-socket"],
                              capture_output=True, timeout=TIMEOUT, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise AgentError(f"gpgconf could not name the agent's socket: {exc}") from None
    return done.stdout.decode("utf-8", "replace").strip()


def _escape(data: bytes) -> bytes:
    return data.replace(b"%", b"%25").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


_HEX = frozenset(b"0123456789ABCDEFabcdef")


def _unescape(data: bytes) -> bytes:
    """A ``D`` line's data with its ``%XX`` escapes undone; ValueError for a broken one."""
    if b"%" not in data:
        return data
    out, i = bytearray(), 0
    while i < len(data):
        if data[i] == 0x25:
            pair = data[i + 1:i + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise ValueError(f"a broken escape {data[i:i + 3]!r} in the agent's data")
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def parse_sexp(data: bytes) -> list[object]:
    """A canonical S-expression (``(7:sig-val(5:eddsa(1:r32:…)))``) as nested lists of bytes;
    ValueError when it is not one."""
    stack: list[list[object]] = [[]]
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x28:  # (
            stack.append([])
            i += 1
        elif c == 0x29:  # )
            if len(stack) < 2:
                raise ValueError("unbalanced S-expression")
            done = stack.pop()
            stack[-1].append(done)
            i += 1
        elif 0x30 <= c <= 0x39:
            colon = data.index(b":", i)
            size = int(data[i:colon])
            if colon + 1 + size > len(data):
                raise ValueError("truncated S-expression")
            stack[-1].append(data[colon + 1:colon + 1 + size])
            i = colon + 1 + size
        else:
            raise ValueError(f"unexpected octet {c:#x} in S-expression")
    if len(stack) != 1 or len(stack[0]) != 1 or not isinstance(stack[0][0], list):
        raise ValueError("not one S-expression")
    return stack[0][0]


def signature_values(sexp: list[object], pk_algo: int) -> list[bytes]:
    """The integers of the agent's ``sig-val`` in the order the packet carries them."""
    if len(sexp) != 2 or sexp[0] != b"sig-val" or not isinstance(sexp[1], list):
        raise ValueError("not a sig-val")
    algo, *params = sexp[1]
    values = {p[0]: p[1] for p in params if isinstance(p, list) and len(p) == 2
              and isinstance(p[0], bytes) and isinstance(p[1], bytes)}
    names = {packets.PK_EDDSA: (b"eddsa", (b"r", b"s")), packets.PK_RSA: (b"rsa", (b"s",))}
    name, wanted = names[pk_algo]
    if algo != name or any(w not in values for w in wanted):
        raise ValueError(f"a {algo!r} signature where {name!r} was asked for")
    return [values[w] for w in wanted]


class Dialogue:
    """One signature's exchange with the agent, without I/O: what to send first, then each
    line the agent says (:meth:`feed`), which may call for something to be sent back.

    On a new connection the agent's greeting comes first and loopback pinentry is asked for
    alone: an agent that refuses it would start a real pinentry for a protected key and wait,
    so a refusal ends the agent's way (:class:`AgentUnusable`). Then the signing commands are
    sent together (the agent reads them in order): one round trip a signature."""

    def __init__(self, key: AgentKey, signed_digest: bytes, passphrase: str | None,
                 greeted: bool) -> None:
        self.key = key
        self.passphrase = passphrase
        self._signing = (b"SIGKEY " + key.keygrip.encode("ascii") + b"\n"
                         + b"SETHASH %d %s\n" % (packets.HASH_SHA512,
                                                 signed_digest.hex().upper().encode())
                         + b"PKSIGN\n")
        self._stage = "signing" if greeted else "greeting"
        self.opening = self._signing if greeted else b"OPTION pinentry-mode=loopback\n"
        self._replies_due = 3
        self._error: str | None = None
        self._data = b""
        self._asked = 0

    @property
    def done(self) -> bool:
        """Whether every signing command has been answered."""
        return self._stage == "signing" and self._replies_due == 0

    @property
    def greeted(self) -> bool:
        """Whether the connection is past its greeting and set for loopback pinentry."""
        return self._stage == "signing"

    def feed(self, line: bytes) -> bytes:
        """Take one line from the agent (without its line end); return what to send back
        (usually nothing). Raises AgentError for a greeting or an answer to the pinentry
        option that is not OK."""
        if self._stage == "greeting":
            if not line.startswith(b"OK"):
                raise AgentError(f"the agent greeted with {line[:80]!r}")
            self._stage = "option"
        elif self._stage == "option":
            if line.startswith(b"ERR"):
                raise AgentUnusable("gpg-agent refuses loopback pinentry (allow-loopback-"
                                    f"pinentry is off): {line[4:84].decode('utf-8', 'replace')}")
            if line == b"OK" or line.startswith(b"OK "):
                self._stage = "signing"
                return self._signing
        elif line.startswith(b"D "):
            self._data += _unescape(line[2:])
        elif line.startswith(b"INQUIRE PASSPHRASE"):
            self._asked += 1
            if self.passphrase is None or self._asked > 1:
                return b"CAN\n"  # none, or it was wrong: never wait for a pinentry
            return b"D " + _escape(self.passphrase.encode("utf-8")) + b"\nEND\n"
        elif line.startswith(b"INQUIRE "):
            return b"END\n"
        elif line == b"OK" or line.startswith(b"OK "):
            self._replies_due -= 1
        elif line.startswith(b"ERR "):
            self._replies_due -= 1
            self._error = self._error or line[4:].decode("utf-8", "replace")
        # S (status) and # (comment) lines say nothing needed here
        return b""

    def result(self) -> list[bytes]:
        """The signature's integers, once :attr:`done`; AgentError when the agent refused."""
        if self._error is not None:
            if self._asked > 1 or (self._asked and self.passphrase is None):
                raise AgentError(f"gpg-agent did not sign: {self._error} (the key's passphrase "
                                 "is missing or wrong)")
            raise AgentError(f"gpg-agent did not sign: {self._error}")
        try:
            return signature_values(parse_sexp(self._data), self.key.pk_algo)
        except (ValueError, KeyError, TypeError) as exc:
            raise AgentError(f"gpg-agent's answer is not a signature: {exc}") from None


class AgentUnusable(AgentError):
    """The agent will not serve masbot's way at all (not just this once)."""


class _Lost(Exception):
    """The connection failed (closed, reset): a kept one may have outlived its agent."""


def _line(raw: bytes) -> bytes:
    if not raw.endswith(b"\n"):
        raise _Lost("the agent closed the connection")
    return raw[:-1]


class _Connection:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.file = self.sock.makefile("rb")
        self.greeted = False

    def close(self) -> None:
        self.file.close()
        self.sock.close()


class _Stream:
    """A connection for the event loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.loop = asyncio.get_running_loop()
        self.greeted = False

    def close(self) -> None:
        try:
            self.writer.close()
        except RuntimeError:  # its loop has ended
            pass


KEEP = 8  # kept-open connections at most, per driver


class Agent:
    """Kept-open connections to one gpg-agent: :meth:`sign` from any thread (each signature
    takes a connection of its own), :meth:`asign` from the event loop. A kept connection
    found dead (the agent was restarted) is replaced once, at once."""

    def __init__(self, home: str, passphrase: str | None = None) -> None:
        self.home = home
        self.passphrase = passphrase
        self._path: str | None = None
        self._idle: list[_Connection] = []
        self._streams: list[_Stream] = []
        self._lock = threading.Lock()

    def sign(self, key: AgentKey, signed_digest: bytes) -> list[bytes]:
        """The agent's signature by ``key`` over SHA-512 ``signed_digest``, as the integers the
        packet carries. AgentError when the agent cannot be reached or does not sign."""
        for last in (False, True):
            conn, kept = self._take()
            try:
                talk = Dialogue(key, signed_digest, self.passphrase, conn.greeted)
                conn.sock.sendall(talk.opening)
                while not talk.done:
                    answer = talk.feed(_line(conn.file.readline()))
                    if answer:
                        conn.sock.sendall(answer)
                conn.greeted = True
                values = talk.result()
            except (OSError, _Lost) as exc:
                conn.close()
                if kept and not last:
                    continue
                raise AgentError(f"gpg-agent: {exc}") from None
            except ValueError as exc:  # a broken escape
                conn.close()
                raise AgentError(f"gpg-agent: {exc}") from None
            except BaseException:
                conn.close()
                raise
            with self._lock:
                keep = len(self._idle) < KEEP
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()
            return values
        raise AssertionError("unreachable")

    async def asign(self, key: AgentKey, signed_digest: bytes) -> list[bytes]:
        """:meth:`sign` without blocking the event loop (and without a thread)."""
        loop = asyncio.get_running_loop()
        while self._streams and self._streams[-1].loop is not loop:
            self._streams.pop().close()  # a loop that has ended (tests run several)
        for last in (False, True):
            kept = bool(self._streams)
            conn = self._streams.pop() if kept else await self._open_stream()
            try:
                async with asyncio.timeout(TIMEOUT):
                    talk = Dialogue(key, signed_digest, self.passphrase, conn.greeted)
                    conn.writer.write(talk.opening)
                    while not talk.done:
                        answer = talk.feed(_line(await conn.reader.readline()))
                        if answer:
                            conn.writer.write(answer)
                conn.greeted = True
                values = talk.result()
            except (OSError, _Lost) as exc:
                conn.close()
                if kept and not last:
                    continue
                raise AgentError(f"gpg-agent: {exc}") from None
            except (TimeoutError, ValueError) as exc:  # ValueError: a broken escape, a long line
                conn.close()
                raise AgentError(f"gpg-agent: {exc or type(exc).__name__}") from None
            except BaseException:
                conn.close()
                raise
            if len(self._streams) < KEEP:
                self._streams.append(conn)
            else:
                conn.close()
            return values
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close every kept-open connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        streams, self._streams = self._streams, []
        for stream in streams:
            stream.close()

    def _socket_path(self, again: bool) -> str:
        if self._path is None or again:
            self._path = socket_path(self.home)  # and started, if it had stopped
        return self._path

    def _take(self) -> tuple[_Connection, bool]:
        """A connection, and whether it was kept from before."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        try:
            return _Connection(self._socket_path(False)), False
        except OSError:
            try:
                return _Connection(self._socket_path(True)), False
            except OSError as exc:
                raise AgentError(f"cannot reach gpg-agent at {self._path}: {exc}") from None

    async def _open_stream(self) -> _Stream:
        for again in (False, True):
            path = (await asyncio.to_thread(self._socket_path, again)
                    if again or self._path is None else self._path)
            try:
                return _Stream(*await asyncio.open_unix_connection(path))
            except OSError as exc:
                if again:
                    raise AgentError(f"cannot reach gpg-agent at {path}: {exc}") from None
        raise AssertionError("unreachable")
