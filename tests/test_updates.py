"""Updates to one appeal that arrive together become consecutive revisions, none lost."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from pathlib import Path

from federation import Federation, Router
from support import bail_request, decoded_parts, until


def update(appeal_id: str, key: str, n: int) -> bytes:
    return (f"From: champion{n}@example.net\r\nTo: society@alpha.test\r\nSubject: update\r\n"
            f"Message-ID: <u{n}@example.net>\r\n\r\n"
            f"Template: update\r\nRefers-To: {appeal_id}\r\nUpdate-Key: {key}\r\n"
            f"Status: update\r\nNote: Update number {n}: the hearing moved to another day.\r\n"
            ).encode()


def alpha(tmp_path: Path, home: Path, rules: str = "") -> Federation:
    """One society, alpha, and the router for its mail; the caller starts and stops it."""
    fed = Federation(tmp_path)
    fed.add("alpha", home)
    fed.router = Router(fed.members)
    fed.router.start()
    fed.write_config("alpha", {}, rules=rules)
    return fed


async def publish(fed: Federation) -> tuple[str, str]:
    """A member files a bail appeal at alpha: its Appeal-ID and Update-Key, from the answer."""
    await fed.inject("alpha", bail_request("member@example.net"))
    await until(lambda: fed.router.answers["member@example.net"])
    answer = email.message_from_bytes(fed.router.answers["member@example.net"][0],
                                      policy=email.policy.default).get_content()
    return (re.search(r"Appeal-ID: (\S+)", answer).group(1),
            re.search(r"Update-Key: (\S+)", answer).group(1))


async def test_simultaneous_updates_become_consecutive_revisions(tmp_path, gpg_home):
    fed = alpha(tmp_path, Path(gpg_home().path))
    await fed.start()
    try:
        appeal_id, key = await publish(fed)
        await asyncio.gather(*(fed.inject("alpha", update(appeal_id, key, n))
                               for n in range(1, 4)))
        await until(lambda: len(fed.router.delivered["alpha"]) == 4)
        await asyncio.sleep(0.5)
    finally:
        await fed.stop()
        fed.router.stop()
    revisions = sorted(int(re.search(rb"\nRevision: (\d+)", decoded_parts(raw)).group(1))
                       for raw in fed.router.delivered["alpha"])
    assert revisions == [1, 2, 3, 4], "three updates at once: revisions 2, 3 and 4"
    for n in range(1, 4):
        (reply,) = fed.router.answers[f"champion{n}@example.net"]
        assert b"Your update is published as revision" in reply
    log = (tmp_path / "alpha" / "masbot.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log, log


async def test_an_update_held_by_the_rules_is_shown_to_the_moderators(tmp_path, gpg_home):
    fed = alpha(tmp_path, Path(gpg_home().path), rules=(
        "moderators: [mods@alpha.test]\n"
        "rules:\n  - name: updates wait\n    match: {kind: update}\n    action: hold\n"))
    await fed.start()
    try:
        appeal_id, key = await publish(fed)
        await fed.inject("alpha", update(appeal_id, key, 1))
        await until(lambda: fed.router.answers["mods@alpha.test"])
    finally:
        await fed.stop()
        fed.router.stop()
    (notice,) = fed.router.answers["mods@alpha.test"]
    text = email.message_from_bytes(notice, policy=email.policy.default).get_content()
    assert f"Appeal-ID: {appeal_id}\nRevision: 2\n" in text.replace("\r\n", "\n")
    assert len(fed.router.delivered["alpha"]) == 1, "the update waits; only revision 1 is out"
