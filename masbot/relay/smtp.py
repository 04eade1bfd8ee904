"""The SMTP transport: hands bytes to the smarthost with aiosmtplib, unchanged.

One small interface (``send``) so tests and the demo can put another transport behind the
same seam. Errors are sorted into temporary (try again later) and permanent (5xx).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import aiosmtplib

from masbot.config.settings import SmtpConfig


class DeliveryError(Exception):
    """A delivery failed; ``permanent`` is True for a 5xx answer."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    async def send(self, data: bytes, sender: str, recipients: Sequence[str],
                   accepted: Callable[[], None] | None = None) -> None:
        """Deliver ``data`` byte for byte, or raise :class:`DeliveryError`.

        ``accepted`` is called the moment the server has taken responsibility for the
        message (its answer to the end of DATA), before the session is closed.
        """


@dataclass
class SmtpTransport:
    """Delivers through the configured smarthost."""

    config: SmtpConfig
    password: str | None = None
    # The name given in EHLO. Without one aiosmtplib calls socket.getfqdn() for every
    # connection, which stalls for seconds on a host whose name does not resolve.
    local_hostname: str | None = None

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.security == "none":
            return None
        ctx = ssl.create_default_context(cafile=str(self.config.cafile) if self.config.cafile else None)
        return ctx

    async def send(self, data: bytes, sender: str, recipients: Sequence[str],
                   accepted: Callable[[], None] | None = None) -> None:
        """Send ``data`` to ``recipients``; the envelope sender may be "" (a null sender)."""
        cfg = self.config
        try:
            client = aiosmtplib.SMTP(
                hostname=cfg.host, port=cfg.port, use_tls=cfg.security == "implicit",
                start_tls=cfg.security == "starttls", tls_context=self._tls_context(),
                username=cfg.username, password=self.password if cfg.username else None,
                timeout=cfg.timeout, local_hostname=self.local_hostname)
            async with client:
                # sendmail, not aiosmtplib.send: it allows the null sender "" (MAIL FROM:<>)
                errors, _ = await client.sendmail(sender, list(recipients), data)
                if accepted is not None and not errors:
                    # Record success before QUIT: a crash after the server's 250 should find
                    # the delivery recorded, or the post is sent again after a restart.
                    accepted()
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(f"recipient refused: {exc.recipients[0].code} "
                                f"{exc.recipients[0].message}", all(c >= 500 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{exc.code} {exc.message}", exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", False) from exc
        if errors:
            first = next(iter(errors.values()))
            raise DeliveryError(f"recipient refused: {first.code} {first.message}", first.code >= 500)
