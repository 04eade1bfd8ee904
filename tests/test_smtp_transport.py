"""The SMTP transport against a real aiosmtpd server with STARTTLS and AUTH, and its errors."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from harness.dovecot import free_port, make_self_signed_cert
from masbot.config.settings import Secret, SmtpConfig
from masbot.relay.smtp import DeliveryError, SmtpTransport


class Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes, bool]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, envelope.rcpt_tos, envelope.original_content,
                              session.ssl is not None))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"society" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture
def tls_server(tmp_path):
    cert, key = make_self_signed_cert(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=ctx,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True, server_hostname="smarthost.test")
    controller.start()
    yield controller, handler, cert
    controller.stop()


def config(port: int, cafile: Path, username: str | None = "society") -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, security="starttls", cafile=cafile,
                      username=username, password=Secret(env="X") if username else None,
                      timeout=5)


async def test_starttls_and_auth_deliver_the_exact_bytes(tls_server):
    controller, handler, cert = tls_server
    data = b"Subject: hi\r\n\r\nFrom here on\r\n.leading dot\r\n"
    await SmtpTransport(config(controller.port, cert), "s3cret").send(
        data, "mas@anytown.example", ["members@anytown.example"])
    (mail_from, rcpts, received, over_tls), = handler.received
    assert (mail_from, rcpts, over_tls) == ("mas@anytown.example", ["members@anytown.example"], True)
    assert received == data


async def test_untrusted_certificate_is_refused(tls_server, tmp_path):
    controller, handler, _ = tls_server
    (tmp_path / "other").mkdir()
    other_ca, _ = make_self_signed_cert(tmp_path / "other")
    with pytest.raises(DeliveryError) as err:
        await SmtpTransport(config(controller.port, other_ca), "s3cret").send(
            b"Subject: x\r\n\r\nx\r\n", "mas@anytown.example", ["members@anytown.example"])
    assert not err.value.permanent and handler.received == []


async def test_refused_connection_is_temporary():
    with pytest.raises(DeliveryError) as err:
        await SmtpTransport(SmtpConfig(host="127.0.0.1", port=free_port(), security="none",
                                       timeout=2)).send(b"x\r\n", "a@b.example", ["c@d.example"])
    assert not err.value.permanent


async def test_the_ehlo_name_is_the_one_given_never_a_lookup_per_connection():
    class Greeted(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.names: list[str] = []

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            self.names.append(hostname)
            session.host_name = hostname
            return responses

    handler = Greeted()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            server_hostname="smarthost.test")
    controller.start()
    try:
        await SmtpTransport(SmtpConfig(host="127.0.0.1", port=controller.port, security="none",
                                       timeout=5), local_hostname="anytown.example").send(
            b"Subject: x\r\n\r\nx\r\n", "mas@anytown.example", ["l@example.org"])
    finally:
        controller.stop()
    assert handler.names == ["anytown.example"] and len(handler.received) == 1
