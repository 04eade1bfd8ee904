"""The IMAP connection's state table and what the inbox reads from the wire: plain data."""

from __future__ import annotations

import asyncio

import pytest

from masbot.backoff import jittered
from masbot.intake.imapstate import TRANSITIONS, Connection, Event, IllegalTransition, State
from masbot.intake.imapwire import Link, WatchedProtocol
from masbot.intake.inbox import not_the_message
from masbot.store import StoreWriteError

E, S = Event, State


def run(*events: Event) -> Connection:
    conn = Connection()
    for event in events:
        conn.handle(event)
    return conn


def test_a_session_that_works_goes_to_waiting_and_back_to_draining_on_mail() -> None:
    conn = Connection()
    assert conn.state is S.DISCONNECTED
    assert conn.handle(E.CONNECT) is S.CONNECTING
    assert conn.handle(E.READY) is S.DRAINING
    assert conn.handle(E.DRAINED) is S.WAITING
    assert conn.handle(E.MAIL) is S.DRAINING
    assert conn.handle(E.DRAINED) is S.WAITING
    assert conn.handle(E.WAKE) is S.DRAINING


def test_failures_count_up_until_a_session_works_then_start_afresh() -> None:
    conn = run(E.CONNECT, E.FAILED, E.CONNECT, E.LOST, E.CONNECT, E.READY, E.LOST)
    assert conn.state is S.BACKOFF and conn.failures == 3
    conn.handle(E.CONNECT)
    conn.handle(E.READY)
    conn.handle(E.DRAINED)  # this session worked
    assert conn.failures == 0
    conn.handle(E.LOST)
    assert conn.state is S.BACKOFF and conn.failures == 1  # not 4: the backoff starts again


def test_worked_is_set_by_the_first_session_that_drained() -> None:
    conn = run(E.CONNECT, E.READY, E.FAILED, E.CONNECT, E.FAILED)
    assert not conn.worked  # e.g. a refused login: back off from the first try
    conn = run(E.CONNECT, E.READY, E.DRAINED, E.LOST, E.CONNECT, E.FAILED)
    assert conn.worked and conn.failures == 2


def test_the_store_going_down_pauses_until_it_comes_back() -> None:
    conn = run(E.CONNECT, E.READY, E.STORE_DOWN)
    assert conn.state is S.PAUSED
    assert conn.handle(E.MAIL) is S.PAUSED  # announced mail waits for the store
    assert conn.handle(E.WAKE) is S.PAUSED
    assert conn.handle(E.STORE_UP) is S.DRAINING
    conn = run(E.CONNECT, E.READY, E.DRAINED, E.STORE_DOWN)
    assert conn.state is S.PAUSED
    assert conn.handle(E.LOST) is S.BACKOFF


@pytest.mark.parametrize("state", list(State))
def test_stop_ends_everything_but_stopped(state: State) -> None:
    conn = Connection()
    conn.state = state
    if state is S.STOPPED:
        with pytest.raises(IllegalTransition):
            conn.handle(E.STOP)
    else:
        assert conn.handle(E.STOP) is S.STOPPED


def test_illegal_transitions_raise_and_leave_the_state_alone() -> None:
    conn = Connection()
    with pytest.raises(IllegalTransition, match="ready is not possible while disconnected"):
        conn.handle(E.READY)
    assert conn.state is S.DISCONNECTED
    conn = run(E.CONNECT, E.READY, E.DRAINED)
    with pytest.raises(IllegalTransition):
        conn.handle(E.STORE_UP)  # only a paused connection waits for the store
    with pytest.raises(IllegalTransition):
        conn.handle(E.CONNECT)
    assert conn.state is S.WAITING


def test_every_connected_state_can_be_lost() -> None:
    for state in (S.CONNECTING, S.DRAINING, S.WAITING, S.PAUSED):
        assert TRANSITIONS[(state, E.LOST)] is S.BACKOFF
        assert TRANSITIONS[(state, E.FAILED)] is S.BACKOFF
    assert (S.BACKOFF, E.LOST) not in TRANSITIONS


async def test_exists_inside_a_command_answer_and_bye_are_seen() -> None:
    """aioimaplib drops an EXISTS that comes inside the answer to a command it does not
    expect untagged data for; the inbox's protocol sees it first."""
    link = Link()
    protocol = WatchedProtocol(asyncio.get_running_loop(), link)
    protocol.state = "SELECTED"
    protocol.data_received(b"* SEARCH\r\n")
    assert not link.arrived.is_set()
    protocol.data_received(b"* 3 EXISTS\r\n* 1 RECENT\r\n")
    assert link.arrived.is_set() and link.announced == 1
    assert not link.lost.is_set()
    protocol.data_received(b"* BYE Server shutting down.\r\n")
    assert link.lost.is_set() and "Server shutting down." in link.reason


async def test_a_closed_connection_is_seen() -> None:
    link = Link()
    protocol = WatchedProtocol(asyncio.get_running_loop(), link)
    protocol.connection_lost(ConnectionResetError("reset by peer"))
    assert link.lost.is_set() and "reset by peer" in link.reason


def test_system_faults_are_not_the_message_s_fault() -> None:
    assert not_the_message(StoreWriteError("disk full"))
    assert not_the_message(OSError(28, "No space left on device"))
    try:
        try:
            raise OSError(5, "Input/output error")
        except OSError as exc:
            raise RuntimeError("signing failed") from exc
    except RuntimeError as wrapped:
        assert not_the_message(wrapped)
    assert not not_the_message(ValueError("bad form"))
    assert not not_the_message(OSError(2, "No such file"))


def test_one_jittered_backoff() -> None:
    import random
    rng = random.Random(1)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (10, 300.0), (30, 300.0)):
        delay = jittered(attempt, 1.0, 300.0, rng)
        assert ceiling / 2 <= delay <= ceiling
