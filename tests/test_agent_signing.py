"""Signatures asked of gpg-agent directly (masbot.signing.agent and .packets).

Every signature made this way is checked by three implementations that share no code with
masbot or with each other: gpg, Sequoia (sqop) and GopenPGP (gosop). The agent's way must
also fail safe: a protected key without its passphrase, an agent that was stopped, an answer
that does not verify, and keys it does not handle all end in a gpg signature or an error,
never in an unsigned or unverifiable post.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import time
from pathlib import Path

import pytest

from masbot.signing import agent, packets
from masbot.signing import signer as signer_module
from masbot.signing.armor import armor_signature, parse_clearsigned
from masbot.signing.signer import Signer, SignerError
from tests.harness.openpgp import (GpgHome, gosop_verify, gpg_verify_detached, gpg_verify_inline,
                                   sqop_inline_verify, sqop_verify)


@pytest.fixture
def home():
    with GpgHome() as h:
        yield h


def agent_only(signer: Signer, monkeypatch) -> Signer:
    """``signer`` with its gpg way broken: what it signs now, the agent signed."""
    def no_gpg(*args: object) -> None:
        raise AssertionError("gpg was asked to sign")
    monkeypatch.setattr(signer, "_sign", no_gpg)
    return signer


def _three_verify_detached(sig: bytes, data: bytes, cert: bytes, fpr: str) -> None:
    assert sqop_verify(sig, data, cert).signed_by(fpr)
    assert gosop_verify(sig, data, cert)
    assert gpg_verify_detached(sig, data, cert).signed_by(fpr)
    assert not sqop_verify(sig, data + b"x", cert)
    assert not gosop_verify(sig, data + b"x", cert)


@pytest.mark.parametrize("algo", ["ed25519", "rsa2048"])
def test_signatures_through_the_agent_verify_with_gpg_sqop_and_gosop(home: GpgHome,
                                                                     algo: str,
                                                                     monkeypatch) -> None:
    fpr = home.gen_key("Society <s@example.org>", algo=algo)
    signer = agent_only(Signer(Path(home.path)), monkeypatch)
    assert signer.through_agent
    cert = home.export(fpr)
    for data in (b"", b"one line", "Título: ayuda\r\n\x00 bytes\r\n".encode(),
                 bytes(range(256)) * 4000):
        sig = signer.detach_sign(data)
        assert sig.hash_algo == "10"
        _three_verify_detached(sig.data, data, cert, fpr)
    signed = signer.clearsign("Title: Rent\nStory: a line\n- a dash line\n")
    assert signed.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n")
    assert "\n- - a dash line\n" in signed
    assert sqop_inline_verify(signed.encode(), cert).signed_by(fpr)
    assert gpg_verify_inline(signed.encode(), cert).signed_by(fpr)


TEXTS = [
    "Title: x\n",
    "Title: x",  # no final line end
    "Title: x\n\n\n",  # blank lines at the end are signed
    "Title: x\r\nStory: CRLF ends\r\n",
    "Title: x\nStory: trailing spaces   \t\nand tabs\t\n",
    "From the start\nFrom: not escaped by the colon\n",
    "-----BEGIN PGP SIGNATURE-----\n- already dashed\n--\n",
    "Título: ñandú 🙂\nHistoria: 漢字 and Ελληνικά\n",
    "Story: " + "long " * 400 + "\n",
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_cleartext_signatures_cover_what_gpg_would_show(home: GpgHome, text: str,
                                                        monkeypatch) -> None:
    """The shown text is gpg's (up to trailing whitespace, which no signature covers), and
    three implementations verify it."""
    fpr = home.gen_key("Society <s@example.org>")
    cert = home.export(fpr)
    ours = agent_only(Signer(Path(home.path)), monkeypatch).clearsign(text)
    theirs = Signer(Path(home.path), use_agent=False).clearsign(text)
    assert parse_clearsigned(ours).text == parse_clearsigned(theirs).text
    assert sqop_inline_verify(ours.encode(), cert).signed_by(fpr)
    assert gpg_verify_inline(ours.encode(), cert).signed_by(fpr)
    parsed = parse_clearsigned(ours)
    signed = "\r\n".join(parsed.text[:-1].split("\n")).encode()
    assert gosop_verify(armor_signature(parsed.signature.packet).encode(), signed, cert)
    assert [line for line in ours.splitlines() if line.startswith("From ")] == []


def test_a_protected_key_signs_through_the_agent_only_with_its_passphrase(home: GpgHome,
                                                                         monkeypatch) -> None:
    proc = home.run("--status-fd", "2", "--pinentry-mode", "loopback", "--passphrase", "pass 1",
                    "--quick-gen-key", "Protected <p@example.org>", "ed25519", "sign", "never")
    fpr = re.search(r"KEY_CREATED \S+ ([0-9A-F]{40})", proc.stderr.decode()).group(1)
    reload = ["gpgconf", "--homedir", home.path, "--reload", "gpg-agent"]
    subprocess.run(reload, capture_output=True, check=False)  # forget the passphrase
    wrong = Signer(Path(home.path), passphrase="pass 2")
    assert wrong.through_agent
    with pytest.raises(SignerError, match="gpg did not sign"):
        wrong.detach_sign(b"data")
    subprocess.run(reload, capture_output=True, check=False)
    with pytest.raises(SignerError, match="gpg did not sign"):
        Signer(Path(home.path)).clearsign("Title: x\n")
    subprocess.run(reload, capture_output=True, check=False)
    right = agent_only(Signer(Path(home.path), passphrase="pass 1"), monkeypatch)
    sig = right.detach_sign(b"data")  # the agent asks for the passphrase: it was forgotten
    assert right.through_agent
    _three_verify_detached(sig.data, b"data", home.export(fpr), fpr)


def test_an_agent_stopped_after_start_is_started_again(home: GpgHome, monkeypatch) -> None:
    """The kept connection is dead: a new one is made at once (not a gpg started)."""
    fpr = home.gen_key("Society <s@example.org>")
    signer = agent_only(Signer(Path(home.path)), monkeypatch)
    signer.detach_sign(b"first")
    subprocess.run(["gpgconf", "--homedir", home.path, "--kill", "gpg-agent"],
                   capture_output=True, check=True)
    sig = signer.detach_sign(b"second")
    assert signer.through_agent
    assert sqop_verify(sig.data, b"second", home.export(fpr)).signed_by(fpr)


def test_an_answer_that_does_not_verify_turns_the_agent_way_off(home: GpgHome, monkeypatch,
                                                               caplog) -> None:
    """The first signature of each kind is checked by gpg: one that fails (here, the agent
    asked to sign another digest) is never sent, and gpg signs from then on."""
    fpr = home.gen_key("Society <s@example.org>")
    signer = Signer(Path(home.path))
    real = agent.Agent.sign
    monkeypatch.setattr(agent.Agent, "sign",
                        lambda self, key, digest: real(self, key, bytes(64)))
    with caplog.at_level(logging.ERROR):
        sig = signer.detach_sign(b"data")
    assert not signer.through_agent
    assert "did not verify" in caplog.text
    _three_verify_detached(sig.data, b"data", home.export(fpr), fpr)


def test_keys_the_agent_way_does_not_handle_are_signed_by_gpg(home: GpgHome) -> None:
    fpr = home.gen_key("Society <s@example.org>", algo="nistp256")
    signer = Signer(Path(home.path))
    assert not signer.through_agent
    sig = signer.detach_sign(b"data")
    assert sqop_verify(sig.data, b"data", home.export(fpr)).signed_by(fpr)


def test_the_event_loop_s_way_signs_many_at_once_and_survives_a_stopped_agent(
        home: GpgHome, monkeypatch) -> None:
    """The daemon's way (no thread per signature): many in flight on one loop, a second loop
    later (its connections are not the first loop's), and an agent stopped in between."""
    fpr = home.gen_key("Society <s@example.org>")
    cert = home.export(fpr)
    signer = Signer(Path(home.path))
    signer.detach_sign(b"checked by gpg first")
    signer.clearsign("checked by gpg first\n")
    agent_only(signer, monkeypatch)

    async def many() -> list:
        return await asyncio.gather(*(signer.adetach_sign(b"post %d" % n) for n in range(12)),
                                    *(signer.aclearsign(f"Appeal {n}\n- x\n") for n in range(4)))

    results = asyncio.run(many())
    assert signer.through_agent
    for n, sig in enumerate(results[:12]):
        assert sig.hash_algo == "10"
        assert sqop_verify(sig.data, b"post %d" % n, cert).signed_by(fpr)
    for n, text in enumerate(results[12:]):
        assert sqop_inline_verify(text.encode(), cert).signed_by(fpr)
        assert parse_clearsigned(text).text == f"Appeal {n}\n- x\n"
    subprocess.run(["gpgconf", "--homedir", home.path, "--kill", "gpg-agent"],
                   capture_output=True, check=True)
    sig = asyncio.run(signer.adetach_sign(b"after"))
    assert signer.through_agent
    _three_verify_detached(sig.data, b"after", cert, fpr)


def test_the_event_loop_s_way_checks_its_first_signature_too(home: GpgHome, monkeypatch) -> None:
    fpr = home.gen_key("Society <s@example.org>")
    signer = Signer(Path(home.path))
    real = agent.Agent.sign
    monkeypatch.setattr(agent.Agent, "sign",
                        lambda self, key, digest: real(self, key, bytes(64)))
    sig = asyncio.run(signer.adetach_sign(b"data"))
    assert not signer.through_agent
    assert sqop_verify(sig.data, b"data", home.export(fpr)).signed_by(fpr)


def test_an_expired_key_is_not_signed_with(home: GpgHome) -> None:
    """gpg-agent signs with an expired key; masbot lists the key again when its expiry
    passes, and then gpg refuses, as it always did: an error, not a post nobody can verify."""
    home.run("--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key",
             "Society <s@example.org>", "ed25519", "sign", "seconds=4")
    signer = Signer(Path(home.path))
    signer.detach_sign(b"still valid")
    assert signer.through_agent
    time.sleep(5)
    with pytest.raises(SignerError, match="gpg did not sign"):
        signer.detach_sign(b"expired now")
    assert not signer.through_agent


def test_a_key_revoked_while_running_is_not_signed_with(home: GpgHome, monkeypatch) -> None:
    fpr = home.gen_key("Society <s@example.org>")
    signer = Signer(Path(home.path))
    signer.detach_sign(b"before")
    # The certificate gpg made with the key, its armor line guarded by a ":" against mistakes.
    revocation = Path(home.path, "openpgp-revocs.d", f"{fpr}.rev").read_text()
    home.run("--import", input=revocation.replace(":-----BEGIN", "-----BEGIN").encode())
    monkeypatch.setattr(signer_module, "RECHECK", 0.0)  # the next signature lists it again
    with pytest.raises(SignerError):
        signer.detach_sign(b"after")
    assert not signer.through_agent


def test_an_agent_that_refuses_loopback_pinentry_is_not_used(home: GpgHome, caplog) -> None:
    """Such an agent would start a real pinentry for a protected key and wait: the agent's
    way is turned off at once, and gpg signs."""
    fpr = home.gen_key("Society <s@example.org>")
    Path(home.path, "gpg-agent.conf").write_text("no-allow-loopback-pinentry\n")
    subprocess.run(["gpgconf", "--homedir", home.path, "--kill", "gpg-agent"],
                   capture_output=True, check=True)
    signer = Signer(Path(home.path))
    with caplog.at_level(logging.ERROR):
        sig = signer.detach_sign(b"data")
    assert not signer.through_agent and "loopback" in caplog.text
    assert sqop_verify(sig.data, b"data", home.export(fpr)).signed_by(fpr)


def test_an_agent_failing_again_and_again_is_given_up(home: GpgHome, monkeypatch) -> None:
    fpr = home.gen_key("Society <s@example.org>")
    signer = Signer(Path(home.path))

    def fails(self, key, digest):
        raise agent.AgentError("gpg-agent: broken")
    monkeypatch.setattr(agent.Agent, "sign", fails)
    for n in range(signer_module.GIVE_UP_AFTER):
        assert signer.through_agent
        sig = signer.detach_sign(b"data %d" % n)
        assert sqop_verify(sig.data, b"data %d" % n, home.export(fpr)).signed_by(fpr)
    assert not signer.through_agent


def test_a_primary_key_that_cannot_sign_is_left_to_gpg(home: GpgHome) -> None:
    proc = home.run("--status-fd", "2", "--pinentry-mode", "loopback", "--passphrase", "",
                    "--quick-gen-key", "Society <s@example.org>", "ed25519", "cert", "never")
    fpr = re.search(r"KEY_CREATED \S+ ([0-9A-F]{40})", proc.stderr.decode()).group(1)
    home.run("--pinentry-mode", "loopback", "--passphrase", "", "--quick-add-key", fpr,
             "ed25519", "sign", "never")
    assert agent.agent_key("gpg", home.path, fpr) is None
    assert agent.agent_key("gpg", home.path, home.gen_key("Other <o@example.org>")) is not None


# -- the pure parts --------------------------------------------------------------------------

def test_mpis_count_bits_from_the_first_set_one() -> None:
    assert packets.mpi(b"\x00\x00\x01") == b"\x00\x01\x01"
    assert packets.mpi(b"\x80" + bytes(31)) == b"\x01\x00\x80" + bytes(31)
    assert packets.mpi(b"\x00" * 4) == b"\x00\x00"


def test_cleartext_is_crlf_joined_without_the_last_line_end() -> None:
    assert packets.cleartext("a  \nb\t\n") == ("a\nb\n", b"a\r\nb")
    assert packets.cleartext("a\r\n\r\n") == ("a\n\n", b"a\r\n")
    with pytest.raises(ValueError):
        packets.cleartext("a\rb\n")


def test_the_dialogue_sends_loopback_alone_then_the_signing_commands() -> None:
    key = agent.AgentKey("A" * 40, "B" * 40, packets.PK_EDDSA)
    talk = agent.Dialogue(key, bytes(64), "pass%word", greeted=False)
    assert talk.opening == b"OPTION pinentry-mode=loopback\n"
    assert talk.feed(b"OK Pleased to meet you") == b""
    sent = talk.feed(b"OK")
    assert sent.startswith(b"SIGKEY " + b"B" * 40 + b"\nSETHASH 10 ") and sent.endswith(b"PKSIGN\n")
    assert talk.feed(b"OK") == b"" and talk.feed(b"OK") == b""
    assert talk.feed(b"INQUIRE PASSPHRASE") == b"D pass%25word\nEND\n"
    assert talk.feed(b"INQUIRE PASSPHRASE") == b"CAN\n"  # a second ask: it was wrong
    assert talk.feed(b"ERR 67108875 Bad passphrase") == b""
    assert talk.done
    with pytest.raises(agent.AgentError, match="passphrase is missing or wrong"):
        talk.result()
    refused = agent.Dialogue(key, bytes(64), None, greeted=False)
    refused.feed(b"OK hello")
    with pytest.raises(agent.AgentUnusable, match="loopback"):
        refused.feed(b"ERR 67108881 Not supported")
    mid = agent.Dialogue(key, bytes(64), None, greeted=True)
    for line in (b"ERR 67108881 No secret key", b"OK", b"S PROGRESS", b"ERR 1 no key set"):
        mid.feed(line)
    with pytest.raises(agent.AgentError, match="No secret key"):
        mid.result()  # the first error is the one said


def test_the_agent_s_answer_is_read_strictly() -> None:
    r, s = b"\x01" * 32, b"%\n" + b"\x02" * 30
    sexp = b"(7:sig-val(5:eddsa(1:r32:" + r + b")(1:s32:" + s + b")))"
    assert agent.signature_values(agent.parse_sexp(sexp), packets.PK_EDDSA) == [r, s]
    assert agent._unescape(agent._escape(sexp)) == sexp
    for bad in (b"(7:sig-val", b"(3:abc)(3:def)", b"(99:short)", b"x"):
        with pytest.raises(ValueError):
            agent.parse_sexp(bad)
    with pytest.raises(ValueError, match="rsa"):
        agent.signature_values(agent.parse_sexp(sexp), packets.PK_RSA)
    for broken in (b"%zz", b"%-1", b"% a", b"%4"):
        with pytest.raises(ValueError, match="broken escape"):
            agent._unescape(broken)
