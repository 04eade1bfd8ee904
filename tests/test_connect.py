"""`masbot check-config --connect`: the operator mistakes a file check cannot see, one line each.

Against real Dovecot (IMAP and IMAPS), aiosmtpd with STARTTLS and AUTH, and real gpg.
"""

from __future__ import annotations

import re
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from harness.dovecot import free_port, make_self_signed_cert
from masbot.signing.signer import init_key
from support import SOCIETY_ADDRESS, write_config


class _Quiet:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"society" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def smarthost(tmp_path):
    """aiosmtpd on STARTTLS with AUTH (password s3cret), as a provider's port 587."""
    (tmp_path / "smtp-tls").mkdir()
    cert, key = make_self_signed_cert(tmp_path / "smtp-tls")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    controller = Controller(_Quiet(), hostname="127.0.0.1", port=free_port(), tls_context=ctx,
                            require_starttls=True, authenticator=_authenticator,
                            auth_require_tls=True, server_hostname="smarthost.test")
    controller.start()
    yield controller.port, cert
    controller.stop()


def masbot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masbot", *args], capture_output=True,
                          text=True, timeout=90)


@pytest.fixture
def society(tmp_path, gpg_home, dovecot, smarthost):
    """make(**changes) writes a config that --connect passes, with the given mistakes in it."""
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    smtp_port, smtp_ca = smarthost
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smtp").write_text("s3cret\n")

    def make(*, imap_port=dovecot.port, imap_password="societypw", imap_cafile=None,
             smtp_port=smtp_port, smtp_security="starttls", smtp_password=None,
             partners_send_only=True, timeout=10):
        if smtp_password is not None:
            (tmp_path / "secrets" / "smtp").write_text(smtp_password + "\n")
        files = write_config(tmp_path, Path(home.path), smtp_port=smtp_port,
                             imap_port=imap_port, imap_password=imap_password,
                             imap_cafile=imap_cafile)
        text = files.config.read_text().replace(
            f"smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: none\n  timeout: 10\n",
            f"smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: {smtp_security}\n"
            f"  cafile: {smtp_ca}\n  username: society\n  password_file: secrets/smtp\n"
            f"  timeout: {timeout}\n").replace("  timeout: 10\n", f"  timeout: {timeout}\n")
        if partners_send_only:  # their keys are never used: nothing to load
            text = re.sub(r"(    fingerprint: \w+\n)", r"\1    direction: send\n", text)
        files.config.write_text(text)
        return str(files.config), home
    return make


def problems(result: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()


def test_a_working_config_connects_and_leaves_no_agent(society):
    config, home = society()
    result = masbot("check-config", "--connect", "-c", config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{config}: ok"
    socket = subprocess.run(["gpgconf", "--homedir", home.path, "--list-dirs", "agent-socket"],
                            capture_output=True, text=True).stdout.strip()
    assert not Path(socket).exists(), "check-config left a gpg-agent running"


def test_wrong_imap_port_and_password(society, dovecot):
    port = free_port()
    config, _ = society(imap_port=port)
    assert problems(masbot("check-config", "--connect", "-c", config)) == [
        f"{config}: imap: nothing listens on 127.0.0.1:{port} (connection refused): check the "
        "host and port"]
    config, _ = society(imap_password="wrong")
    (line,) = problems(masbot("check-config", "--connect", "-c", config))
    assert line.startswith(f"{config}: imap: login as society on 127.0.0.1:{dovecot.port} "
                           "refused: ")
    assert line.endswith("(check username and password)")


def test_imap_tls_mismatch_in_plain_words(society, dovecot):
    config, _ = society(imap_cafile=dovecot.cafile)  # implicit TLS on the plain port
    (line,) = problems(masbot("check-config", "--connect", "-c", config))
    assert line == (f"{config}: imap: 127.0.0.1:{dovecot.port} does not speak TLS from the first "
                    "byte: set tls: none for this port, or use the server's TLS port (usually 993)")
    assert "WRONG_VERSION_NUMBER" not in line


def test_wrong_smtp_port_password_and_tls(society, smarthost):
    smtp_port, _ = smarthost
    port = free_port()
    config, _ = society(smtp_port=port)
    assert problems(masbot("check-config", "--connect", "-c", config)) == [
        f"{config}: smtp: nothing listens on 127.0.0.1:{port} (connection refused): check the "
        "host and port"]
    config, _ = society(smtp_password="wrong")
    (line,) = problems(masbot("check-config", "--connect", "-c", config))
    assert line.startswith(f"{config}: smtp: login as society on 127.0.0.1:{smtp_port} refused: "
                           "535")
    config, _ = society(smtp_security="implicit")  # TLS from the first byte on a STARTTLS port
    assert problems(masbot("check-config", "--connect", "-c", config)) == [
        f"{config}: smtp: 127.0.0.1:{smtp_port} does not speak TLS from the first byte: set "
        "security: starttls (usually port 587) or none for this port"]


def test_smtp_plain_client_on_a_tls_port(society, tmp_path):
    """security: starttls against a server that waits for TLS: no greeting comes."""
    (tmp_path / "implicit").mkdir()
    cert, key = make_self_signed_cert(tmp_path / "implicit")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    implicit = Controller(_Quiet(), hostname="127.0.0.1", port=free_port(), ssl_context=ctx,
                          server_hostname="smarthost.test")
    implicit.start()
    try:
        config, _ = society(smtp_port=implicit.port, timeout=2)
        (line,) = problems(masbot("check-config", "--connect", "-c", config))
    finally:
        implicit.stop()
    # Depending on the server, it hangs up or waits: either way the words name the likely cause.
    assert line.startswith(f"{config}: smtp: 127.0.0.1:{implicit.port} ")
    assert line.endswith("it may expect TLS from the first byte (with security: implicit the "
                         "port is usually 465)")


def test_a_pinned_partner_whose_key_exists_nowhere(society):
    config, home = society(partners_send_only=False)
    lines = problems(masbot("check-config", "--connect", "-c", config))
    assert lines == [
        f"{config}: keys: partner {name}: no key_file, and {fpr * 40} is not in {home.path}: its "
        "posts would all be refused (masbot keys add-partner pins it)"
        for name, fpr in (("riverside", "A"), ("valle", "B"))]


def test_yaml_syntax_errors_in_plain_words(tmp_path):
    cases = {
        "society:\n  name: [Anytown\nsmtp:\n  port: 1\n":
            ":3: invalid YAML: a [ list opened on line 2 is not closed with ]",
        "society:\n  name: x\n\tid: Y\n":
            ":3: invalid YAML: a tab character; indent with spaces, never tabs",
        "society:\n  name: x\n smtp: 1\n":
            ":3: invalid YAML: this line is indented differently from the keys above it "
            "(the block starting on line 1)",
        "society:\n  name: \"Anytown\n":
            ":3: invalid YAML: the quoted value that starts on line 2 is never closed",
        "society:\n  name: Anytown: Mutual Aid\n":
            ":2: invalid YAML: a ': ' where no key can start: indent this key like those above "
            "it, or quote a value that holds ': ' (key: \"a: b\")",
    }
    for text, expected in cases.items():
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        result = masbot("check-config", "-c", str(path))
        assert result.returncode == 2
        assert result.stderr.strip() == f"{path}{expected}", text
