"""The command-line contract (DESIGN §5): outputs and exit codes, run as a user would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.openpgp import extract_signed, sqop_inline_verify, sqop_verify
from support import bail_request, invalid_request, write_config

SAMPLES = Path(__file__).resolve().parent.parent / "masbot" / "samples"


def masbot(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masbot", *args], input=stdin,
                          capture_output=True, timeout=timeout)


def test_demo_leaves_posts_that_verify_with_sqop(tmp_path):
    out = tmp_path / "demo"
    result = masbot("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    cert = (out / "society.asc").read_bytes()
    posts = sorted((out / "sent").rglob("*.eml"))
    assert len(posts) >= 3
    for post in posts:
        signed, signature = extract_signed(post.read_bytes())
        assert sqop_verify(signature, signed, cert).ok
    partner = (out / "data" / "riverside.asc").read_bytes()
    for appeal in sorted((out / "archive").glob("*.txt")):
        key = partner if appeal.name.startswith("RIVERSIDE-") else cert
        assert sqop_inline_verify(appeal.read_bytes(), key).ok
    summary = json.loads((out / "summary.json").read_text())
    kinds = {s["sample"]: s["outcome"] for s in summary["samples"]}
    assert kinds["03-bail-invalid"] == "invalid" and kinds["06-auto-reply"] == "automatic"
    # DESIGN §5: an update to funded, a partner's appeal relayed, a forged one refused.
    assert kinds["08-update-funded"] == "update"
    assert kinds["09-partner-relayed"] == "partner-post"
    assert kinds["10-partner-forged"] == "refused"
    assert sum(1 for s in summary["samples"] if s["appeal_id"]) == 6
    assert kinds["11-fianza-es"] == "request", "a Spanish request is posted"
    # The public site: the funded revision and the partner's appeal, each revision signed.
    site = Path(summary["site"])
    assert f"open file://{site}/index.html" in result.stdout.decode()
    assert (site / "appeals/ANYTOWN-2026-0001/revision-2.txt").is_file()
    assert ">Funded</span>" in (site / "index.html").read_text()
    assert list(site.glob("appeals/RIVERSIDE-2026-0042.*/origin-key.asc"))
    assert "give.evil.example" not in "".join(p.read_text() for p in site.rglob("*.html"))
    assert {p.parent.name for p in posts} == {"members@anytown.example",
                                              "master@lists.riverside.example",
                                              "red@lists.valle.example"}
    # The demo's sample senders reach their answers but nothing that is kept.
    kept = b"".join(p.read_bytes() for p in (out / "data").rglob("*") if p.is_file())
    kept += b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())
    kept += b"".join(p.read_bytes() for p in posts)
    for sender in (b"river.k.1998", b"hm.anytown", b"jo.quick.2024", b"dee.phone.mail"):
        assert sender not in kept


def test_demo_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = masbot("demo", "--out", str(tmp_path))
    assert result.returncode == 2 and b"not empty" in result.stdout


def test_check_config_reports_every_problem_with_its_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("society:\n  name: X\n  id: lower\n  address: not-an-address\n"
                   "  gnupghome: /nonexistent/gpg\n  colour: blue\n"
                   "smtp:\n  host: 127.0.0.1\n  port: many\n"
                   "local_list: members@anytown.example\n"
                   "rules:\n  - match: {origin: nowhere}\n    action: relay\n    to: [ghost]\n")
    result = masbot("check-config", "-c", str(bad))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(line.startswith(f"{bad}:") for line in lines), lines
    for expected in (f"{bad}:3:", f"{bad}:4:", f"{bad}:5:", f"{bad}:6:", f"{bad}:9:", f"{bad}:12:",
                     f"{bad}:14:"):
        assert any(line.startswith(expected) for line in lines), (expected, lines)


def test_check_config_accepts_a_valid_config_and_wants_the_key(tmp_path, gpg_home):
    home = gpg_home()
    files = write_config(tmp_path, Path(home.path), smtp_port=2525, imap_port=1143)
    result = masbot("check-config", "-c", str(files.config))
    assert result.returncode == 2 and b"keys init" in result.stderr
    init = masbot("keys", "init", "-c", str(files.config))
    assert init.returncode == 0, init.stderr.decode()
    fingerprint = init.stdout.decode().strip()
    assert len(fingerprint) == 40
    assert masbot("check-config", "-c", str(files.config)).returncode == 0
    assert masbot("keys", "fingerprint", "-c", str(files.config)).stdout.decode().strip() == fingerprint
    exported = masbot("keys", "export", "-c", str(files.config)).stdout
    assert exported.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    again = masbot("keys", "init", "-c", str(files.config))
    assert again.returncode == 2 and b"refusing" in again.stderr


def test_validate_prints_the_appeal_or_the_annotated_form(tmp_path):
    good = tmp_path / "good.eml"
    good.write_bytes(bail_request("someone@example.net"))
    ok = masbot("validate", str(good))
    assert ok.returncode == 0, ok.stdout.decode()
    assert b"Template: bail" in ok.stdout and b"someone" not in ok.stdout
    bad = masbot("validate", "-", stdin=invalid_request("x@example.net"))
    assert bad.returncode == 1
    assert b"! Needed-By: this date is in the past" in bad.stdout
    missing = masbot("validate", str(tmp_path / "absent.eml"))
    assert missing.returncode == 2 and b"cannot read" in missing.stderr


def test_template_lists_and_prints_forms():
    listing = masbot("template")
    assert listing.returncode == 0 and b"bail" in listing.stdout
    form = masbot("template", "bail")
    assert form.returncode == 0 and form.stdout.startswith(b"Template: bail\n")
    assert masbot("template", "nonsense").returncode == 2


def test_rules_explain_names_the_rule_and_destinations(tmp_path, gpg_home):
    home = gpg_home()
    extra = ("rules:\n  - name: bail stays local\n    match: {template: bail}\n"
             "    action: relay\n    to: [local]\n")
    files = write_config(tmp_path, Path(home.path), smtp_port=2525, imap_port=1143, extra=extra)
    request = tmp_path / "r.eml"
    request.write_bytes(bail_request("someone@example.net"))
    result = masbot("rules", "explain", "-c", str(files.config), str(request))
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "rule 'bail stays local'" in out and "matches -> relay" in out
    assert "-> members@anytown.example" in out and "riverside" not in out


@pytest.mark.parametrize("argv", [[], ["run"], ["frobnicate"]])
def test_usage_errors_exit_2(argv):
    assert masbot(*argv).returncode == 2


def test_a_config_without_inbound_cannot_run(tmp_path, gpg_home):
    home = gpg_home()
    files = write_config(tmp_path, Path(home.path), smtp_port=2525)
    assert masbot("keys", "init", "-c", str(files.config)).returncode == 0
    for command in ("check-config", "run"):
        result = masbot(command, "-c", str(files.config))
        assert result.returncode == 2
        assert f"{files.config}:1: no inbound".encode() in result.stderr


def test_status_before_the_first_run_says_so_and_creates_nothing(tmp_path, gpg_home):
    files = write_config(tmp_path, Path(gpg_home().path), smtp_port=2525, imap_port=1143)
    result = masbot("status", "-c", str(files.config))
    assert result.returncode == 1, "nothing runs: monitoring must see it"
    assert b"daemon: not running" in result.stdout
    assert b"does not exist yet: masbot has not run" in result.stdout
    assert not files.data_dir.exists()


def test_status_while_the_store_is_being_created_says_so(tmp_path, gpg_home):
    import sqlite3
    files = write_config(tmp_path, Path(gpg_home().path), smtp_port=2525, imap_port=1143)
    files.data_dir.mkdir(parents=True)
    sqlite3.connect(files.data_dir / "masbot.sqlite3").close()
    result = masbot("status", "-c", str(files.config))
    assert result.returncode == 1
    assert b"is empty: the daemon is creating it" in result.stdout
    assert b"Traceback" not in result.stderr


def test_validate_takes_a_bare_form_without_mail_headers(tmp_path):
    form = bail_request("someone@example.net").split(b"\r\n\r\n", 1)[1]
    path = tmp_path / "form.txt"
    path.write_bytes(b"Template: bail\r\n" + form)
    result = masbot("validate", str(path))
    assert result.returncode == 0, result.stdout.decode()
    assert b"Title: Get Sam home" in result.stdout


def test_keys_from_a_blank_start(tmp_path, gpg_home):
    """No gnupghome yet, an example fingerprint in society.key, a partner key_file not yet
    there: keys init and keys add-partner make a config that check-config passes."""
    from masbot.signing.signer import Signer, init_key
    home = tmp_path / "gnupg"
    files = write_config(tmp_path, home, smtp_port=2525, imap_port=1143)
    text = files.config.read_text().replace(
        f"  gnupghome: {home}\n",
        "  # the society's key lives here\n  gnupghome: gnupg\n"
        "  key: \"0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567\"  # from the example\n"
    ).replace(f"fingerprint: {'A' * 40}\n",
              f"fingerprint: {'A' * 40}\n    key_file: keys/riverside.asc  # not yet here\n")
    files.config.write_text(text)
    init = masbot("keys", "init", "-c", str(files.config))
    assert init.returncode == 0, init.stderr.decode()
    fpr = init.stdout.decode().strip()
    assert home.is_dir() and home.stat().st_mode & 0o777 == 0o700
    new = files.config.read_text()
    assert f'  key: "{fpr}"  # from the example\n' in new
    assert "# the society's key lives here" in new
    assert b"openpgp-revocs.d" in init.stderr
    socket = subprocess.run(["gpgconf", "--homedir", str(home), "--list-dirs", "agent-socket"],
                            capture_output=True, text=True).stdout.strip()
    assert not Path(socket).exists(), "keys init left a gpg-agent running"
    # A partner's key: shown, asked about; no is no.
    partner = gpg_home()
    init_key(Path(partner.path), "Riverside Mutual Aid", "mas@riverside.example")
    key = tmp_path / "riverside-download.asc"
    key.write_text(Signer(Path(partner.path)).export_public())
    refused = masbot("keys", "add-partner", str(key), "--name", "riverside", "-c",
                     str(files.config), stdin=b"n\n")
    assert refused.returncode == 1 and b"not pinned" in refused.stderr
    assert b"expires: 20" in refused.stdout and b"user id: Riverside Mutual Aid" in refused.stdout
    assert not (tmp_path / "keys" / "riverside.asc").exists()
    pinned = masbot("keys", "add-partner", str(key), "--name", "riverside", "-c",
                    str(files.config), stdin=b"y\n")
    assert pinned.returncode == 0, pinned.stderr.decode()
    assert (tmp_path / "keys" / "riverside.asc").read_text().startswith("-----BEGIN PGP")
    assert "key_file: keys/riverside.asc  # not yet here" in files.config.read_text()
    check = masbot("check-config", "-c", str(files.config))
    assert check.returncode == 0, check.stderr.decode()


def test_check_config_says_when_the_society_language_has_no_catalog(tmp_path, gpg_home):
    files = write_config(tmp_path, Path(gpg_home().path), smtp_port=2525, imap_port=1143)
    assert masbot("keys", "init", "-c", str(files.config)).returncode == 0
    for language, note in (("pt-BR", True), ("es", False), ("es-MX", False)):
        files.config.write_text(re.sub(r"(  id: ANYTOWN\n)(  language: \S+\n)?",
                                       rf"\1  language: {language}\n",
                                       files.config.read_text()))
        result = masbot("check-config", "-c", str(files.config))
        assert result.returncode == 0, result.stderr.decode()
        assert (b"answers and notices are in English" in result.stdout) == note, language


def test_template_and_validate_speak_the_language_asked_for(tmp_path):
    from masbot import lang
    es = lang.get("es").words
    form = masbot("template", "--lang", "es", "bail").stdout.decode()
    assert form.startswith(f"{es.field_name('Template')}: {es.template_name('bail')}\n")
    assert f"\n{es.field_name('How-To-Help')}:" in form and "How-To-Help" not in form
    assert masbot("template", es.template_name("bail")).stdout.decode() == form, \
        "a Spanish template name asks for the Spanish form"
    bad = tmp_path / "solicitud.txt"
    bad.write_text(f"{es.field_name('Template')}: {es.template_name('bail')}\n"
                   f"{es.field_name('Title')}: Ayuda para Ana\n", encoding="utf-8")
    result = masbot("validate", "--lang", "es", str(bad))
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    answer = result.stdout.decode()
    assert f"! {es.field_name('Held-At')}:" in answer and " required" not in answer
    english = tmp_path / "request.txt"
    english.write_text("Template: bail\nTitle: Help Ana\nStory:\nAna was arrested at the "
                       "march on Saturday and she cannot pay the bail that was set for her.\n",
                       encoding="utf-8")
    assert "! Held-At: this field is required" in masbot(
        "validate", "--lang", "es", str(english)).stdout.decode(), \
        "a request written in English is answered in English"
    english.write_text("Template: bail\nTitle: Help Ana\n", encoding="utf-8")
    assert f"! {es.field_name('Held-At')}:" in masbot(
        "validate", "--lang", "es", str(english)).stdout.decode(), \
        "the canonical keys alone do not tell: the society's language answers"
    refused = masbot("validate", "--lang", "xx", str(english))
    assert refused.returncode == 2 and b"masbot does not speak 'xx'" in refused.stderr
