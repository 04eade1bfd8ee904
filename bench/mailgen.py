"""Mail for the benchmark: valid requests, a seeded junk mix, and a fast IMAP appender.

Nothing here imports masbot: the benchmark judges the product from outside, like tests/harness.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field

from support import bail_request  # tests/support.py (bench/run.py puts tests/ on sys.path)

SOCIETY = "mas@anytown.example"


# -- valid requests ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One valid request: its distinct title is how its posts are recognised at the sink."""

    title: str
    sender: str
    raw: bytes


def requests(prefix: str, count: int, rng: random.Random) -> list[Request]:
    """``count`` valid bail requests with distinct titles and distinct senders."""
    out = []
    for i in range(count):
        tag = f"{prefix}{i:05d}"
        sender = f"bench.{tag.lower()}.{rng.randrange(10**6):06d}@example.net"
        title = f"Bail for neighbour {tag}: get them home"
        out.append(Request(title, sender, bail_request(sender, title=title)))
    return out


# -- junk --------------------------------------------------------------------------------------
_WORDS = ("hello please help how does this work rent money list join question thanks "
          "offer cheap meds click here unsubscribe winner prize crypto invest urgent reply "
          "meeting tomorrow food share volunteer address phone call me").split()


def _text(rng: random.Random, words: int) -> str:
    lines, line = [], []
    for _ in range(words):
        line.append(rng.choice(_WORDS))
        if len(line) >= rng.randint(8, 14):
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines) + "\n"


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _head(rng: random.Random, n: int, sender: str, subject: str, extra: str = "",
          ctype: str = "text/plain; charset=utf-8") -> str:
    return (f"From: {sender}\nTo: {SOCIETY}\nSubject: {subject}\n"
            f"Message-ID: <junk.{n}.{rng.randrange(10**9)}@junk.example>\n"
            f"Date: Tue, 24 Nov 2026 10:{n % 60:02d}:00 +0000\n{extra}"
            f"MIME-Version: 1.0\nContent-Type: {ctype}\n\n")


def _sender(rng: random.Random) -> str:
    # A flood from many addresses: mostly distinct, a few repeat (some hit the per-sender limit).
    return f"x{rng.randrange(3000)}.{rng.choice('abcdefgh')}@spam{rng.randrange(40)}.example"


def not_a_request(rng: random.Random, n: int) -> bytes:
    subject = rng.choice(["question", "hi", "how does this work?", "Re: your list",
                          "WINNER!!", "[URGENT] read now", "meeting"])
    body = rng.choice(["Hi! How do I ask for help with rent?\n", ""]) + _text(rng, rng.randint(20, 200))
    return _crlf(_head(rng, n, _sender(rng), subject) + body)


def auto_reply(rng: random.Random, n: int) -> bytes:
    extra = rng.choice(["Auto-Submitted: auto-replied\n", "Precedence: bulk\n",
                        "X-Autoreply: yes\n", "Auto-Submitted: auto-generated\n",
                        "List-Id: <news.spam.example>\n"])
    subject = rng.choice(["Out of office", "Automatic reply: question", "Away until Monday"])
    return _crlf(_head(rng, n, _sender(rng), subject, extra)
                 + "I am away and will read your message when I am back.\n"
                 + _text(rng, rng.randint(5, 40)))


def bounce(rng: random.Random, n: int) -> bytes:
    boundary = f"bnd{n}x{rng.randrange(10**6)}"
    orig = f"x{rng.randrange(9999)}@gone.example"
    head = _head(rng, n, "Mail Delivery System <MAILER-DAEMON@mx.junk.example>",
                 "Undelivered Mail Returned to Sender", "Return-Path: <>\n",
                 f'multipart/report; report-type=delivery-status; boundary="{boundary}"')
    body = (f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
            f"This is the mail system. Your message could not be delivered to <{orig}>.\n\n"
            f"--{boundary}\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; mx.junk.example\n\nFinal-Recipient: rfc822; {orig}\n"
            f"Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n\n"
            f"--{boundary}\nContent-Type: text/rfc822-headers\n\n"
            f"From: {SOCIETY}\nTo: {orig}\nSubject: Re: your request\n\n--{boundary}--\n")
    return _crlf(head + body)


