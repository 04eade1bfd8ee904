"""Ten thousand generated messages through intake, parser and validator: nothing escapes.

Deterministic (seeded) mutation of real request mails and random structure, fast enough to
run on every CI build; every message must end in a verdict with a reason.
"""

from __future__ import annotations

import random
from datetime import date

from masbot.story import templates as forms
from masbot.intake import message as intake
from masbot.intake import classify as pipeline
from support import bail_request, invalid_request

KINDS = {"request", "invalid", "help", "template", "not-a-request", "automatic", "unreadable",
         "partner-post", "update", "moderation", "reader-reply"}
SNIPPETS = [b"\r\n", b"\n\n", b"Content-Type: multipart/mixed; boundary=x\r\n", b"--x\r\n",
            b"--x--\r\n", b"=?utf-8?b?AAAA?=", b"\xff\xfe\x00", b"Template: bail\r\n",
            b"Needed-By: 2099-99-99\r\n", b"Donate: javascript:alert(1)\r\n", b"Story:\r\n",
            b"Content-Transfer-Encoding: base64\r\n", b"Content-Type: text/html\r\n\r\n<p>",
            b"> quoted\r\n", b"-- \r\n", b"\xe2\x80\xae", b"Bail: 1e999 USD\r\n", b":" * 50,
            b"Subject: [bail] x\r\n", b"Auto-Submitted: auto-replied\r\n", b"\x00" * 8,
            b"Content-Type: text/plain; charset=klingon\r\n", b"=\r\n", b"\t"]


def mutate(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randrange(len(data) + 1)
        if op < 0.3:
            data[pos:pos] = rng.choice(SNIPPETS)
        elif op < 0.5 and data:
            del data[pos:pos + rng.randint(1, 40)]
        elif op < 0.7 and data:
            data[pos % len(data)] = rng.randrange(256)
        elif op < 0.85:
            chunk = data[rng.randrange(len(data) + 1):][:rng.randint(1, 200)]
            data[pos:pos] = chunk
        else:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 30)))
    return bytes(data)


def test_ten_thousand_generated_messages_end_in_a_verdict():
    rng = random.Random(7)
    ctx = pipeline.Context(forms.builtin(), "Anytown", date(2026, 11, 23))
    seeds = [bail_request("a@example.net"), invalid_request("b@example.net"),
             b"From: c@example.net\r\nSubject: help\r\n\r\nhelp\r\n"]
    seen: dict[str, int] = {}
    for i in range(10_000):
        raw = mutate(rng, rng.choice(seeds)) if i % 10 else bytes(
            rng.randrange(256) for _ in range(rng.randint(0, 400)))
        verdict = pipeline.run(intake.read(raw), ctx)
        assert verdict.kind in KINDS and verdict.reason, (i, verdict)
        seen[verdict.kind] = seen.get(verdict.kind, 0) + 1
    # The generator reaches the interesting outcomes, not only "unreadable".
    assert {"request", "invalid", "help", "not-a-request"} <= set(seen), seen
