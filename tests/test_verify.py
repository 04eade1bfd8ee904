"""Verification (masbot.signing.armor, masbot.signing.keyring, masbot.post.verify) and the `verify` and
`keys add-partner` commands, with real gpg keys; genuine material is cross-checked with sqop."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness.openpgp import sqop_inline_verify
from masbot.post import build as post
from masbot.post import verify
from masbot.config.settings import load_config
from masbot.signing.armor import FormatError, parse_clearsigned, read_signature
from masbot.signing.keyring import Keyring, KeyringError
from masbot.signing.signer import Signer, init_key
from masbot.post.verify import AppealCheck, PostCheck, Reason, Refused
from support import write_config

APPEAL = ("Appeal-ID: ANYTOWN-2026-0001\nRevision: 1\nSociety: Anytown Mutual Aid Society\n"
          "Title: Ünïcödé — «quotes» ✊\nStory:\nFrom here on the line starts with From.\n"
          "- a dash item\n-- not a signature\n" + ("A very long line " * 12).rstrip() + "\n.\n")


def masbot(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masbot", *args], input=stdin,
                          capture_output=True, timeout=120)


@pytest.fixture
def society(gpg_home):
    """A society key made by masbot itself (keys init), and a Signer on it."""
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", "mas@anytown.example")
    return Signer(Path(home.path))


@pytest.fixture
def keyring(society):
    with Keyring.of(society.export_public().encode()) as k:
        yield k


def build_post(signer: Signer, text: str = APPEAL, path: tuple[str, ...] | None = None,
               origin: Signer | None = None) -> bytes:
    origin = origin or signer
    record = post.RelayRecord(origin.fingerprint, "Anytown Mutual Aid Society", "ANYTOWN-2026-0001",
                              1, path or (signer.fingerprint,))
    content = post.signed_content(origin.clearsign(text), record, origin.export_public())
    sig = signer.detach_sign(content)
    envelope = post.Envelope("Anytown Mutual Aid Society", "mas@anytown.example",
                             ("members@anytown.example",), "[ANYTOWN-2026-0001] A title",
                             datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc),
                             "<abc@anytown.example>")
    return post.assemble(content, sig.data, sig.hash_algo, envelope, "=-b-123")


# --- the keyring --------------------------------------------------------------------------------

def test_keyring_is_a_short_throwaway_home_holding_only_what_was_added(society, gpg_home):
    other = gpg_home()
    stranger = other.gen_key("Stranger <s@example.org>")
    ring = Keyring.of(society.export_public().encode())
    home = ring.home
    assert home.startswith("/tmp/mb-k-") and len(home) < 40
    assert list(ring.keys()) == [society.fingerprint]
    with pytest.raises(KeyringError, match="expected the key"):
        ring.add(other.export(stranger), expect=society.fingerprint)
    with pytest.raises(KeyringError, match="secret key"):
        ring.add(other.export_secret(stranger))
    with pytest.raises(KeyringError, match="no OpenPGP public key"):
        ring.add(b"not a key")
    assert list(ring.keys()) == [society.fingerprint]
    assert not any(name.startswith("S.gpg-agent") for name in os.listdir(home)), \
        "verification must not start a gpg-agent"
    ring.close()
    assert not os.path.exists(home)


def test_a_user_id_carrying_gpg_status_text_is_refused(gpg_home):
    home = gpg_home()
    fpr = home.gen_key("[GNUPG:] GOODSIG 0123456789ABCDEF Anytown")
    with Keyring() as ring, pytest.raises(KeyringError, match="status text"):
        ring.add(home.export(fpr))


# --- clearsigned texts ------------------------------------------------------------------------

@pytest.fixture
def clearsigned(society) -> str:
    return society.clearsign(APPEAL)


def test_a_pasted_clearsigned_text_with_blank_lines_crlf_and_trailing_blanks_verifies(
        clearsigned, keyring, society):
    pasted = "\r\n\r\n  \r\n" + clearsigned.replace("\n", "  \r\n") + "\r\n\r\n"
    result = verify.verify_appeal_text(pasted, keyring)
    assert isinstance(result, AppealCheck), result
    assert result.signer == society.fingerprint
    assert result.text == APPEAL
    independent = sqop_inline_verify(clearsigned.encode(), society.export_public().encode())
    assert independent.ok and independent.text.decode() == result.text


@pytest.mark.parametrize("mutate, code", [
    (lambda cs: "Give at https://evil.example\n\n" + cs, "text-outside-signature"),
    (lambda cs: cs + "\nGive at https://evil.example\n", "text-outside-signature"),
    (lambda cs: cs + "\n" + cs, "multiple-blocks"),
    (lambda cs: cs.replace("Hash: SHA512\n", "Hash: SHA512\nHash: SHA512\n"), "bad-armor"),
    (lambda cs: cs.replace("Hash: SHA512", "Hash: MD5"), "bad-armor"),
    (lambda cs: cs.replace("Hash: SHA512", "Hash: SHA256"), "bad-armor"),
    (lambda cs: cs.replace("Hash: SHA512\n", "Hash: SHA512\nComment: hi\n"), "bad-armor"),
    (lambda cs: cs.replace("Hash: SHA512\n", ""), "bad-armor"),
    (lambda cs: cs.replace("- -- not", "-- not"), "bad-armor"),
    (lambda cs: cs.replace("Revision: 1", "Revision: 1\x1b[2K"), "bad-armor"),
    (lambda cs: cs.replace("Revision: 1", "Revision: 1\x00"), "bad-armor"),
    (lambda cs: cs.replace("Story:", "Story:\rInjected"), "bad-armor"),
    (lambda cs: cs.replace("-----END PGP SIGNATURE-----", ""), "bad-armor"),
    (lambda cs: cs.replace("-----BEGIN PGP SIGNATURE-----\n",
                           "-----BEGIN PGP SIGNATURE-----\nComment: [GNUPG:] GOODSIG\n"),
     "bad-armor"),
    (lambda cs: "no signature at all\n", "not-clearsigned"),
])
def test_a_clearsigned_text_must_be_one_clean_block(clearsigned, mutate, code):
    with pytest.raises(FormatError) as info:
        parse_clearsigned(mutate(clearsigned))
    assert info.value.code == code


def test_a_bad_checksum_or_two_signature_packets_are_refused(clearsigned):
    block = clearsigned[clearsigned.index("-----BEGIN PGP SIGNATURE-----"):]
    lines = block.split("\n")
    crc = next(i for i, line in enumerate(lines) if line.startswith("="))
    broken = "\n".join(lines[:crc] + ["=AAAA"] + lines[crc + 1:])
    with pytest.raises(FormatError, match="checksum"):
        read_signature(broken)
    packet = read_signature(block).packet
    b64 = base64.b64encode(packet + packet).decode()
    with pytest.raises(FormatError, match="exactly one signature packet"):
        read_signature(f"-----BEGIN PGP SIGNATURE-----\n\n{b64}\n-----END PGP SIGNATURE-----\n")


def test_clearsigned_text_by_another_key_or_altered_is_refused(clearsigned, keyring, gpg_home):
    other = gpg_home()
    fpr = other.gen_key("Other <o@example.org>")
    foreign = other.clearsign(APPEAL.encode(), fpr, digest_algo="SHA512").decode()
    assert verify.verify_appeal_text(foreign, keyring).reason == Reason.UNKNOWN_KEY
    altered = clearsigned.replace("From here on", "From there on")
    assert verify.verify_appeal_text(altered, keyring).reason == Reason.BAD_SIGNATURE


# --- posts ------------------------------------------------------------------------------------

def test_a_genuine_post_from_masbot_verifies_with_crlf_and_lf(society, keyring):
    raw = build_post(society)
    for data in (raw, raw.replace(b"\r\n", b"\n")):
        result = verify.verify_post(data, keyring)
        assert isinstance(result, PostCheck), result
        assert result.signer == result.origin == society.fingerprint
        assert result.appeal_text == APPEAL
        assert result.record.path == (society.fingerprint,)
    check = verify.verify_post(raw, keyring)
    assert sqop_inline_verify(check.clearsigned_appeal.encode(),
                              society.export_public().encode()).ok
    nxt = verify.next_record(check, "ab" * 20)
    assert nxt.path == (society.fingerprint, "AB" * 20) and nxt.appeal_id == "ANYTOWN-2026-0001"


def test_a_relayed_post_verifies_the_origin_with_the_carried_key_only(society, gpg_home):
    relay_home = gpg_home()
    init_key(Path(relay_home.path), "Anytown Mutual Aid Society", "mas@anytown.example")
    relayer = Signer(Path(relay_home.path))
    raw = build_post(relayer, path=(society.fingerprint, relayer.fingerprint), origin=society)
    with Keyring.of(relayer.export_public().encode()) as ring:   # the origin is not trusted here
        result = verify.verify_post(raw, ring)
    assert isinstance(result, PostCheck), result
    assert result.signer == relayer.fingerprint and result.origin == society.fingerprint
    assert "Ünïcödé" in result.appeal_text


def test_check_partner_post_needs_a_receiving_partner_pin(society, keyring):
    from masbot.relay.partners import Partner
    raw = build_post(society)
    fpr = society.fingerprint
    ok = verify.check_partner_post(raw, [Partner("anytown", ("l@anytown.example",), fpr)], keyring)
    assert ok.ok and ok.partner.name == "anytown"
    send_only = [Partner("anytown", ("l@anytown.example",), fpr, "send")]
    assert verify.check_partner_post(raw, send_only, keyring).reason == Reason.UNPINNED_KEY
    nobody = [Partner("other", ("l@other.example",), "C" * 40)]
    assert verify.check_partner_post(raw, nobody, keyring).reason == Reason.UNPINNED_KEY


@pytest.mark.parametrize("raw", [b"", b"\x00\x01garbage", b"From: a@b\r\n\r\n",
                                 b"Content-Type: multipart/signed\r\n\r\nx",
                                 b"Content-Type: multipart/signed; boundary=b; protocol="
                                 b"\"application/pgp-signature\"\r\n\r\n--b\r\n\r\n--b--\r\n"])
def test_hostile_bytes_get_a_refusal_not_an_exception(raw, keyring):
    result = verify.verify_post(raw, keyring)
    assert isinstance(result, Refused) and result.reason in set(Reason)


# --- masbot verify ------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path, society):
    keys = tmp_path / "keys.asc"
    keys.write_text(society.export_public())
    eml = tmp_path / "post.eml"
    eml.write_bytes(build_post(society))
    return keys, eml


def test_masbot_verify_a_post_with_crlf_and_with_lf(files, society, tmp_path):
    keys, eml = files
    lf = tmp_path / "post-lf.eml"
    lf.write_bytes(eml.read_bytes().replace(b"\r\n", b"\n"))
    for path in (eml, lf):
        result = masbot("verify", "--keyring", str(keys), str(path))
        out = result.stdout.decode()
        assert result.returncode == 0, out + result.stderr.decode()
        assert f"signer: {society.fingerprint}" in out
        assert f"origin: {society.fingerprint}" in out
        covered = out.split("-" * 72 + "\n")[1]
        assert covered == APPEAL.rstrip("\n") + "\n"


def test_masbot_verify_a_post_saved_from_an_mbox(files, society):
    keys, eml = files
    mbox = b"From mas@anytown.example Mon Nov 23 12:00:00 2026\n" + eml.read_bytes().replace(
        b"\r\n", b"\n")
    result = masbot("verify", "--keyring", str(keys), "-", stdin=mbox)
    assert result.returncode == 0, result.stdout


def test_masbot_verify_a_pasted_clearsigned_appeal(files, society, tmp_path):
    keys, _ = files
    pasted = tmp_path / "pasted.txt"
    pasted.write_bytes(b"\r\n\r\n" + society.clearsign(APPEAL).replace("\n", "\r\n").encode()
                       + b"\r\n\r\n\r\n")
    result = masbot("verify", "--keyring", str(keys), str(pasted))
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert f"signer: {society.fingerprint} (Anytown Mutual Aid Society <mas@anytown.example>)" in out
    assert "Title: Ünïcödé — «quotes» ✊" in out
    stdin = masbot("verify", "--keyring", str(keys), "-", stdin=pasted.read_bytes())
    assert stdin.returncode == 0
    bom = masbot("verify", "--keyring", str(keys), "-", stdin=b"\xef\xbb\xbf" + pasted.read_bytes())
    assert bom.returncode == 0, bom.stdout


def test_masbot_verify_refusals_and_usage_errors(files, tmp_path, society, gpg_home):
    keys, eml = files
    forged = tmp_path / "forged.eml"
    forged.write_bytes(eml.read_bytes().replace(b"From here on", b"From there on"))
    result = masbot("verify", "--keyring", str(keys), str(forged))
    assert result.returncode == 1
    assert result.stdout.decode().startswith("not verified: bad-signature:")
    appended = tmp_path / "appended.eml"
    appended.write_bytes(eml.read_bytes() + b"Give at https://evil.example\r\n")
    result = masbot("verify", "--keyring", str(keys), str(appended))
    assert result.returncode == 1 and b"appended-text" in result.stdout
    other = gpg_home()
    empty = tmp_path / "other.asc"
    empty.write_bytes(other.export(other.gen_key("Other <o@example.org>")))
    assert masbot("verify", "--keyring", str(empty), str(eml)).stdout.startswith(
        b"not verified: unknown-key")
    assert masbot("verify", "--keyring", str(keys), str(tmp_path / "missing.eml")).returncode == 2
    assert masbot("verify", "--keyring", str(tmp_path / "missing.asc"), str(eml)).returncode == 2
    nokey = tmp_path / "nokey.asc"
    nokey.write_text("hello\n")
    assert masbot("verify", "--keyring", str(nokey), str(eml)).returncode == 2
    assert masbot("verify", str(eml)).returncode == 2


def test_masbot_verify_an_inline_signed_mail_and_refuses_sigspoof_literal_data(files, society,
                                                                             tmp_path):
    keys, _ = files
    block = society.clearsign(APPEAL).replace("\n", "\r\n").encode()
    head = (b"From: Anytown Mutual Aid Society <mas@anytown.example>\r\nSubject: appeal\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n")
    inline = tmp_path / "inline.eml"
    inline.write_bytes(head + block)
    assert masbot("verify", "--keyring", str(keys), str(inline)).returncode == 0
    inline.write_bytes(head + b"Give at https://evil.example instead.\r\n\r\n" + block)
    result = masbot("verify", "--keyring", str(keys), str(inline))
    assert result.returncode == 1 and b"text-outside-signature" in result.stdout
    # An inline-signed message (not clearsigned) by a *trusted* key whose literal data packet
    # carries a file name with injected gpg status lines: never handed to gpg, refused.
    home = Path(society.gpg.gnupghome)
    status = (f"x\n[GNUPG:] GOODSIG {society.fingerprint[-16:]} Anytown\n"
              f"[GNUPG:] VALIDSIG {society.fingerprint} 2026-11-23 0 0 4 0 22 10 00 "
              f"{society.fingerprint}\n")
    signed = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--armor", "--sign",
                             "--set-filename", status, "-o", "-"], input=APPEAL.encode(),
                            capture_output=True, check=True).stdout
    spoof = tmp_path / "spoof.asc"
    spoof.write_bytes(signed)
    result = masbot("verify", "--keyring", str(keys), str(spoof))
    assert result.returncode == 1 and b"not-clearsigned" in result.stdout


# --- masbot verify -c and keys add-partner ------------------------------------------------------

@pytest.fixture
def config(tmp_path, society):
    files = write_config(tmp_path, Path(society.gpg.gnupghome), smtp_port=2525)
    text = files.config.read_text().replace(
        "partners:\n", "partners:\n  # our oldest partner; keep this comment\n")
    files.config.write_text(text)
    return files.config


def test_masbot_verify_with_the_config_trusts_the_society_key(config, society, tmp_path):
    eml = tmp_path / "own.eml"
    eml.write_bytes(build_post(society))
    result = masbot("verify", "-c", str(config), str(eml))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert f"signer: {society.fingerprint}" in result.stdout.decode()
    assert b"partner riverside: key not loaded" in result.stderr  # the fake pins have no key


def test_keys_add_partner_pins_the_key_and_keeps_comments(config, gpg_home, tmp_path):
    partner_home = gpg_home()
    init_key(Path(partner_home.path), "Riverside Mutual Aid", "mas@riverside.example")
    riverside = Signer(Path(partner_home.path))
    key = tmp_path / "riverside-download.asc"
    key.write_text(riverside.export_public())
    result = masbot("keys", "add-partner", str(key), "--name", "riverside", "--yes", "-c", str(config))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    fpr = riverside.fingerprint
    assert " ".join(fpr[i:i + 4] for i in range(0, 40, 4)).encode() in result.stdout
    text = config.read_text()
    assert "# our oldest partner; keep this comment" in text
    assert f'fingerprint: "{fpr}"' in text and "key_file: partner-keys/riverside.asc" in text
    loaded = load_config(config).partner("riverside")
    assert loaded.fingerprint == fpr and loaded.key_file == config.parent / "partner-keys/riverside.asc"
    assert loaded.key_file.read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    # The pinned partner's posts now verify with the default keyring.
    eml = tmp_path / "riverside.eml"
    raw = build_post(riverside).replace(b"Anytown Mutual Aid Society <mas@anytown.example>",
                                        b"Riverside Mutual Aid <mas@riverside.example>")
    eml.write_bytes(raw)
    result = masbot("verify", "-c", str(config), str(eml))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert f"signer: {fpr}".encode() in result.stdout
    again = masbot("keys", "add-partner", str(key), "--name", "riverside", "--yes", "-c",
                   str(config))
    assert again.returncode == 0 and config.read_text().count("key_file:") == 1


def test_keys_add_partner_for_an_unknown_partner_prints_the_snippet(config, gpg_home, tmp_path):
    home = gpg_home()
    fpr = home.gen_key("Valle <mas@valle.example>")
    key = tmp_path / "k.asc"
    key.write_bytes(home.export(fpr))
    before = config.read_text()
    result = masbot("keys", "add-partner", str(key), "--name", "newtown", "--yes", "-c", str(config))
    assert result.returncode == 1
    out = result.stdout.decode()
    assert "- name: newtown" in out and f'fingerprint: "{fpr}"' in out
    assert "key_file: partner-keys/newtown.asc" in out
    assert config.read_text() == before
    assert (config.parent / "partner-keys" / "newtown.asc").exists()


def test_keys_add_partner_refuses_expired_revoked_and_secret_keys(config, gpg_home, tmp_path):
    home = gpg_home()
    made = home.run("--faked-system-time", "20200101T000000!", "--status-fd", "2",
                    "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                    "Old <o@example.org>", "ed25519", "sign", "1d")
    expired = made.stderr.decode().split("KEY_CREATED P ")[1][:40]
    soon = home.gen_key("Soon <s@example.org>", expire="10d")
    revoked = home.gen_key("Rev <r@example.org>")
    rev = (Path(home.path) / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
    home.import_key(rev.replace(":-----BEGIN", "-----BEGIN").encode())
    cases = {"expired": (home.export(expired), 1, b"expired"),
             "revoked": (home.export(revoked), 1, b"revoked"),
             "secret": (home.export_secret(soon), 2, b"secret key"),
             "soon": (home.export(soon), 0, b"expires in 9 day")}
    for name, (material, code, message) in cases.items():
        key = tmp_path / f"{name}.asc"
        key.write_bytes(material)
        result = masbot("keys", "add-partner", str(key), "--name", "riverside", "--yes", "-c", str(config))
        assert result.returncode == code, (name, result.stdout, result.stderr)
        assert message in result.stderr, (name, result.stderr)
    bad = masbot("keys", "add-partner", str(tmp_path / "soon.asc"), "--name", "../evil", "-c",
                 str(config))
    assert bad.returncode == 2


def _pgp_mime(society: Signer, inner: bytes, from_: str = "Anytown Mutual Aid Society "
              "<mas@anytown.example>") -> bytes:
    sig = society.detach_sign(inner).data.replace(b"\n", b"\r\n")
    return (f"From: {from_}\r\nSubject: hello\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/signed; micalg=pgp-sha512;\r\n"
            " protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"
            "--sig\r\n").encode() + inner + (b"\r\n--sig\r\nContent-Type: application/pgp-signature"
                                              b"\r\n\r\n") + sig + b"\r\n--sig--\r\n"


def test_masbot_verify_an_ordinary_pgp_mime_mail_only_when_it_is_plain_text(files, society,
                                                                             tmp_path):
    keys, _ = files
    plain = (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
             b"quoted-printable\r\n\r\nHello =C3=BC, the fund is at https://fund.example\r\n")
    protected = (b"Content-Type: multipart/mixed; boundary=\"in\"; protected-headers=\"v1\"\r\n"
                 b"Subject: hello\r\n\r\n--in\r\n" + plain + b"\r\n--in--\r\n")
    attached = protected.replace(b"--in--", b"--in\r\nContent-Type: text/html\r\n\r\n<p>x</p>"
                                            b"\r\n--in--")
    path = tmp_path / "mail.eml"
    for inner, code in ((plain, 0), (protected, 0), (attached, 1)):
        path.write_bytes(_pgp_mime(society, inner))
        result = masbot("verify", "--keyring", str(keys), str(path))
        assert result.returncode == code, (inner, result.stdout)
    path.write_bytes(_pgp_mime(society, plain))
    out = masbot("verify", "--keyring", str(keys), str(path)).stdout.decode()
    assert "not a masbot post" in out and "Hello ü, the fund is at https://fund.example" in out
    # ... and never as a partner post.
    with Keyring.of(society.export_public().encode()) as ring:
        assert verify.verify_post(path.read_bytes(), ring).reason == Reason.BAD_CONTENT
    path.write_bytes(_pgp_mime(society, plain, from_="Riverside <mas@riverside.example>"))
    result = masbot("verify", "--keyring", str(keys), str(path))
    assert result.returncode == 1 and b"from-mismatch" in result.stdout


def _society(gpg_home, name: str) -> Signer:
    home = gpg_home()
    init_key(Path(home.path), f"{name} Mutual Aid", f"mas@{name.lower()}.example")
    return Signer(Path(home.path))


def _relay(me: Signer, name: str, accepted: PostCheck) -> bytes:
    """What the pipeline does with an accepted partner post (the integration recipe)."""
    record = verify.next_record(accepted, me.fingerprint)
    content = post.signed_content(accepted.clearsigned_appeal, record, accepted.origin_key)
    sig = me.detach_sign(content)
    envelope = post.Envelope(f"{name} Mutual Aid", f"mas@{name.lower()}.example",
                             ("members@example.org",), "[ANYTOWN-2026-0001] A title",
                             datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc), "<r@example.org>")
    return post.assemble(content, sig.data, sig.hash_algo, envelope, "=-relay-1")


def test_three_societies_a_to_b_to_c_and_a_reader_names_the_origin(gpg_home, tmp_path):
    from masbot.relay.partners import Partner
    a, b, c = (_society(gpg_home, n) for n in ("Anytown", "Brook", "Centre"))
    at_a = build_post(a)
    with Keyring.of(a.export_public().encode()) as ring_b:   # B pins A
        accepted = verify.check_partner_post(
            at_a, [Partner("anytown", ("l@anytown.example",), a.fingerprint, "receive")], ring_b)
    assert accepted.ok, accepted
    at_b = _relay(b, "Brook", accepted.post)
    with Keyring.of(b.export_public().encode()) as ring_c:   # C pins B only, not A
        accepted = verify.check_partner_post(
            at_b, [Partner("brook", ("l@brook.example",), b.fingerprint, "both")], ring_c)
    assert accepted.ok, accepted
    assert accepted.post.origin == a.fingerprint and accepted.post.appeal_text == APPEAL
    assert accepted.post.record.path == (a.fingerprint, b.fingerprint)
    at_c = _relay(c, "Centre", accepted.post)
    keys = tmp_path / "centre.asc"
    keys.write_text(c.export_public())
    eml = tmp_path / "from-c.eml"
    eml.write_bytes(at_c)
    result = masbot("verify", "--keyring", str(keys), str(eml))
    out = result.stdout.decode()
    assert result.returncode == 0, out
    assert f"signer: {c.fingerprint}" in out and f"origin: {a.fingerprint}" in out
    assert f"path: {a.fingerprint} > {b.fingerprint} > {c.fingerprint}" in out
    # The appeal C carries still verifies with A's key alone, in Sequoia too.
    with Keyring.of(c.export_public().encode()) as ring:
        final = verify.verify_post(at_c, ring)
    assert sqop_inline_verify(final.clearsigned_appeal.encode(), a.export_public().encode()).ok


def test_the_configured_keyring_warns_of_keys_that_expire_soon(gpg_home):
    from masbot.signing.keyring import expiry_warnings
    home = gpg_home()
    soon = home.gen_key("Soon <s@example.org>", expire="5d")
    later = home.gen_key("Later <l@example.org>", expire="1y")
    with Keyring.of(home.export(soon), home.export(later)) as ring:
        warnings = expiry_warnings(ring.keys().values())
    assert len(warnings) == 1 and soon in warnings[0] and "expires in 4 day" in warnings[0]


def test_masbot_verify_into_a_pipe_that_closes_early_leaves_no_traceback(files):
    keys, eml = files
    reader = subprocess.Popen([sys.executable, "-m", "masbot", "verify", "--keyring", str(keys),
                               str(eml)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as `| head -c0` does: the reader is gone before masbot writes
    err = reader.stderr.read()
    assert reader.wait(timeout=60) == 128 + 13
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err


def test_the_headers_of_a_signed_post_parse_on_debian_12s_python(society):
    """CPython < 3.11.5 (Debian 12: 3.11.2) flags a headers-only parse of any multipart
    (gh-106186); a genuine post must still be read."""
    from masbot.post.strictmime import crlf, top_headers
    head = top_headers(crlf(build_post(society)))
    assert head.get_content_type() == "multipart/signed"
