"""``masbot demo --out DIR``: a complete run with no outside servers and no accounts.

A fresh society key, masbot's own SMTP listener as the inbound side, one local SMTP sink
standing in for the smarthost (it files posts under ``DIR/sent/<list>/`` and answers under
``DIR/answers/``), and the sample requests shipped in ``masbot/samples``.
"""

from __future__ import annotations

import asyncio
import errno
import json
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from masbot import logs
from masbot.intake import listener
from masbot.appeal import render
from masbot.appeal.canonical import restore
from masbot.config.settings import load_config
from masbot.daemon import assemble, public_addresses
from masbot.society import Outcome
from masbot.signing.signer import Signer, init_key

LOCAL_LIST = "members@anytown.example"
PARTNER_LISTS = {"riverside": "master@lists.riverside.example",
                 "valle": "red@lists.valle.example"}
SOCIETY = "mas@anytown.example"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Sink:
    """Files each delivered message by recipient: lists under sent/, people under answers/."""

    def __init__(self, out: Path, lists: set[str]) -> None:
        self.out, self.lists, self.count = out, lists, 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            self.count += 1
            folder = (self.out / "sent" / rcpt) if rcpt in self.lists else (self.out / "answers")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{self.count:04d}.eml").write_bytes(envelope.original_content)
        return "250 OK"


def _config_text(out: Path, home: Path, partner_fprs: dict[str, str], listen: int, smtp: int) -> str:
    partners = "".join(
        f"  - name: {name}\n    addresses: [{PARTNER_LISTS[name]}]\n"
        f"    fingerprint: {fpr}\n    direction: both\n    key_file: {name}.asc\n"
        for name, fpr in partner_fprs.items())
    return (
        "society:\n"
        "  name: Anytown Mutual Aid Society\n"
        "  id: ANYTOWN\n"
        f"  address: {SOCIETY}\n"
        f"  gnupghome: {home}\n"
        f"data_dir: {out / 'data'}\n"
        f"listener:\n  host: 127.0.0.1\n  port: {listen}\n"
        f"smtp:\n  host: 127.0.0.1\n  port: {smtp}\n  security: none\n"
        f"local_list: {LOCAL_LIST}\n"
        f"partners:\n{partners}"
        "default:\n  action: relay\n  to: [local, partners]\n"
        "log:\n  level: warning\n"
    )


def samples(today: date) -> list[tuple[str, bytes]]:
    """The shipped sample requests, with dates moved relative to ``today``."""
    out = []
    folder = resources.files("masbot.samples")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".eml"):
            raw = entry.read_bytes().replace(b"@IN_20_DAYS@",
                                             (today + timedelta(days=20)).isoformat().encode())
            out.append((entry.name.removesuffix(".eml"), raw.replace(b"\r\n", b"\n")
                        .replace(b"\n", b"\r\n")))
    return out


async def _run(out: Path, home: Path) -> dict:
    partner_fprs = {}
    (out / "data").mkdir(parents=True, exist_ok=True)
    for name in PARTNER_LISTS:  # partner societies have keys of their own, pinned here
        partner_home = Path(tempfile.mkdtemp(prefix="mb-demo-p-", dir="/tmp"))
        try:
            partner_fprs[name] = init_key(partner_home, f"{name} society", PARTNER_LISTS[name])
            (out / "data" / f"{name}.asc").write_text(Signer(partner_home).export_public())
        finally:
            _stop_agent(partner_home)
            shutil.rmtree(partner_home, ignore_errors=True)
    init_key(home, "Anytown Mutual Aid Society", SOCIETY)
    listen_port, smtp_port = _free_port(), _free_port()
    config_path = out / "data" / "config.yaml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(_config_text(out, home, partner_fprs, listen_port, smtp_port))
    config = load_config(config_path)
    logs.setup("warning", "text", None, public_addresses(config))
    parts = assemble(config)
    (out / "society.asc").write_text(parts.signer.export_public())

    loop = asyncio.get_running_loop()
    sink = _Sink(out, {LOCAL_LIST, *PARTNER_LISTS.values()})
    sink_server = await loop.create_server(lambda: SMTP(sink, hostname="sink"), "127.0.0.1",
                                           smtp_port)
    outcomes: list[Outcome] = []

    async def handle(raw: bytes) -> Outcome:
        outcome = await parts.society.handle(raw)
        outcomes.append(outcome)
        return outcome

    inbound = await listener.serve(handle, "127.0.0.1", listen_port)
    delivering = asyncio.create_task(parts.deliverer.run())
    results = []
    try:
        for name, raw in samples(date.today()):
            await aiosmtplib.send(raw, sender="demo@sender.invalid", recipients=[SOCIETY],
                                  hostname="127.0.0.1", port=listen_port)
            o = outcomes[-1]
            results.append({"sample": name, "outcome": o.kind, "reason": o.reason,
                            "appeal_id": o.appeal_id, "destinations": list(o.destinations),
                            "answered": o.answered})
        delivered = await parts.deliverer.drain(timeout=30)
    finally:
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)
        inbound.close()
        sink_server.close()
    archive = out / "archive"
    archive.mkdir(exist_ok=True)
    for record in parts.store.appeals():
        name = f"{record.appeal_id}-r{record.revision}"
        (archive / f"{name}.txt").write_text(record.signed_text)
        appeal = restore(appeal_id=record.appeal_id, revision=record.revision,
                         society=config.society.name, issued=record.issued,
                         expires=record.expires, status=record.status,
                         updates_to=config.society.address, fields=record.fields)
        (archive / name).mkdir()
        for file_name, text in render.kit(appeal).items():  # the repost kit
            (archive / name / file_name).write_text(text)
    parts.store.close()
    if parts.society.keyring is not None:
        parts.society.keyring.close()
    posts = sorted(str(p.relative_to(out)) for p in (out / "sent").rglob("*.eml"))
    return {"society_key": parts.signer.fingerprint, "samples": results,
            "all_delivered": delivered, "posts": posts}


def _stop_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                   capture_output=True, check=False)


def run(out: Path) -> int:
    """Run the demo into ``out`` (which must be empty or absent); print a summary."""
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        print(f"masbot demo: {out} is not empty; give a new directory")
        return 2
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".masbot-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        print(f"masbot demo: cannot write in {out}: {exc.strerror or exc}"
              + (" (in a container: the mounted folder must be writable by uid 10001, e.g. "
                 "chown 10001 it or run with --user $(id -u))" if exc.errno == errno.EACCES
                 else ""), file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="mb-demo-", dir="/tmp"))  # short: gpg-agent socket
    try:
        summary = asyncio.run(_run(out, home))
    finally:
        _stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"masbot demo: society key {summary['society_key']}")
    for r in summary["samples"]:
        where = f" -> {r['appeal_id']} to {len(r['destinations'])} lists" if r["appeal_id"] else ""
        answered = "answered" if r["answered"] else "no answer"
        print(f"  {r['sample']:<22} {r['outcome']:<14} {answered:<10} {r['reason']}{where}")
    print(f"{len(summary['posts'])} signed posts under {out / 'sent'}; answers under "
          f"{out / 'answers'}; public key {out / 'society.asc'}")
    print(f"check one: sqop inline-verify {out / 'society.asc'} < {out / 'archive'}/<appeal>.txt")
    return 0 if summary["all_delivered"] else 1
