"""``masbot demo --out DIR``: a complete run with no outside servers and no accounts.

A fresh society key, masbot's own SMTP listener as the inbound side, one local SMTP sink
standing in for the smarthost (it files posts under ``DIR/sent/<list>/`` and answers under
``DIR/answers/``), and the sample requests shipped in ``masbot/samples``. Then, as DESIGN §5
asks: the first appeal updated to "funded" with a funds report (with the Update-Key its
member got), a partner's appeal relayed, and a forged partner post refused. The public site
is written as the daemon writes it, under ``DIR/site/``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import errno
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from masbot import logs
from masbot.intake import listener
from masbot.appeal import render
from masbot.appeal.canonical import Appeal
from masbot.config.settings import load_config
from masbot.daemon import assemble, public_addresses, publishing
from masbot.post import build as post
from masbot.publish.site import SiteSettings
from masbot.society import Outcome
from masbot.signing.signer import Signer, init_key

LOCAL_LIST = "members@anytown.example"
PARTNER_LISTS = {"riverside": "master@lists.riverside.example",
                 "valle": "red@lists.valle.example"}
SOCIETY = "mas@anytown.example"
CONTACT = "people@anytown.example"
SITE_URL = "https://anytown.example/mutual-aid/"


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
            (folder / f"{self.count:04d}.eml").write_bytes(envelope.original_content or b"")
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
        f"  contact: {CONTACT}\n"
        f"data_dir: {out / 'data'}\n"
        f"publish:\n  dir: {out / 'site'}\n  base_url: {SITE_URL}\n"
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


def _update_key(out: Path, appeal_id: str) -> str | None:
    """The Update-Key in the answer that published ``appeal_id`` (the member's copy)."""
    for path in sorted((out / "answers").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        if f"published as {appeal_id}" in text:
            match = re.search(r"Update-Key: (\S+)", text)
            return match.group(1) if match else None
    return None


def _funded_update(appeal_id: str, key: str) -> bytes:
    text = ("Refers-To: {id}\nUpdate-Key: {key}\nStatus: funded\nStop-Sharing: yes\n"
            "Note:\nRiver is home. Thank you, everyone who gave and shared.\n"
            "Funds-Report:\n- 1500 USD bond posted by the fund on Tuesday\n"
            "- 85 USD over the goal stays with the fund for the next person\n"
            ).format(id=appeal_id, key=key)
    return ("From: River <river.k.1998@example.net>\r\nTo: " + SOCIETY + "\r\n"
            f"Subject: [update] {appeal_id} funded\r\nMessage-ID: <update-01@example.net>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + text.replace("\n", "\r\n")).encode("utf-8")


def _partner_post(partner: Signer, name: str, address: str, *, forged: bool = False) -> bytes:
    """A post the partner Riverside signs, as its masbot would send it to our master list;
    ``forged``: its donation link changed after signing, as a list in the middle could."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    appeal = Appeal("RIVERSIDE-2026-0042", 1, f"{name} society", now,
                    (now + timedelta(days=20)).date(), "open", address, (
                        ("Template", "hardship"), ("Title", "Wheelchair repair for Ana"),
                        ("Filed-By", "self"), ("Location", "Riverside, CA"),
                        ("Category", "medical"), ("Goal", "400 USD"),
                        ("Donate", ("https://give.riverside.example/ana",)),
                        ("Story", "Ana's wheelchair broke on the bus ramp. The repair shop "
                                  "needs 400 USD for the parts and will fix it the same day."),
                        ("How-To-Help", "Give at the link, or share this appeal.")))
    clearsigned = partner.clearsign(appeal.canonical_text())
    record = post.RelayRecord(partner.fingerprint, f"{name} society", appeal.appeal_id, 1,
                              (partner.fingerprint,))
    content = post.signed_content(clearsigned, record, partner.export_public())
    signature = partner.detach_sign(content)
    if forged:
        content = content.replace(b"give.riverside.example/ana", b"give.evil.example/ana!")
    envelope = post.Envelope(f"{name} society", address, (SOCIETY,),
                             f"[{appeal.appeal_id}] {appeal.title}", now,
                             f"<{'forged' if forged else 'partner'}-42@lists.riverside.example>")
    return post.assemble(content, signature.data, signature.hash_algo, envelope,
                         boundary=f"=-riverside-{'f' if forged else 'g'}")


async def _run(out: Path, home: Path) -> dict:
    partner_fprs = {}
    (out / "data").mkdir(parents=True, exist_ok=True)
    partner_homes = {}
    for name in PARTNER_LISTS:  # partner societies have keys of their own, pinned here
        partner_home = Path(tempfile.mkdtemp(prefix="mb-demo-p-", dir="/tmp"))
        partner_homes[name] = partner_home
        partner_fprs[name] = init_key(partner_home, f"{name} society", PARTNER_LISTS[name])
        (out / "data" / f"{name}.asc").write_text(Signer(partner_home).export_public())
    try:
        return await _run_society(out, home, partner_fprs, Signer(partner_homes["riverside"]))
    finally:
        for partner_home in partner_homes.values():
            _stop_agent(partner_home)
            shutil.rmtree(partner_home, ignore_errors=True)


async def _run_society(out: Path, home: Path, partner_fprs: dict[str, str],
                       riverside: Signer) -> dict:
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
    publisher, publish_after = publishing(parts)  # the site, written as the daemon writes it

    async def handle(raw: bytes) -> Outcome:
        outcome = await publish_after(raw)
        outcomes.append(outcome)
        return outcome

    inbound = await listener.serve(handle, "127.0.0.1", listen_port)
    delivering = asyncio.create_task(parts.deliverer.run())
    answering = asyncio.create_task(parts.answers.run())
    results = []

    async def send(name: str, raw: bytes, sender: str = "demo@sender.invalid") -> None:
        await aiosmtplib.send(raw, sender=sender, recipients=[SOCIETY],
                              hostname="127.0.0.1", port=listen_port)
        o = outcomes[-1]
        results.append({"sample": name, "outcome": o.kind, "reason": o.reason,
                        "appeal_id": o.appeal_id, "destinations": list(o.destinations),
                        "answered": o.answered})

    try:
        for name, raw in samples(date.today()):
            await send(name, raw)
        await parts.deliverer.drain(timeout=30)
        await parts.answers.drain(timeout=30)
        key = _update_key(out, "ANYTOWN-2026-0001")
        if key is not None:
            await send("08-update-funded", _funded_update("ANYTOWN-2026-0001", key))
        riverside_list = PARTNER_LISTS["riverside"]
        await send("09-partner-relayed", _partner_post(riverside, "riverside", riverside_list),
                   sender=riverside_list)
        await send("10-partner-forged",
                   _partner_post(riverside, "riverside", riverside_list, forged=True),
                   sender=riverside_list)
        delivered = await parts.deliverer.drain(timeout=30)
        await parts.answers.drain(timeout=30)
    finally:
        delivering.cancel()
        answering.cancel()
        await asyncio.gather(delivering, answering, return_exceptions=True)
        inbound.close()
        sink_server.close()
    archive = out / "archive"
    archive.mkdir(exist_ok=True)
    from masbot.appeal.reading import appeal_of
    for record in parts.store.appeals():
        name = f"{record.appeal_id}-r{record.revision}"
        (archive / f"{name}.txt").write_text(record.signed_text)
        appeal = appeal_of(record.signed_text)
        if appeal is None:
            continue
        own = record.origin == parts.signer.fingerprint
        signer_name = config.society.name if own else "riverside society"
        proof = render.Proof(record.signed_text, record.origin, signer_name,
                             f"{SITE_URL}check.html")
        (archive / name).mkdir()
        for file_name, text in render.kit(appeal, proof=proof).items():  # the repost kit
            (archive / name / file_name).write_text(text)
    await publisher.publish()  # the whole site once more, as `masbot publish` would
    parts.store.close()
    if parts.society.keyring is not None:
        parts.society.keyring.close()
    posts = sorted(str(p.relative_to(out)) for p in (out / "sent").rglob("*.eml"))
    return {"society_key": parts.signer.fingerprint, "samples": results,
            "all_delivered": delivered, "posts": posts,
            "site": str(SiteSettings.of(config, parts.signer.fingerprint, "").dir)}


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
    print(f"public site (as the daemon writes it): open file://{summary['site']}/index.html "
          f"in a browser; feed: {summary['site']}/feed.atom")
    return 0 if summary["all_delivered"] else 1
