"""The IMAP inbox's connection as an explicit state machine (h11 style), without I/O.

The inbox reports what happened as an :class:`Event`; :class:`Connection` moves to the state
the table names, or raises :class:`IllegalTransition` for a pair the table does not hold.
It also keeps the count of failures in a row that the reconnect backoff uses: it resets
once a session has worked (connected, selected and drained the mailbox once).

::

    DISCONNECTED --CONNECT--> CONNECTING --READY--> DRAINING --DRAINED--> WAITING
                                                        ^  \\                 |
                                       MAIL/WAKE/STORE_UP  STORE_DOWN       MAIL / WAKE
                                                        |    v               |
                                                      PAUSED <--STORE_DOWN-- +
    any connected state --LOST/FAILED--> BACKOFF --CONNECT--> CONNECTING
    any state but STOPPED --STOP--> STOPPED
"""

from __future__ import annotations

import enum


class State(str, enum.Enum):
    """Where the connection stands."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"  # connect, greeting, login, select
    DRAINING = "draining"      # searching, fetching, handling, removing
    WAITING = "waiting"        # IDLE (or the poll interval) until mail or a timer
    PAUSED = "paused"          # connected, but the store cannot write: mail stays put
    BACKOFF = "backoff"        # waiting before reconnecting
    STOPPED = "stopped"


class Event(str, enum.Enum):
    """What happened."""

    CONNECT = "connect"        # start a session
    READY = "ready"            # logged in and the mailbox is selected
    DRAINED = "drained"        # nothing left to handle for now
    MAIL = "mail"              # the server announced mail (EXISTS)
    WAKE = "wake"              # a timer: poll interval, safety-net search, a retry is due
    STORE_DOWN = "store-down"  # the store cannot write
    STORE_UP = "store-up"      # the store writes again
    LOST = "lost"              # BYE or the connection closed
    FAILED = "failed"          # an error: a refused login, NO/BAD, no answer in time
    STOP = "stop"              # the daemon stops


S, E = State, Event
_CONNECTED = (S.CONNECTING, S.DRAINING, S.WAITING, S.PAUSED)

TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.DISCONNECTED, E.CONNECT): S.CONNECTING,
    (S.BACKOFF, E.CONNECT): S.CONNECTING,
    (S.CONNECTING, E.READY): S.DRAINING,
    (S.DRAINING, E.DRAINED): S.WAITING,
    (S.DRAINING, E.MAIL): S.DRAINING,
    (S.DRAINING, E.STORE_DOWN): S.PAUSED,
    (S.WAITING, E.MAIL): S.DRAINING,
    (S.WAITING, E.WAKE): S.DRAINING,
    (S.WAITING, E.STORE_DOWN): S.PAUSED,
    (S.PAUSED, E.STORE_UP): S.DRAINING,
    (S.PAUSED, E.MAIL): S.PAUSED,
    (S.PAUSED, E.WAKE): S.PAUSED,
    (S.PAUSED, E.STORE_DOWN): S.PAUSED,
    **{(state, E.LOST): S.BACKOFF for state in _CONNECTED},
    **{(state, E.FAILED): S.BACKOFF for state in _CONNECTED},
    **{(state, E.STOP): S.STOPPED for state in State if state is not S.STOPPED},
}


class IllegalTransition(Exception):
    """An event that the current state does not allow: a bug in the inbox."""


class Connection:
    """The state of one inbox's connection, and its failures in a row."""

    def __init__(self) -> None:
        self.state = State.DISCONNECTED
        self.failures = 0  # LOST/FAILED since the last session that worked
        self.worked = False  # a session has worked: a server that goes away is likely restarting

    def handle(self, event: Event) -> State:
        """Move on ``event`` and return the new state; raise IllegalTransition if the table
        has no such move."""
        try:
            new = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransition(f"{event.value} is not possible while "
                                    f"{self.state.value}") from None
        if event in (E.LOST, E.FAILED):
            self.failures += 1
        elif event is E.DRAINED:
            self.failures = 0  # the session worked: the next outage starts the backoff afresh
            self.worked = True
        self.state = new
        return new
