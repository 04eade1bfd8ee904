"""The society's signatures, made by the system gpg, checked by sqop.

masbot asks gpg for every appeal's two signatures itself (not through python-gnupg); these
tests hold it to what python-gnupg gave: an armored signature by exactly the society's key,
SHA-512, and an error (never an unsigned post) for every way gpg can fail to sign.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from masbot.signing.signer import Signer, SignerError
from tests.harness.openpgp import GpgHome, sqop_inline_verify, sqop_verify


@pytest.fixture
def home():
    with GpgHome() as h:
        yield h


def _protected_key(home: GpgHome, passphrase: str) -> str:
    proc = home.run("--status-fd", "2", "--pinentry-mode", "loopback", "--passphrase", passphrase,
                    "--quick-gen-key", "Protected <p@example.org>", "ed25519", "sign", "never")
    m = re.search(r"KEY_CREATED \S+ ([0-9A-F]{40})", proc.stderr.decode())
    assert m
    return m.group(1)


def _forget_passphrases(home: GpgHome) -> None:
    subprocess.run(["gpgconf", "--homedir", home.path, "--reload", "gpg-agent"],
                   capture_output=True, timeout=30, check=False)


def test_detached_and_clear_signatures_verify_with_sqop(home: GpgHome) -> None:
    fpr = home.gen_key("Society <s@example.org>")
    signer = Signer(Path(home.path))
    data = "Título: ayuda\r\nStory: ünïcode and \x00 bytes\r\n".encode("utf-8")
    sig = signer.detach_sign(data)
    assert sig.data.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert sig.hash_algo == "10"  # SHA-512
    assert sqop_verify(sig.data, data, home.export(fpr)).signed_by(fpr)
    assert not sqop_verify(sig.data, data + b"x", home.export(fpr))
    text = "Title: Rent\nStory: a line\n- a dash line\n"
    signed = signer.clearsign(text)
    assert signed.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n")
    assert "\n- - a dash line\n" in signed  # dash-escaped, as OpenPGP says
    assert sqop_inline_verify(signed.encode("utf-8"), home.export(fpr)).signed_by(fpr)


def test_the_chosen_key_signs_when_the_home_holds_two(home: GpgHome) -> None:
    first = home.gen_key("First <a@example.org>")
    second = home.gen_key("Second <b@example.org>")
    with pytest.raises(SignerError, match="2 secret keys"):
        Signer(Path(home.path))
    sig = Signer(Path(home.path), fingerprint=second).detach_sign(b"data")
    assert sqop_verify(sig.data, b"data", home.export(second)).signed_by(second)
    assert not sqop_verify(sig.data, b"data", home.export(first))


def test_a_protected_key_signs_only_with_its_passphrase(home: GpgHome) -> None:
    fpr = _protected_key(home, "correct horse")
    _forget_passphrases(home)
    with pytest.raises(SignerError, match="gpg did not sign"):
        Signer(Path(home.path), passphrase="wrong").detach_sign(b"data")
    _forget_passphrases(home)
    with pytest.raises(SignerError, match="gpg did not sign"):
        Signer(Path(home.path)).detach_sign(b"data")  # batch: no pinentry to ask
    sig = Signer(Path(home.path), passphrase="correct horse").detach_sign(b"data")
    assert sqop_verify(sig.data, b"data", home.export(fpr)).signed_by(fpr)
    with pytest.raises(SignerError, match="line break"):
        Signer(Path(home.path), passphrase="two\nlines").detach_sign(b"data")


def test_a_key_gone_after_start_is_an_error_not_an_unsigned_post(home: GpgHome) -> None:
    fpr = home.gen_key("Society <s@example.org>")
    signer = Signer(Path(home.path))
    home.run("--yes", "--delete-secret-and-public-key", fpr)
    with pytest.raises(SignerError, match=r"gpg did not sign \(exit 2"):
        signer.clearsign("Title: x\n")


def test_gpg_that_cannot_start_is_an_error(home: GpgHome, tmp_path: Path) -> None:
    home.gen_key("Society <s@example.org>")
    signer = Signer(Path(home.path))
    signer._gpg_binary = str(tmp_path / "no-such-gpg")
    with pytest.raises(SignerError, match="could not be started"):
        signer.detach_sign(b"data")


def test_the_armor_checksum_is_rfc_4880_s_crc24(home: GpgHome) -> None:
    """The table-driven CRC-24 gives what the RFC's bit-by-bit one gives, and what gpg
    writes under a real signature's armor."""
    import base64
    import random
    from masbot.signing import armor
    rng = random.Random(4880)
    for size in (0, 1, 2, 3, 57, 119, 1000):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert armor._crc24(data) == armor._crc24_bitwise(data)
    home.gen_key("Society <s@example.org>")
    sig = Signer(Path(home.path), use_agent=False).detach_sign(b"data").data.decode()
    lines = [ln for ln in sig.splitlines() if ln and not ln.startswith("-----")]
    packet = base64.b64decode("".join(ln for ln in lines if not ln.startswith("=")))
    written = next(ln for ln in lines if ln.startswith("="))[1:]
    assert base64.b64decode(written) == armor._crc24(packet).to_bytes(3, "big")
