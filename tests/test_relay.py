"""Relay between societies: A -> B -> C on loopback, with signatures checked at every hop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from federation import Federation, Router
from harness.openpgp import extract_signed, sqop_verify
from support import bail_request, until


async def test_three_societies_relay_with_origin_signature_intact(tmp_path, gpg_home):
    fed = Federation(tmp_path)
    for name in ("alpha", "beta", "gamma"):
        fed.add(name, Path(gpg_home().path))
    fed.router = Router(fed.members)
    fed.router.start()
    # alpha -> beta -> gamma: alpha sends to beta; beta receives from alpha, sends to gamma.
    fed.write_config("alpha", {"beta": "send"})
    fed.write_config("beta", {"alpha": "receive", "gamma": "send"})
    fed.write_config("gamma", {"beta": "receive"})
    await fed.start()
    try:
        await fed.inject("alpha", bail_request("member@example.net", title="Bail for Sam"))
        await until(lambda: len(fed.router.delivered["gamma"]) == 1)
        await asyncio.sleep(1)
    finally:
        await fed.stop()
        fed.router.stop()
    for name in ("alpha", "beta", "gamma"):
        assert len(fed.router.delivered[name]) == 1, (name, fed.router.delivered.keys())
    post_at_gamma = fed.router.delivered["gamma"][0]
    signed, signature = extract_signed(post_at_gamma)
    assert sqop_verify(signature, signed, fed.members["gamma"].key).signed_by(
        fed.members["gamma"].fingerprint), "gamma's members get gamma's signature on the post"
    path = tmp_path / "gamma-post.eml"
    path.write_bytes(post_at_gamma)
    keyring = tmp_path / "keys.asc"
    keyring.write_bytes(fed.members["gamma"].key)
    result = subprocess.run([sys.executable, "-m", "masbot", "verify", "--keyring", str(keyring),
                             str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fed.members["alpha"].fingerprint in result.stdout, "the reader sees alpha as origin"
    # gamma accepted beta's post (signed by beta, which gamma pins) and kept alpha's signature.
    log = (tmp_path / "gamma" / "masbot.log").read_text()
    assert "from beta, origin alpha society: relay" in log, log
    # Each daemon published the appeal on its public site after handling it: alpha as its
    # own, gamma as a partner's, whose signed text checks with the key gamma publishes next
    # to it (sqop, not masbot).
    from harness.openpgp import sqop_inline_verify
    alpha_site = fed.members["alpha"].dir / "data" / "public"
    own = sorted(alpha_site.glob("appeals/ALPHA-*/revision-1.txt")) or sorted(
        alpha_site.glob("appeals/*/revision-1.txt"))
    assert own and sqop_inline_verify(own[0].read_bytes(), fed.members["alpha"].key).ok
    relayed = sorted((fed.members["gamma"].dir / "data" / "public").glob(
        "appeals/*.*/revision-1.txt"))
    assert len(relayed) == 1, relayed
    key = (relayed[0].parent / "origin-key.asc").read_bytes()
    result = sqop_inline_verify(relayed[0].read_bytes(), key)
    assert result.ok and fed.members["alpha"].fingerprint in result.primaries
