"""Moderation: held appeals wait; only a pinned moderator's signed command, once, for this
society and that appeal, releases or rejects them. Forged, unsigned and replayed are refused."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import sqlite3
from pathlib import Path

import aiosmtplib

from harness.dovecot import free_port
from masbot.daemon import Daemon
from masbot.signing.signer import init_key
from support import (LOCAL_LIST, PARTNERS, SOCIETY_ADDRESS, bail_request, photo_with_exif,
                     until, with_photo, write_config)

MODS = "mods@anytown.example"
HOLD_ALL = "rules:\n  - name: everything waits\n    match: {}\n    action: hold\n"


def body(data: bytes) -> str:
    text = email.message_from_bytes(data, policy=email.policy.default).get_content()
    return text.replace("\r\n", "\n")


async def test_signed_commands_once_for_this_society(tmp_path, gpg_home, smtp_sink):
    home = gpg_home()
    init_key(Path(home.path), "Anytown", SOCIETY_ADDRESS)
    mod_home, stranger = gpg_home(), gpg_home()
    mod_fpr = mod_home.gen_key("Jo Moderator <jo@example.org>")
    stranger_fpr = stranger.gen_key("Mallory <m@example.org>")
    (tmp_path / "mod.asc").write_bytes(mod_home.export(mod_fpr))
    sink = smtp_sink()
    port = free_port()
    extra = (HOLD_ALL + f"moderators: [{MODS}]\nmoderator_keys:\n"
             f"  - fingerprint: {mod_fpr}\n    key_file: mod.asc\n"
             "attachments:\n  images: keep\n")
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, listener_port=port,
                         extra=extra)
    daemon = Daemon(files.config)
    task = asyncio.create_task(daemon.run())
    posts = lambda: [m for m in sink.deliveries if m.rcpt_tos[0] in (LOCAL_LIST, *PARTNERS.values())]  # noqa: E731
    answers_to = lambda who: [m for m in sink.deliveries if m.rcpt_tos[0] == who]  # noqa: E731

    async def send(raw: bytes) -> None:
        await aiosmtplib.send(raw, sender="x@example.org", recipients=[SOCIETY_ADDRESS],
                              hostname="127.0.0.1", port=port)

    def command_mail(signed: bytes, n: int) -> bytes:
        return (f"From: jo@example.org\r\nSubject: moderation {n}\r\nMessage-ID: <c{n}@example.org>"
                "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n").encode() + signed

    try:
        await until(lambda: (tmp_path / "masbot.log").exists()
                    and "masbot running" in (tmp_path / "masbot.log").read_text())
        # The held request has a photo: it waits with the appeal and is released with it.
        await send(with_photo(bail_request("filer@example.net", title="Held appeal"),
                              photo_with_exif("filer@example.net"), "filer.jpg"))
        await until(lambda: answers_to(MODS))
        notice_mail = email.message_from_bytes(answers_to(MODS)[0].data,
                                               policy=email.policy.default)
        shown = [p.get_filename() for p in notice_mail.iter_attachments()]
        assert shown == ["image-1.jpg"], "the moderators see the image they would release"
        notice = notice_mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
        command = re.search(r"(Moderation: approve\n.*?Nonce: \w+\n)", notice, re.S).group(1)
        assert "Society: ANYTOWN" in command and posts() == []

        # Unsigned: not a command at all, nothing is released.
        await send(command_mail(command.encode(), 1))
        # Signed by a key that is not a moderator's.
        await send(command_mail(stranger.clearsign(command.encode(), stranger_fpr), 2))
        # Signed by the moderator but for another society.
        foreign = command.replace("Society: ANYTOWN", "Society: RIVERSIDE")
        await send(command_mail(mod_home.clearsign(foreign.encode(), mod_fpr), 3))
        # ... or for an appeal that is not held.
        other = command.replace("-0001", "-0099")
        await send(command_mail(mod_home.clearsign(other.encode(), mod_fpr), 4))
        await asyncio.sleep(1)
        assert posts() == [], "nothing is released by a forged or foreign command"

        signed = mod_home.clearsign(command.encode(), mod_fpr)
        await send(command_mail(signed, 5))
        await until(lambda: len(posts()) == 3)
        for released in posts():
            assert b'filename="image-1.jpg"' in released.data, "the held image is released too"
        # The same signed command again, in a new mail: a replay.
        await send(command_mail(signed, 6))
        await asyncio.sleep(1)
        assert len(posts()) == 3
    finally:
        daemon.stopping.set()
        assert await asyncio.wait_for(task, 15) == 0
    with sqlite3.connect(files.data_dir / "masbot.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM held_images").fetchone() == (0,), \
            "a decided appeal's images are deleted"
    replies = [body(m.data) for m in answers_to("jo@example.org")]
    assert "the command is not signed" in replies[0], "an unsigned command is refused as such"
    assert any("not signed by a moderator's key" in r or "unknown-key" in r for r in replies), replies
    assert any("names the society RIVERSIDE" in r for r in replies), replies
    assert any("that appeal is not held" in r for r in replies), replies
    assert any("approved, sent to 3 lists" in r for r in replies), replies
    assert any("used before" in r or "not held" in r for r in replies[-1:]), replies
