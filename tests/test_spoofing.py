"""The spoofing corpus (tests/spoof): every forgery is refused with its reason, every genuine
post it imitates is accepted, and the genuine signatures verify with sqop and gosop too."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from collections import Counter

import pytest

from harness.openpgp import extract_signed, gosop_verify, sqop_inline_verify, sqop_verify
from masbot.post import verify
from masbot.post.verify import Accepted, PostCheck, Reason, Refused
from spoof.cases import GROUPS, Case, build_corpus, genuine_posts
from spoof.corpus import World, appeal_text, build_world
from spoof.corpus import relay as relay_post


@pytest.fixture(scope="module")
def world():
    w = build_world()
    yield w
    w.close()


@pytest.fixture(scope="module")
def keyring(world: World):
    with world.keyring() as k:
        yield k


@pytest.fixture(scope="module")
def genuine(world: World):
    return genuine_posts(world)


@pytest.fixture(scope="module")
def corpus(world: World):
    return build_corpus(world)[1]


def _refused(result, reason: Reason) -> bool:
    return isinstance(result, Refused) and result.reason == reason


@pytest.mark.parametrize("group", list(GROUPS))
def test_forgeries_are_refused_with_their_reason_and_the_genuine_post_is_accepted(
        group, world, keyring, genuine):
    cases: list[Case] = GROUPS[group](world, genuine)
    wrong = []
    for case in cases:
        partner = verify.check_partner_post(case.forged, world.partners, keyring)
        plain = verify.verify_post(case.forged, keyring, world.partners)
        if not _refused(partner, case.reason):
            wrong.append(f"{case.name}: check_partner_post gave {partner}, want {case.reason}")
        if case.partner_only and not isinstance(plain, PostCheck):
            wrong.append(f"{case.name}: verify_post should accept it, gave {plain}")
        if not case.partner_only and not _refused(plain, case.reason):
            wrong.append(f"{case.name}: verify_post gave {plain}, want {case.reason}")
        for result in (partner, plain):
            if isinstance(result, Refused) and ("evil" in result.message
                                                or "[GNUPG:]" in result.message):
                wrong.append(f"{case.name}: the refusal quotes the mail: {result.message}")
        control = verify.check_partner_post(case.genuine, world.partners, keyring)
        if not isinstance(control, Accepted):
            wrong.append(f"{case.name}: its genuine post was refused: {control}")
    assert not wrong, "\n".join(wrong)


def test_the_corpus_covers_every_class_of_issue_4(corpus):
    assert len(corpus) >= 20
    classes = Counter(case.klass for case in corpus)
    for klass in ("unsigned", "prepended", "appended", "extra part", "wrapped", "html",
                  "reference", "unknown key", "unpinned key", "expired key", "revoked key",
                  "expired signature", "bad signature", "origin mismatch", "appeal signer",
                  "record mismatch", "two blocks", "text outside", "from", "sigspoof"):
        assert classes[klass] >= 1, klass
    assert len({case.forged for case in corpus}) == len(corpus), "every forgery is distinct"


def test_genuine_posts_are_accepted_with_their_provenance(world, keyring, genuine):
    a, r = world["anytown"], world["riverside"]
    relayed = verify.check_partner_post(genuine.relayed, world.partners, keyring)
    assert isinstance(relayed, Accepted) and relayed.partner.name == "riverside"
    assert relayed.post.signer == r.fpr and relayed.post.origin == a.fpr
    assert relayed.post.record.path == (a.fpr, r.fpr)
    assert relayed.post.appeal_text == appeal_text()
    direct = verify.check_partner_post(genuine.direct, world.partners, keyring)
    assert isinstance(direct, Accepted) and direct.partner.name == "anytown"
    sub = verify.check_partner_post(genuine.subkey, world.partners, keyring)
    assert isinstance(sub, Accepted) and sub.post.signer == world["subtown"].fpr


def test_a_display_name_that_differs_from_the_key_but_impersonates_nobody_is_fine(
        world, keyring):
    a = world["anytown"]
    for name in ("Anytown MAS", "", "Anytown Mutual Aid (bail desk)"):
        raw = relay_post(a, from_header=f"{name} <{a.address}>" if name else a.address)
        assert isinstance(verify.check_partner_post(raw, world.partners, keyring), Accepted), name


@pytest.mark.parametrize("transform", [
    lambda raw: raw.replace(b"\r\n", b"\n"),          # saved with LF ends
    lambda raw: raw + b"\r\n",                         # swaks adds a CRLF after the close
    lambda raw: b"Received: from x by y; Mon, 23 Nov 2026 12:00:01 +0000\r\n" + raw,  # an MTA
], ids=["lf", "trailing-crlf", "received-header"])
def test_genuine_posts_survive_transport_changes(transform, world, keyring, genuine):
    for raw in (genuine.direct, genuine.relayed, genuine.own, genuine.subkey):
        assert isinstance(verify.check_partner_post(transform(raw), world.partners, keyring),
                          Accepted)


def test_genuine_posts_verify_with_sqop_and_gosop(world, genuine):
    signers = {genuine.direct: "anytown", genuine.relayed: "riverside", genuine.own: "riverside",
               genuine.subkey: "subtown"}
    origins = {genuine.direct: "anytown", genuine.relayed: "anytown", genuine.own: "riverside",
               genuine.subkey: "subtown"}
    for raw, signer in signers.items():
        signed, signature = extract_signed(raw)
        cert = world[signer].cert
        for check in (sqop_verify, gosop_verify):
            result = check(signature, signed, cert)
            assert result.ok and world[signer].fpr in result.primaries, result.describe()
        appeal = next(p for p in email.message_from_bytes(
            signed, policy=email.policy.default).iter_parts()
            if p.get_content_type() == "text/plain")  # after the reading parts
        inline = sqop_inline_verify(appeal.get_content().encode(), world[origins[raw]].cert)
        assert inline.ok and world[origins[raw]].fpr in inline.primaries, inline.describe()


def test_key_and_signature_forgeries_fail_in_sqop_too(world, corpus):
    """Independent agreement: what masbot refuses for cryptographic reasons, Sequoia refuses.

    Not for an expired key: SOP judges a signature at its creation time, when the key was
    still valid, while masbot (by policy, issue 4) refuses a post whose signing key has
    expired by now.
    """
    signer_of = {"revoked key": "revtown", "expired signature": "sigtown"}
    checked = 0
    for case in corpus:
        if case.reason in (Reason.BAD_SIGNATURE, Reason.REVOKED_KEY, Reason.EXPIRED_SIGNATURE):
            signed, signature = extract_signed(case.forged)
            cert = world[signer_of.get(case.klass, "riverside")].cert
            assert not sqop_verify(signature, signed, cert).ok, case.name
            checked += 1
    assert checked >= 4


def test_masbot_verify_refuses_every_forgery_from_the_command_line(world, corpus, tmp_path):
    keys = tmp_path / "keys.asc"
    keys.write_bytes(b"".join(world.trusted_certs()))
    script = ("import sys\nfrom masbot import cli\nfrom pathlib import Path\n"
              "codes = []\n"
              "for path in sys.argv[2:]:\n"
              "    codes.append(str(cli.main(['verify', '--keyring', sys.argv[1], path])))\n"
              "print('CODES', ' '.join(codes))\n")
    files = []
    for i, case in enumerate(c for c in corpus if not c.partner_only):
        path = tmp_path / f"forged-{i:02d}.eml"
        path.write_bytes(case.forged)
        files.append((path, case))
    proc = subprocess.run([sys.executable, "-c", script, str(keys), *map(str, (f for f, _ in files))],
                          capture_output=True, timeout=300)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    codes = out.rsplit("CODES ", 1)[1].split()
    assert codes == ["1"] * len(files), [c.name for (_, c), code in zip(files, codes) if code != "1"]
    for _, case in files:
        assert f"not verified: {case.reason}:" in out, case.name
