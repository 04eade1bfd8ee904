"""An SMTP or LMTP listener (aiosmtpd) for mail servers that deliver straight to masbot.

``250`` is answered only after :meth:`Society.handle` returned, that is after the outcome is
committed to the store; any failure before that answers ``451`` so the sending server keeps
the message and tries again.
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
    def __init__(self, handle: Callable[[bytes], Awaitable[object]], max_bytes: int) -> None:
        self.handle = handle
        self.max_bytes = max_bytes

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
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 Message accepted"


async def serve(handle: Callable[[bytes], Awaitable[object]], host: str, port: int, *,
                lmtp: bool = False, max_bytes: int = 1_000_000) -> asyncio.base_events.Server:
    """Start listening on ``host:port``; close the returned server to stop."""
    loop = asyncio.get_running_loop()
    handler = _Handler(handle, max_bytes)
    protocol = LMTP if lmtp else SMTP
    # The size limit is enforced by the pipeline, which answers the sender; allow some slack
    # here so that an oversize request gets that answer instead of a bare SMTP error.
    return await loop.create_server(
        lambda: protocol(handler, data_size_limit=max_bytes * 2, enable_SMTPUTF8=True,
                         hostname="masbot"),
        host=host, port=port)
