"""Shared pytest fixtures: real servers and tools on loopback (see ``tests/harness``).

Fixtures:

* ``dovecot`` -- a started :class:`harness.dovecot.Dovecot` with the user
  ``society``/``societypw`` (plain IMAP + IMAPS), removed after the test.
* ``dovecot_factory`` -- ``dovecot_factory(users=..., tls=..., idle=...)`` starts more
  instances (e.g. ``idle=False``); all are removed after the test.
* ``smtp_sink`` -- factory: ``smtp_sink(**kwargs)`` returns a started
  :class:`harness.smtp_sink.SmtpSink`; all are stopped after the test.
* ``gpg_home`` -- factory: ``gpg_home()`` returns a :class:`harness.openpgp.GpgHome`;
  agents are killed and homes removed after the test.

Missing system tools make tests FAIL (never skip), naming the Debian package.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Make ``import harness`` work however pytest computes rootdir/sys.path.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from harness.dovecot import DEBIAN_PACKAGES, DOVECOT_BINARY, Dovecot  # noqa: E402
from harness.openpgp import GpgHome  # noqa: E402
from harness.smtp_sink import SmtpSink  # noqa: E402

SOCIETY_USER = "society"
SOCIETY_PASSWORD = "societypw"


def _require_dovecot() -> None:
    if not os.path.exists(DOVECOT_BINARY):
        pytest.fail(
            f"{DOVECOT_BINARY} is missing: the IMAP tests need a real Dovecot. "
            f"Install the Debian package: apt-get install -y {DEBIAN_PACKAGES}",
            pytrace=False,
        )


@pytest.fixture
def dovecot_factory() -> Iterator[Callable[..., Dovecot]]:
    """Start Dovecot instances on demand; every one is killed and removed at teardown."""
    _require_dovecot()
    started: list[Dovecot] = []

    def make(users: dict[str, str] | None = None, **kwargs: Any) -> Dovecot:
        server = Dovecot(users or {SOCIETY_USER: SOCIETY_PASSWORD}, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.close()


@pytest.fixture
def dovecot(dovecot_factory: Callable[..., Dovecot]) -> Dovecot:
    """A running Dovecot with user ``society``/``societypw``, IMAP + IMAPS (:attr:`cafile`)."""
    return dovecot_factory({SOCIETY_USER: SOCIETY_PASSWORD})


@pytest.fixture
def smtp_sink() -> Iterator[Callable[..., SmtpSink]]:
    """Factory for started :class:`SmtpSink` instances, all stopped at teardown."""
    sinks: list[SmtpSink] = []

    def make(**kwargs: Any) -> SmtpSink:
        sink = SmtpSink(**kwargs)
        sinks.append(sink)
        return sink.start()

    yield make
    for sink in sinks:
        sink.stop()


@pytest.fixture
def gpg_home() -> Iterator[Callable[[], GpgHome]]:
    """Factory for throwaway GnuPG homes; agents killed and dirs removed at teardown."""
    homes: list[GpgHome] = []

    def make() -> GpgHome:
        home = GpgHome()
        homes.append(home)
        return home

    yield make
    for home in homes:
        home.close()
