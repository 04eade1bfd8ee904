"""The short paths intake takes to read mail cheaply give what the long ones give."""

from __future__ import annotations

import random
from email.utils import getaddresses

from masbot.intake import message as intake
from support import bail_request


def test_a_plain_address_header_reads_as_getaddresses_reads_it():
    rng = random.Random(18)
    checked = 0
    for _ in range(50_000):
        name = "".join(rng.choice("ab Z9é\"(),.:;") for _ in range(rng.randrange(0, 8)))
        addr = ("".join(rng.choice("ab9.-_+") for _ in range(rng.randrange(1, 6))) + "@"
                + "".join(rng.choice("ab9.-") for _ in range(rng.randrange(1, 6))))
        value = rng.choice([f"{name} <{addr}>", f" {addr} ", f"{addr} ({name})", name])
        plain = intake._PLAIN_ADDRESS.fullmatch(value)
        if plain:
            checked += 1
            assert [a for _, a in getaddresses([value])] == [plain.group(1) or plain.group(2)]
    assert checked > 5_000


def test_automatic_mail_is_decided_from_its_headers_and_its_body_is_not_read():
    raw = bail_request("away@example.net").replace(b"MIME-Version", b"Auto-Submitted: "
                                                   b"auto-replied\r\nMIME-Version", 1)
    msg = intake.read(raw)
    assert msg.automatic == "Auto-Submitted: auto-replied" and msg.answer_to is None
    assert msg.body == "" and msg.message is None
    assert intake.read(bail_request("member@example.net")).body.startswith("Title:")
