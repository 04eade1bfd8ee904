"""Relay by language, end to end: an English-speaking society and a Spanish-speaking one.

Anytown (language en) relays everything to its members and partners. San Juan (language es)
takes from Anytown only the appeals in Spanish. A Spanish speaker writes to Anytown with the
Spanish form, an English speaker with the English one. San Juan's members must get the
Spanish appeal alone, with Spanish labels, signed by San Juan and still carrying Anytown's
signature over the canonical appeal (English keys, ``Language: es``) that any partner parses;
Anytown's members get both; the Spanish speaker's answer is in Spanish.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date, timedelta
from pathlib import Path

from federation import Federation, Router
from harness.openpgp import extract_signed, sqop_inline_verify, sqop_verify
from masbot import lang
from masbot.appeal import canonical
from support import decoded_parts
from test_federation import settle

SPANISH_ONLY = ("rules:\n  - name: solo en español\n    match: {language: es}\n"
                "    action: relay\n    to: [local]\n"
                "  - name: lo demás no\n    match: {}\n    action: drop\n")


def spanish_request(sender: str) -> bytes:
    """The bail form as a Spanish speaker fills it in from ``plantilla fianza``: the field
    names, template name and choice values of the Spanish field file."""
    es = lang.get("es").words
    needed = (date.today() + timedelta(days=20)).isoformat()

    def line(name: str, value: str) -> str:
        return f"{es.field_name(name)}: {value}\r\n"

    body = (line("Template", es.template_name("bail"))
            + line("Title", "Ayuda para sacar a Ana de la cárcel del condado")
            + line("Filed-By", es.value("Filed-By", "self"))
            + line("Location", "Anytown, OR")
            + line("Held-At", "Cárcel del condado de Anytown")
            + line("Bail", "500 USD") + line("Goal", "500 USD") + line("Needed-By", needed)
            + line("Posted-By", "El Fondo de Fianzas")
            + line("Bail-Return", es.value("Bail-Return", "fund"))
            + line("Funds-Holder", "El Fondo de Fianzas paga la fianza directamente")
            + line("Donate", "https://fondo.example/dar")
            + f"{es.field_name('Story')}:\r\n"
            "Me detuvieron en una protesta pacífica y no puedo pagar la fianza que me pusieron. "
            "Pido ayuda a todas las personas que puedan dar un poco para volver con mi familia.\r\n"
            + f"{es.field_name('Funds-Use')}:\r\n- 500 USD de fianza\r\n"
            + f"{es.field_name('How-To-Help')}:\r\nDonen en el enlace y compartan este llamado.\r\n")
    return (f"From: {sender}\r\nTo: society@anytown.test\r\nSubject: fianza\r\n"
            "Message-ID: <es1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + body).encode()


def english_request(sender: str) -> bytes:
    needed = (date.today() + timedelta(days=20)).isoformat()
    return (f"From: {sender}\r\nTo: society@anytown.test\r\nSubject: [bail] Sam\r\n"
            "Message-ID: <en1@example.net>\r\n\r\n"
            "Title: Get Sam home from the county jail\r\nFiled-By: self\r\n"
            "Location: Anytown, OR\r\nHeld-At: County Jail\r\nBail: 500 USD\r\n"
            f"Goal: 500 USD\r\nNeeded-By: {needed}\r\nPosted-By: The Bail Fund\r\n"
            "Bail-Return: fund\r\nFunds-Holder: The Bail Fund posts it directly\r\n"
            "Donate: https://fund.example/give\r\nStory:\r\n"
            "I was arrested at a peaceful protest and cannot pay the bail that was set, so I "
            "ask for help from everyone who can give a little.\r\n"
            "Funds-Use:\r\n- 500 USD bail\r\nHow-To-Help:\r\nGive and share.\r\n").encode()


def title(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def clearsigned(raw: bytes) -> bytes:
    found = re.search(rb"-----BEGIN PGP SIGNED MESSAGE-----.*?-----END PGP SIGNATURE-----\r?\n?",
                      decoded_parts(raw), re.S)
    assert found, "the post carries the origin's signed appeal"
    return found.group(0)


async def test_a_spanish_society_relays_only_spanish_appeals_with_spanish_labels(tmp_path,
                                                                               gpg_home):
    fed = Federation(tmp_path)
    anytown = fed.add("anytown", Path(gpg_home().path))
    sanjuan = fed.add("sanjuan", Path(gpg_home().path))
    fed.router = Router(fed.members)
    fed.router.start()
    fed.write_config("anytown", {"sanjuan": "send"})
    fed.write_config("sanjuan", {"anytown": "receive"}, SPANISH_ONLY)
    config = sanjuan.dir / "config.yaml"
    config.write_text(config.read_text().replace("  id: SANJUAN\n",
                                                 "  id: SANJUAN\n  language: es\n"))
    await fed.start()
    try:
        await fed.inject("anytown", spanish_request("ana@example.net"))
        await fed.inject("anytown", english_request("sam@example.net"))
        await settle(fed.router)
    finally:
        await fed.stop()
        fed.router.stop()
    for member in (anytown, sanjuan):
        assert member.task is not None and member.task.done()
        assert member.task.exception() is None and member.task.result() == 0, \
            (member.name, (member.dir / "masbot.log").read_text()[-3000:])

    local = fed.router.delivered["anytown"]
    assert len(local) == 2, [title(p) for p in local]
    spanish = fed.router.delivered["sanjuan"]
    assert [title(p) for p in spanish] == [
        t for t in map(title, local) if "Ana" in t], "San Juan takes the Spanish appeal alone"
    post = spanish[0]

    # Signed by San Juan, and the origin's signature over the canonical appeal still verifies.
    signed, signature = extract_signed(post)
    assert sqop_verify(signature, signed, sanjuan.key).ok
    inner = clearsigned(post)
    verified, text, _ = sqop_inline_verify(inner, anytown.key)
    assert verified, text
    appeal = canonical.parse((text.decode() if isinstance(text, bytes) else text)
                             .replace("\r\n", "\n"))
    assert appeal.get("Language") == "es"
    assert appeal.get("Bail-Return") == "fund", "choice values are canonical for every partner"
    assert b"\nHow-To-Help:" in inner.replace(b"\r\n", b"\n")

    # What San Juan's members read: Spanish labels, not English ones.
    reading = decoded_parts(post).decode("utf-8", "replace")
    es = lang.get("es").words
    for name in ("How-To-Help", "Held-At", "Needed-By"):
        assert es.label(name) in reading, name
    assert "How to help" not in reading and "Needed by" not in reading

    # The Spanish speaker's answer is in Spanish.
    answer = fed.router.answers["ana@example.net"]
    assert len(answer) == 1
    text = decoded_parts(answer[0]).decode()
    assert "Thank you" not in text and "Gracias" in text
