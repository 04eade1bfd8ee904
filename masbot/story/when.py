"""Times with time zones: a gathering's start, a call-in window, a press embargo.

Members write ``2026-12-05 17:30 America/Los_Angeles`` or ``5 December 2026 5:30pm
Europe/Berlin``; the canonical form is always ``YYYY-MM-DD HH:MM Zone``, and a window is
``YYYY-MM-DD HH:MM–HH:MM Zone`` (or with the end's date when it ends on another day). The
zone must be an IANA name (``America/Los_Angeles``, or ``UTC``): abbreviations like ``PST``
are ambiguous and refused. "Now" is always handed in; nothing here reads a clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from masbot.story.checks import Result, parse_date, warn

WINDOW_DAYS = 14
"""A call-in window must lie within this many days from now."""
DASH = "–"  # the en dash of the canonical window form
_TIME = r"\d{1,2}(?:[:.h]\d{2})?\s*(?:[ap]\.?\s?m\.?)?"
_ZONE = r"[A-Za-z][A-Za-z0-9_+/-]*"
_SEP = r"(?:[\s,]+|(?-i:T))"
_MOMENT = re.compile(rf"^(?P<date>.+?){_SEP}(?:at\s+)?(?P<time>{_TIME})\s+(?P<zone>{_ZONE})$",
                     re.IGNORECASE)
_SPAN = re.compile(
    rf"^(?P<date>.+?){_SEP}(?:from\s+)?(?P<t1>{_TIME})\s*(?:-|–|—|to|until|till)\s*"
    rf"(?:(?P<date2>\d{{4}}-\d{{2}}-\d{{2}}){_SEP})?(?P<t2>{_TIME})\s+(?P<zone>{_ZONE})$",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"^(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?:(?P<ap>[ap])\.?\s?m\.?)?$",
                    re.IGNORECASE)
_EMBARGO = re.compile(r"^(?:embargo(?:ed)?|hold)(?:\s+(?:until|till|to|for))?[\s:]+(?P<when>.+)$",
                      re.IGNORECASE)
MOMENT_EXAMPLE = "2026-12-05 17:30 America/Los_Angeles"
WINDOW_EXAMPLE = f"2026-12-01 09:00{DASH}17:00 America/Los_Angeles"


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name`` (``Area/City`` or ``UTC``), else None."""
    if name.upper() == "UTC":
        return ZoneInfo("UTC")
    if "/" not in name or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def clock(text: str) -> time | None:
    """``17:30``, ``9.00``, ``5pm``, ``5:30 p.m.`` as a time of day, else None."""
    m = _CLOCK.match(text.strip())
    if not m:
        return None
    hour, minute = int(m.group("h")), int(m.group("m") or 0)
    if m.group("ap"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group("ap").casefold() == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _zone_problem(name: str) -> str:
    return (f"'{name}' is not a time zone name: write a region name like America/Los_Angeles "
            "or Europe/Berlin")


def _local(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The aware moment, or None when the clocks skip that time (a daylight saving gap)."""
    moment = datetime.combine(day, at, tzinfo=tz)
    round_trip = moment.astimezone(timezone.utc).astimezone(tz)
    return moment if round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None) else None


def shown(moment: datetime, tz_name: str) -> str:
    """``2026-12-05 17:30 America/Los_Angeles``: the canonical form of a moment."""
    return f"{moment:%Y-%m-%d %H:%M} {tz_name}"


def moment(text: str, today: date | None = None) -> tuple[datetime | None, str | None]:
    """Parse a date, time and zone: the aware moment, or None and what is wrong.
    With ``today``, a date without its year is placed nearest to it."""
    m = _MOMENT.match(" ".join(text.split()))
    if not m:
        return None, f"write a date, time and time zone, like {MOMENT_EXAMPLE}"
    tz = zone(m.group("zone"))
    if tz is None:
        return None, _zone_problem(m.group("zone"))
    day, at = parse_date(m.group("date"), today), clock(m.group("time"))
    if day is None or at is None:
        return None, f"write a date, time and time zone, like {MOMENT_EXAMPLE}"
    result = _local(day, at, tz)
    if result is None:
        return None, f"this time does not exist in {m.group('zone')} (the clocks change)"
    return result, None


def zone_of(moment: datetime) -> ZoneInfo:
    """The IANA zone of a moment this module made (by :func:`moment` or :func:`parse_window`)."""
    # every moment here is built by _local() with a ZoneInfo, so its tzinfo is one
    assert isinstance(moment.tzinfo, ZoneInfo), "a moment without an IANA zone"
    return moment.tzinfo


def zone_name(tz: ZoneInfo) -> str:
    """The canonical spelling of a zone's name."""
    return "UTC" if tz.key.upper() == "UTC" else tz.key


def future_moment(text: str, now: datetime) -> Result:
    """A moment that is not in the past (a warning beyond a year), in canonical form."""
    when, problem = moment(text, now.date())
    if when is None:
        assert problem is not None  # moment() says what is wrong whenever it gives no moment
        return text, [problem]
    value = shown(when, zone_name(zone_of(when)))
    if when < now:
        return value, ["this time is in the past"]
    if when - now > timedelta(days=366):
        return value, [warn("this date is more than a year ahead")]
    return value, []


def end_moment(text: str, start: datetime | None, now: datetime) -> Result:
    """An end time: a full moment, or only a time of day on the start's date and zone."""
    at = clock(text)
    if at is not None and start is not None:
        end = _local(start.date(), at, zone_of(start))
        if end is None:
            return text, [f"this time does not exist in {zone_of(start).key} (the clocks change)"]
    else:
        value, problems = future_moment(text, now)
        if problems:
            return value, problems
        end, _ = moment(text, now.date())
        assert end is not None  # future_moment() parsed this same text without a problem
    value = shown(end, zone_name(zone_of(end)))
    if start is not None and end <= start:
        return value, ["the end must be after the start"]
    return value, []


def parse_moment(canonical: str) -> datetime | None:
    """The aware moment of a canonical (or member-written) value, else None."""
    return moment(canonical)[0]


def window(text: str, now: datetime) -> Result:
    """A call-in window: start and end with one IANA zone, ending after it starts, not over
    yet, and within :data:`WINDOW_DAYS` days from ``now``."""
    span = parse_window(text, now.date())
    if isinstance(span, str):
        return text, [span]
    start, end = span
    tz = zone_name(zone_of(start))
    same_day = end.date() == start.date()
    value = (f"{start:%Y-%m-%d %H:%M}{DASH}" + (f"{end:%H:%M}" if same_day
                                                 else f"{end:%Y-%m-%d %H:%M}") + f" {tz}")
    if end <= start:
        return value, ["the window must end after it starts"]
    if end <= now:
        return value, ["this window is already over"]
    if end - now > timedelta(days=WINDOW_DAYS):
        return value, [f"the window must lie within the next {WINDOW_DAYS} days"]
    return value, []


def parse_window(text: str, today: date | None = None) -> tuple[datetime, datetime] | str:
    """The start and end of a window, or what is wrong with how it is written.
    With ``today``, a date without its year is placed nearest to it."""
    m = _SPAN.match(" ".join(text.split()))
    if not m:
        return f"write the window like {WINDOW_EXAMPLE}"
    tz = zone(m.group("zone"))
    if tz is None:
        return _zone_problem(m.group("zone"))
    day = parse_date(m.group("date"), today)
    end_day = parse_date(m.group("date2"), today) if m.group("date2") else day
    t1, t2 = clock(m.group("t1")), clock(m.group("t2"))
    if day is None or end_day is None or t1 is None or t2 is None:
        return f"write the window like {WINDOW_EXAMPLE}"
    start, end = _local(day, t1, tz), _local(end_day, t2, tz)
    if start is None or end is None:
        return f"this time does not exist in {m.group('zone')} (the clocks change)"
    return start, end


def release(text: str, now: datetime) -> Result:
    """``immediate``, or ``embargoed until <moment>`` with a moment not in the past."""
    words = " ".join(text.split())
    if re.fullmatch(r"(?:for\s+)?immediate(?:ly)?(?:\s+release)?|now", words, re.IGNORECASE):
        return "immediate", []
    m = _EMBARGO.match(words)
    if not m:
        return text, [f"write immediate, or embargoed until {MOMENT_EXAMPLE}"]
    value, problems = future_moment(m.group("when"), now)
    return f"embargoed until {value}", problems