def garbage_mime(rng: random.Random, n: int) -> bytes:
    kind = n % 8
    sender = _sender(rng)
    if kind == 0:  # multipart with a boundary that never occurs
        return _crlf(_head(rng, n, sender, "photos", ctype='multipart/mixed; boundary="nowhere"')
                     + "--elsewhere\nContent-Type: text/plain\n\n" + _text(rng, 60))
    if kind == 1:  # broken base64
        return _crlf(_head(rng, n, sender, "doc", "Content-Transfer-Encoding: base64\n")
                     + "".join(rng.choice("ABCDEFGH!!==**") for _ in range(1500)) + "\n")
    if kind == 2:  # unknown charset, 8-bit body
        head = _head(rng, n, sender, "=?x-unknown?B?////?=", ctype="text/plain; charset=x-klingon")
        return _crlf(head) + bytes(rng.randrange(128, 256) for _ in range(800)) + b"\r\n"
    if kind == 3:  # nested deeper than the limit
        depth = 14
        parts = "".join(f'Content-Type: multipart/mixed; boundary="d{i}"\n\n--d{i}\n'
                        for i in range(depth))
        closes = "".join(f"--d{i}--\n" for i in reversed(range(depth)))
        return _crlf(_head(rng, n, sender, "nest", ctype='multipart/mixed; boundary="top"')
                     + "--top\n" + parts + "Content-Type: text/plain\n\nhi\n" + closes + "--top--\n")
    if kind == 4:  # too many parts
        b = f"many{n}"
        parts = "".join(f"--{b}\nContent-Type: text/plain\n\npart {i}\n" for i in range(70))
        return _crlf(_head(rng, n, sender, "many", ctype=f'multipart/mixed; boundary="{b}"')
                     + parts + f"--{b}--\n")
    if kind == 5:  # headers with 8-bit garbage and no body separator
        return (b"From: " + bytes(rng.randrange(128, 256) for _ in range(40)) + b"\r\nSubject: "
                + bytes(rng.randrange(128, 256) for _ in range(60)) + b"\r\nX-Junk: yes\r\n")
    if kind == 6:  # HTML only, with a script and an image reference
        html = ("<html><head><style>p{}</style><script>x()</script></head><body><p>"
                + _text(rng, 80).replace("\n", "<br>") + "</p><img src=cid:x></body></html>\n")
        return _crlf(_head(rng, n, sender, "special offer", ctype="text/html; charset=iso-8859-1")
                     + html)
    # 7: no headers at all, just random printable and 8-bit noise
    return bytes(rng.choice(b"abc xyz:;<>@\r\n\t\x80\xff=?") for _ in range(rng.randint(200, 3000)))


JUNK_KINDS = (("not-a-request", not_a_request, 0.4), ("auto-reply", auto_reply, 0.2),
              ("bounce", bounce, 0.2), ("garbage-mime", garbage_mime, 0.2))


