"""``masbot check-config --connect``: what only the servers and the keys can tell.

A configuration can be well-formed and still fail at run time: a wrong port, a wrong password,
TLS expected on one side and not the other, a pinned key that exists nowhere. Each check here
logs in (IMAP, SMTP) or loads the key the way the daemon would, sends nothing, and turns what
went wrong into one plain line for the operator: never an OpenSSL code, never a traceback.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Callable, Mapping

from masbot.config.settings import Config, ImapConfig, Secret, SmtpConfig

__all__ = ["Finding", "check_connections", "check_imap", "check_smtp", "check_keys"]


@dataclass(frozen=True)
class Finding:
    """One problem found by connecting: which part (imap, smtp, keys) and what is wrong."""

    part: str
    message: str

    def __str__(self) -> str:
        return f"{self.part}: {self.message}"


def _password(secret: Secret | None, environ: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """(the password, None) or (None, why it cannot be read)."""
    if secret is None:
        return None, None
    try:
        return secret.read(environ), None
    except OSError as exc:
        return None, f"cannot read password_file {secret.file}: {exc.strerror or exc}"
    except KeyError:
        return None, f"environment variable {secret.env} is not set"


def _tls_context(cafile: object) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


def _network_words(exc: BaseException, where: str, timeout: float, *, expects_tls: bool,
                   tls_hint: str, plain_hint: str) -> str:
    """Plain words for a failure to connect or to start TLS with ``where`` (host:port)."""
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing listens on {where} (connection refused): check the host and port"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name of {where}: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"{where} presented a certificate that is not trusted "
                f"({exc.verify_message or exc.reason}): give the CA that signed it as cafile, "
                "or check the host name")
    if isinstance(exc, ssl.SSLError):
        if exc.reason in ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST",
                          "RECORD_LAYER_FAILURE"):
            return f"{where} does not speak TLS from the first byte: {plain_hint}"
        return f"TLS with {where} failed ({exc.reason or exc}): {tls_hint}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        if not expects_tls:
            return (f"{where} sent no greeting within {timeout:g} s: it may expect TLS from the "
                    f"first byte ({tls_hint})")
        return f"no answer from {where} within {timeout:g} s"
    if isinstance(exc, (ConnectionResetError, EOFError, smtplib.SMTPServerDisconnected,
                        imaplib.IMAP4.abort)) and not expects_tls:
        return (f"{where} closed the connection before greeting: it may expect TLS from the "
                f"first byte ({tls_hint})")
    if isinstance(exc, OSError):
        return f"cannot connect to {where}: {exc.strerror or exc}"
    return f"{where}: {exc}"


def _text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        value = b" ".join(v for v in value if isinstance(v, bytes)) or value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value).strip()


def check_imap(cfg: ImapConfig, environ: Mapping[str, str] | None = None) -> list[Finding]:
    """Log in to the IMAP server as configured and open the mailbox."""
    where = f"{cfg.host}:{cfg.port}"
    password, problem = _password(cfg.password, environ)
    if problem:
        return [Finding("imap", problem)]
    implicit = cfg.tls == "implicit"
    try:
        client: imaplib.IMAP4 = (
            imaplib.IMAP4_SSL(cfg.host, cfg.port, ssl_context=_tls_context(cfg.cafile),
                              timeout=cfg.timeout) if implicit
            else imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout))
    except Exception as exc:  # noqa: BLE001 - every failure becomes one plain line
        return [Finding("imap", _network_words(
            exc, where, cfg.timeout, expects_tls=implicit,
            tls_hint="with tls: implicit the port is usually 993",
            plain_hint="set tls: none for this port, or use the server's TLS port (usually "
                       "993)"))]
    findings: list[Finding] = []
    try:
        try:
            client.login(cfg.username, password or "")
        except imaplib.IMAP4.error as exc:
            return [Finding("imap", f"login as {cfg.username} on {where} refused: {_text(exc)}"
                            " (check username and password)")]
        # move_to is not checked: the daemon creates it when it is missing.
        status, data = client.select(_quote(cfg.mailbox), readonly=True)
        if status != "OK":
            findings.append(Finding("imap", f"mailbox {cfg.mailbox!r} cannot be opened on "
                                            f"{where}: {_text(data)}"))
    except (imaplib.IMAP4.error, OSError) as exc:
        findings.append(Finding("imap", f"{where}: {_text(exc)}"))
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return findings


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_smtp(cfg: SmtpConfig, environ: Mapping[str, str] | None = None,
               local_hostname: str = "masbot.check") -> list[Finding]:
    """Greet the smarthost as configured: TLS (STARTTLS or implicit) and AUTH; send nothing."""
    where = f"{cfg.host}:{cfg.port}"
    password, problem = _password(cfg.password, environ)
    if problem:
        return [Finding("smtp", problem)]
    implicit = cfg.security == "implicit"
    plain_hint = ("set security: starttls (usually port 587) or none for this port"
                  if implicit else "")
    tls_hint = ("with security: implicit the port is usually 465" if not implicit
                else "check the port and cafile")
    try:
        client = (smtplib.SMTP_SSL(cfg.host, cfg.port, local_hostname=local_hostname,
                                   timeout=cfg.timeout, context=_tls_context(cfg.cafile))
                  if implicit else
                  smtplib.SMTP(cfg.host, cfg.port, local_hostname=local_hostname,
                               timeout=cfg.timeout))
    except Exception as exc:  # noqa: BLE001
        return [Finding("smtp", _network_words(exc, where, cfg.timeout, expects_tls=implicit,
                                               tls_hint=tls_hint, plain_hint=plain_hint))]
    try:
        client.ehlo()
        if cfg.security == "starttls":
            if not client.has_extn("starttls"):
                return [Finding("smtp", f"{where} does not offer STARTTLS: use the port that "
                                        "does (usually 587), or security: implicit for a TLS "
                                        "port (usually 465)")]
            try:
                client.starttls(context=_tls_context(cfg.cafile))
            except (ssl.SSLError, OSError) as exc:
                return [Finding("smtp", _network_words(
                    exc, where, cfg.timeout, expects_tls=True,
                    tls_hint="check cafile", plain_hint="STARTTLS failed"))]
            client.ehlo()
        if cfg.username:
            if not client.has_extn("auth"):
                return [Finding("smtp", f"{where} offers no login (AUTH) here"
                                        + (" without TLS" if cfg.security == "none" else "")
                                        + ": check security and port, or leave out username")]
            try:
                client.login(cfg.username, password or "")
            except smtplib.SMTPAuthenticationError as exc:
                return [Finding("smtp", f"login as {cfg.username} on {where} refused: "
                                        f"{exc.smtp_code} {_text(exc.smtp_error)} "
                                        "(check username and password)")]
            except smtplib.SMTPException as exc:
                return [Finding("smtp", f"login as {cfg.username} on {where} failed: {exc}")]
    except (smtplib.SMTPException, OSError) as exc:
        return [Finding("smtp", _network_words(exc, where, cfg.timeout, expects_tls=True,
                                               tls_hint=tls_hint, plain_hint=plain_hint))]
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return []


def check_keys(config: Config) -> list[Finding]:
    """Load the society's key (and sign with it) and every pinned key, as the daemon would."""
    from masbot.signing.keyring import KeyringError, Keyring, expiry_warnings
    from masbot.signing.signer import Signer, SignerError
    findings: list[Finding] = []
    soc = config.society
    try:
        passphrase = (soc.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
                      if soc.passphrase_file else None)
        Signer(soc.gnupghome, soc.key, passphrase).clearsign("masbot check-config")
    except (SignerError, OSError) as exc:
        findings.append(Finding("keys", f"society key: {exc}"))
    pinned = [(f"partner {p.name}", p.fingerprint, p.key_file) for p in config.partners
              if p.receives_from]
    pinned += [(f"moderator key {k.fingerprint[-16:]}", k.fingerprint, k.key_file)
               for k in config.moderator_keys]
    with Keyring() as ring:
        for label, fingerprint, key_file in pinned:
            try:
                material = (key_file.read_bytes() if key_file is not None
                            else _from_home(config, fingerprint))
                if not material:
                    raise KeyringError(f"no key_file, and {fingerprint} is not in "
                                       f"{soc.gnupghome}: its posts would all be refused "
                                       "(masbot keys add-partner pins it)")
                ring.add(material, expect=fingerprint)
            except (KeyringError, OSError) as exc:
                findings.append(Finding("keys", f"{label}: {exc}"))
        findings += [Finding("keys", w) for w in expiry_warnings(ring.keys().values())]
    return findings


