"""A federation of masbot societies on loopback, for relay and loop tests.

Each society has its own key, store and SMTP listener (its inbox). One router stands in for
the mail system: a post to ``in@<name>.test`` (a partner's master list) is delivered into that
society's listener, the way a list server relays to its subscribers; a post to
``members@<name>.test`` is a delivery to that society's own members and is recorded.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller

from harness.dovecot import free_port
from masbot.daemon import Daemon
from masbot.signing.signer import Signer, init_key


def inbox_of(name: str) -> str:
    return f"in@{name}.test"


def members_of(name: str) -> str:
    return f"members@{name}.test"


@dataclass
class Member:
    """One society of the federation."""

    name: str
    dir: Path
    home: Path
    listener_port: int
    fingerprint: str = ""
    key: bytes = b""
    daemon: Daemon | None = None
    task: asyncio.Task | None = None


class Router:
    """The mail system between societies: routes by recipient, records member deliveries."""

    def __init__(self, members: dict[str, Member]) -> None:
        self.members = members
        self.port = free_port()
        self.delivered: dict[str, list[bytes]] = defaultdict(list)  # members list -> posts
        self.answers: dict[str, list[bytes]] = defaultdict(list)  # a member's address -> answers
        self.inbound: dict[str, list[bytes]] = defaultdict(list)  # society -> partner posts in
        self.relayed = 0
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                      server_hostname="mail.test")

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server, session, envelope) -> str:
        data = envelope.original_content
        for rcpt in envelope.rcpt_tos:
            local, _, domain = rcpt.partition("@")
            name = domain.removesuffix(".test")
            if local == "members":
                with self._lock:
                    self.delivered[name].append(data)
            elif local == "in" and name in self.members:
                with self._lock:
                    self.relayed += 1
                    self.inbound[name].append(data)
                await aiosmtplib.send(data, sender=envelope.mail_from or "router@test.invalid",
                                      recipients=[rcpt], hostname="127.0.0.1",
                                      port=self.members[name].listener_port, timeout=30)
            else:
                with self._lock:
                    self.answers[rcpt].append(data)
        return "250 OK"

    def appeals_at(self, name: str) -> list[str]:
        """The Subject of every post the members of ``name`` received, in order."""
        out = []
        for data in self.delivered[name]:
            subject = email.message_from_bytes(data, policy=email.policy.default)["Subject"]
            out.append(subject)
        return out


@dataclass
class Federation:
    root: Path
    members: dict[str, Member] = field(default_factory=dict)
    router: Router | None = None

    def add(self, name: str, home: Path) -> Member:
        member = Member(name, self.root / name, home, free_port())
        member.dir.mkdir(parents=True)
        member.fingerprint = init_key(home, f"{name} society", f"society@{name}.test")
        member.key = Signer(home).export_public().encode()
        (member.dir / "own.asc").write_bytes(member.key)
        self.members[name] = member
        return member

    def write_config(self, name: str, partners: dict[str, str], rules: str = "",
                     default: str = "relay\n  to: [local, partners]") -> Path:
        """Config of ``name``; ``partners`` maps partner name -> direction."""
        m = self.members[name]
        lines = [
            "society:", f"  name: {name} society", f"  id: {name.upper()}",
            f"  address: society@{name}.test", f"  gnupghome: {m.home}",
            f"data_dir: {m.dir / 'data'}",
            "listener:", "  host: 127.0.0.1", f"  port: {m.listener_port}",
            "smtp:", "  host: 127.0.0.1", f"  port: {self.router.port}", "  security: none",
            f"local_list: {members_of(name)}",
            "partners:",
        ]
        for partner, direction in partners.items():
            p = self.members[partner]
            key_file = m.dir / f"{partner}.asc"
            key_file.write_bytes(p.key)
            lines += [f"  - name: {partner}", f"    addresses: [{inbox_of(partner)}]",
                      f"    fingerprint: {p.fingerprint}", f"    direction: {direction}",
                      f"    key_file: {key_file}"]
        if rules:
            lines.append(rules.rstrip("\n"))
        lines += ["default:", f"  action: {default}", "log:", "  level: info",
                  f"  file: {m.dir / 'masbot.log'}"]
        path = m.dir / "config.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    async def start(self) -> None:
        for m in self.members.values():
            m.daemon = Daemon(m.dir / "config.yaml")
            m.task = asyncio.create_task(m.daemon.run())
        for m in self.members.values():
            await _wait_listening(m.listener_port)

    async def stop(self) -> None:
        for m in self.members.values():
            if m.daemon is not None:
                m.daemon.stopping.set()
        await asyncio.gather(*(m.task for m in self.members.values() if m.task),
                             return_exceptions=True)

    async def inject(self, name: str, raw: bytes) -> None:
        """A member of ``name`` mails a request to its society."""
        await aiosmtplib.send(raw, sender="member@example.net",
                              recipients=[f"society@{name}.test"], hostname="127.0.0.1",
                              port=self.members[name].listener_port, timeout=30)


async def _wait_listening(port: int, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)
