"""Mail written straight as bytes (masbot.post.wire) reads back as what the email package's
objects would have written: same headers, same text, 7-bit CRLF lines of at most 78."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone

import pytest

from masbot.post import wire
from masbot.story import answers

TEXTS = [
    "plain\n",
    "no newline at the end",
    "Ünïcödé — «quotes» and emoji ✊\r\nwith CRLF\r\n",
    "trailing spaces   \nand tabs\t\n.\n..\nFrom here on\n",
    "A very long line " * 30 + "\n",
    "=3D looks encoded =?utf-8?q?x?= but is not\n",
]


def lines_ok(raw: bytes) -> bool:
    return (all(b < 128 for b in raw) and b"\n" not in raw.replace(b"\r\n", b"")
            and max(len(line) for line in raw.split(b"\r\n")) <= 78)


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_part_reads_back_as_its_text(text):
    raw = wire.text_part(text, filename="x.txt")
    part = email.message_from_bytes(raw, policy=email.policy.default)
    expected = text.replace("\r\n", "\n")
    assert part.get_content().replace("\r\n", "\n") == (
        expected if expected.endswith("\n") else expected + "\n")
    assert part.get_filename() == "x.txt" and part.get_content_charset() == "utf-8"
    assert lines_ok(raw)


@pytest.mark.parametrize("value", [
    "short", "[ANYTOWN-2026-0001] " + "a long title word " * 8,
    "Ünïcödé — «quotes» and emoji ✊ " * 4, "Evil\r\nBcc: victim@example.org"])
def test_a_header_folds_encodes_and_never_starts_another(value):
    raw = wire.header("Subject", value) + b"\r\n"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert list(msg.keys()) == ["Subject"]
    assert msg["Subject"] == " ".join(value.split())
    assert lines_ok(raw[:-2])


@pytest.mark.parametrize("name", ["Anytown Mutual Aid Society", "Añoville, Sociedad de Ayuda",
                                  'Quote " and <angle>'])
@pytest.mark.parametrize("reply_to", [None, "<orig.1@example.net>"])
def test_an_answer_as_bytes_is_the_answer_the_email_objects_make(name, reply_to):
    sender = answers.Sender(name, "mas@anytown.example")
    body = "Your appeal ANYTOWN-2026-0001 is published.\n\n" + TEXTS[2] + TEXTS[4]
    args = dict(in_reply_to=reply_to, now=datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc),
                message_id="<abc@anytown.example>")
    old = email.message_from_bytes(
        answers.build(sender, "member@example.net", "Re: [bail] Ünïcödé help", body,
                      **args).as_bytes(), policy=email.policy.default)
    new = email.message_from_bytes(
        answers.build_bytes(sender, "member@example.net", "Re: [bail] Ünïcödé help", body, **args),
        policy=email.policy.default)
    assert sorted(new.keys()) == sorted(old.keys())
    for key in old.keys():
        if key != "From":
            assert str(new[key]) == str(old[key]), key
    # One sender, whatever the name holds (the email objects made two of "A, B <x>").
    assert [(a.display_name, a.addr_spec) for a in new["From"].addresses] == [
        (name, "mas@anytown.example")]
    assert new.get_content() == old.get_content()
    assert lines_ok(answers.build_bytes(sender, "member@example.net", "x", body, **args))