def _from_home(config: Config, fingerprint: str) -> bytes:
    from masbot.signing.signer import open_home
    return open_home(config.society.gnupghome).export_keys(fingerprint).encode("ascii")


def check_connections(config: Config, environ: Mapping[str, str] | None = None,
                      progress: Callable[[str], None] | None = None) -> list[Finding]:
    """Every problem found by logging in to IMAP and SMTP and loading every key named."""
    findings: list[Finding] = []
    if config.imap is not None:
        if progress:
            progress(f"imap: logging in to {config.imap.host}:{config.imap.port}")
        findings += check_imap(config.imap, environ)
    if progress:
        progress(f"smtp: greeting {config.smtp.host}:{config.smtp.port}")
    findings += check_smtp(config.smtp, environ)
    findings += check_keys(config)
    return findings


def folder_count(cfg: ImapConfig, folder: str,
                 environ: Mapping[str, str] | None = None) -> tuple[int | None, str | None]:
    """(how many messages ``folder`` holds, None), or (None, why it could not be counted)."""
    password, problem = _password(cfg.password, environ)
    if problem:
        return None, problem
    where = f"{cfg.host}:{cfg.port}"
    try:
        client: imaplib.IMAP4 = (
            imaplib.IMAP4_SSL(cfg.host, cfg.port, ssl_context=_tls_context(cfg.cafile),
                              timeout=cfg.timeout) if cfg.tls == "implicit"
            else imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout))
    except Exception as exc:  # noqa: BLE001
        return None, _network_words(exc, where, cfg.timeout, expects_tls=cfg.tls == "implicit",
                                    tls_hint="", plain_hint="")
    try:
        client.login(cfg.username, password or "")
        status, data = client.select(_quote(folder), readonly=True)
        if status != "OK":
            return None, f"{folder!r} cannot be opened: {_text(data)}"
        return int(_text(data[0]) or 0), None
    except (imaplib.IMAP4.error, OSError, ValueError) as exc:
        return None, _text(exc)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
