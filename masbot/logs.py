"""Logging set-up: text or JSON lines, and a last line of defence against leaked addresses.

masbot logs messages by opaque reference (a digest prefix), never by sender. The
:class:`AddressFilter` still masks any address that is not one of the society's configured,
public addresses, in case a library or a server reply carries one into a log line.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Iterable
from masbot.addresses import ADDRESS_IN_TEXT



class AddressFilter(logging.Filter):
    """Masks every email address in a record except the public ones it is given."""

    def __init__(self, public: Iterable[str] = ()) -> None:
        super().__init__()
        self.public = {a.casefold() for a in public}

    def _mask(self, text: str) -> str:
        return ADDRESS_IN_TEXT.sub(lambda m: m.group(0) if m.group(0).casefold() in self.public
                            else "<address>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._mask(record.getMessage())
        record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }, ensure_ascii=False)


def setup(level: str = "info", fmt: str = "text", file: Path | None = None,
          public_addresses: Iterable[str] = ()) -> None:
    """Configure the root logger for masbot (replacing earlier handlers).

    A log file is watched: when logrotate moves it away, the next line opens a new one (and a
    reload opens it again in any case), so no ``copytruncate`` is needed.
    """
    handler: logging.Handler = (logging.handlers.WatchedFileHandler(file, encoding="utf-8")
                                if file else logging.StreamHandler(sys.stderr))
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(AddressFilter(public_addresses))
    handler.masbot = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if getattr(old, "masbot", False):  # ours: close the file; leave others' handlers be
            old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("aioimaplib", "mail.log", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # python-gnupg warns about every bad signature ("gpg returned a non-zero error code");
    # masbot logs each refusal itself, with its reason.
    logging.getLogger("gnupg").setLevel(logging.ERROR)