def flood(junk: int, valid: list[Request], rng: random.Random) -> tuple[list[bytes], dict[str, int]]:
    """``junk`` junk mails with the valid requests spread evenly among them, and the mix."""
    mix: dict[str, int] = {}
    mails: list[bytes] = []
    names = [k for k, _, _ in JUNK_KINDS]
    weights = [w for _, _, w in JUNK_KINDS]
    makers = {k: f for k, f, _ in JUNK_KINDS}
    for n in range(junk):
        kind = rng.choices(names, weights)[0]
        mix[kind] = mix.get(kind, 0) + 1
        mails.append(makers[kind](rng, n))
    step = max(1, len(mails) // (len(valid) + 1))
    for i, req in enumerate(valid):  # positions step, 2*step+1, ... : spread from start to end
        mails.insert((i + 1) * step + i, req.raw)
    return mails, mix


# -- appending -------------------------------------------------------------------------------
class AppendError(RuntimeError):
    """The server refused an APPEND or the connection broke."""


@dataclass
class Appender:
    """One raw IMAP connection that APPENDs in pipelined batches (LITERAL+, no MULTIAPPEND).

    imaplib waits for the server's ``+`` continuation and the tagged answer of every APPEND;
    here a batch of commands with non-synchronising literals goes out in one write and the
    answers are read afterwards, so a 10 000-mail flood takes seconds, not minutes.
    """

    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    sock: socket.socket | None = None
    _tag: int = 0
    _buf: bytes = b""
    stamps: list[float] = field(default_factory=list)

    def __enter__(self) -> "Appender":
        self.sock = socket.create_connection((self.host, self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        greeting = self._line()
        if not greeting.startswith(b"* OK"):
            raise AppendError(f"greeting {greeting!r}")
        self._command(f'LOGIN "{self.user}" "{self.password}"'.encode())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._send(b"Z LOGOUT\r\n")
        except OSError:
            pass
        if self.sock:
            self.sock.close()

    def _send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def _line(self) -> bytes:
        assert self.sock is not None
        while b"\r\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AppendError("connection closed by the server")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _next_tag(self) -> bytes:
        self._tag += 1
        return b"A%d" % self._tag

    def _wait(self, tags: list[bytes]) -> list[bytes]:
        pending, answers = set(tags), {}
        while pending:
            line = self._line()
            tag = line.split(b" ", 1)[0]
            if tag in pending:
                pending.discard(tag)
                answers[tag] = line
        return [answers[t] for t in tags]

    def _command(self, cmd: bytes) -> bytes:
        tag = self._next_tag()
        self._send(tag + b" " + cmd + b"\r\n")
        answer = self._wait([tag])[0]
        if b" OK" not in answer[:len(tag) + 4]:
            raise AppendError(answer.decode(errors="replace"))
        return answer

    def append_batch(self, mails: list[bytes]) -> None:
        """APPEND every mail in one pipelined write; raise unless every answer is OK."""
        tags, out = [], []
        for raw in mails:
            tag = self._next_tag()
            tags.append(tag)
            out.append(b"%s APPEND %s {%d+}\r\n%s\r\n" % (tag, self.mailbox.encode(), len(raw), raw))
        self.stamps.append(time.time())
        self._send(b"".join(out))
        for answer, tag in zip(self._wait(tags), tags):
            if not answer.startswith(tag + b" OK"):
                raise AppendError(answer.decode(errors="replace"))

    def status(self) -> int:
        """How many messages the mailbox holds now (STATUS, no SELECT needed)."""
        tag = self._next_tag()
        self._send(tag + b' STATUS "' + self.mailbox.encode() + b'" (MESSAGES)\r\n')
        count = -1
        while True:
            line = self._line()
            if line.startswith(b"* STATUS"):
                count = int(line.rsplit(b"MESSAGES ", 1)[1].split(b")")[0])
            elif line.startswith(tag):
                if not line.startswith(tag + b" OK"):
                    raise AppendError(line.decode(errors="replace"))
                return count


def append_parallel(server, user: str, password: str, mails: list[bytes], connections: int = 4,
                    batch: int = 50, mailbox: str = "INBOX") -> tuple[float, float]:
    """APPEND ``mails`` over ``connections`` connections (mail i on connection i mod n, so the
    arrival order stays close to the list order). Returns (first send, last OK) wall times."""
    shares = [mails[i::connections] for i in range(connections)]
    errors: list[BaseException] = []
    firsts: list[float] = []

    def work(share: list[bytes]) -> None:
        try:
            with Appender(server.host, server.port, user, password, mailbox) as app:
                barrier.wait()
                for start in range(0, len(share), batch):
                    app.append_batch(share[start:start + batch])
                firsts.append(app.stamps[0] if app.stamps else time.time())
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(s,)) for s in shares if s]
    barrier = threading.Barrier(len(threads))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AppendError(f"append failed: {errors[0]!r}")
    return min(firsts), time.time()
