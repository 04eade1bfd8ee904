"""An SMTP or LMTP listener (aiosmtpd) for mail servers that deliver straight to masbot.

``250`` is answered only after :meth:`Society.handle` returned, that is after the outcome is
committed to the store; any failure before that answers ``451`` so the sending server keeps
the message and tries again.

LMTP (RFC 2033) answers the end of DATA once per accepted recipient, in RCPT order: a client
such as Postfix waits for every one of them. The message is handled once for all of them (it
is one request to the society), so every recipient gets the same answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from masbot.store import StoreWriteError

log = logging.getLogger(__name__)


class _Handler:
    def __init__(self, handle: Callable[[bytes], Awaitable[object]], max_bytes: int,
                 lmtp: bool = False) -> None:
        self.handle = handle
        self.max_bytes = max_bytes
        self.lmtp = lmtp

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await self.handle(raw)
        except asyncio.CancelledError:
            raise
        except StoreWriteError:  # the store's health logs it once a minute, not per message
            return "452 4.3.1 Insufficient system storage, please try again later"
        except Exception:  # noqa: BLE001 - the sender's server retries; we must not lose it
            log.exception("listener: message not recorded; answered 451")
            answer = "451 4.3.0 Temporary failure, please try again later"
        else:
            answer = "250 2.0.0 Message accepted"
        if not self.lmtp:
            return answer
        # aiosmtpd writes what we return followed by CRLF: one line per recipient.
        return "\r\n".join([answer] * len(envelope.rcpt_tos)) or answer


async def serve(handle: Callable[[bytes], Awaitable[object]], host: str, port: int, *,
                lmtp: bool = False, max_bytes: int = 1_000_000) -> asyncio.base_events.Server:
    """Start listening on ``host:port``; close the returned server to stop."""
    loop = asyncio.get_running_loop()
    handler = _Handler(handle, max_bytes, lmtp)
    protocol = LMTP if lmtp else SMTP
    # The size limit is enforced by the pipeline, which answers the sender; allow some slack
    # here so that an oversize request gets that answer instead of a bare SMTP error.
    return await loop.create_server(
        lambda: protocol(handler, data_size_limit=max_bytes * 2, enable_SMTPUTF8=True,
                         hostname="masbot"),
        host=host, port=port)
