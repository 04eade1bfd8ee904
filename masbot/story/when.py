"""Times with time zones: a gathering's start, a call-in window, a press embargo.

Members write ``2026-12-05 17:30 America/Los_Angeles`` or ``5 December 2026 5:30pm
Europe/Berlin``; the canonical form is always ``YYYY-MM-DD HH:MM Zone``, and a window is
``YYYY-MM-DD HH:MM–HH:MM Zone`` (or with the end's date when it ends on another day). The
zone must be an IANA name (``America/Los_Angeles``, or ``UTC``): abbreviations like ``PST``
are ambiguous and refused. "Now" is always handed in; nothing here reads a clock.

Spanish is read in every society: ``5 de diciembre de 2026 a las 17:30 h America/Mexico_City``,
``1 de diciembre de 2026 de 9:00 a 17:00 America/Bogota``, ``4 de la tarde``, ``embargado hasta
...``. What is wrong is said in the member's language, ``tr`` (English unless handed in).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from masbot import lang
from masbot.lang import Lang
from masbot.story.checks import Result, parse_date, warn

EN = lang.get()

WINDOW_DAYS = 14
"""A call-in window must lie within this many days from now."""
DASH = "–"  # the en dash of the canonical window form
# "17:30", "5pm", "5:30 p. m.", "17:30 h", "17 hrs", "4 de la tarde"
_TIME = (r"\d{1,2}(?:[:.h]\d{2})?\s*(?:[ap]\.?\s?m\.?|h(?:rs?|s|oras)?\b\.?"
         r"|de\s+la\s+(?:ma[nñ]ana|tarde|noche)|(?:in|at)\s+the\s+(?:morning|afternoon|evening))?")
_ZONE = r"[A-Za-z][A-Za-z0-9_+/-]*"
_SEP = r"(?:[\s,]+|(?-i:T))"
_MOMENT = re.compile(rf"^(?P<date>.+?){_SEP}(?:(?:at|a\s+las?|a\s+eso\s+de\s+las?)\s+)?"
                     rf"(?P<time>{_TIME})\s+(?P<zone>{_ZONE})$", re.IGNORECASE)
_SPAN = re.compile(
    rf"^(?P<date>.+?){_SEP}(?:(?:from|de|desde)\s+(?:las?\s+)?)?(?P<t1>{_TIME})\s*"
    r"(?:-|–|—|\bto\b|\buntil\b|\btill\b|\ba\b|\bhasta\b)\s*(?:las?\s+)?"
    rf"(?:(?P<date2>\d{{4}}-\d{{2}}-\d{{2}}){_SEP})?(?P<t2>{_TIME})\s+(?P<zone>{_ZONE})$",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"^(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?:(?P<ap>[ap])\.?\s?m\.?"
                    r"|h(?:rs?|s|oras)?\.?|de\s+la\s+(?P<part>ma[nñ]ana|tarde|noche)"
                    r"|(?:in|at)\s+the\s+(?P<part_en>morning|afternoon|evening))?$",
                    re.IGNORECASE)
_AFTERNOON = frozenset({"tarde", "noche", "afternoon", "evening"})
_EMBARGO = re.compile(
    r"^(?:embargo(?:ed)?|hold|(?:bajo\s+)?embargo|embargad[oa]|retener|retenid[oa]"
    r"|no\s+publicar)(?:\s+(?:until|till|to|for|hasta(?:\s+el)?|antes\s+del?))?[\s:]+(?P<when>.+)$",
    re.IGNORECASE)
_IMMEDIATE = re.compile(
    r"(?:for\s+)?immediate(?:ly)?(?:\s+release)?|now"
    r"|(?:para\s+)?(?:publicaci[oó]n\s+)?inmediat[oa](?:mente)?|de\s+inmediato|ya|ahora",
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
    """``17:30``, ``9.00``, ``5pm``, ``5:30 p.m.``, ``17:30 h``, ``4 de la tarde`` as a time
    of day, else None."""
    m = _CLOCK.match(" ".join(text.split()))
    if not m:
        return None
    hour, minute = int(m.group("h")), int(m.group("m") or 0)
    part = (m.group("part") or m.group("part_en") or "").casefold().replace("ñ", "n")
    half = m.group("ap").casefold() if m.group("ap") else ("p" if part in _AFTERNOON
                                                          else "a" if part else "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
        if part == "noche" and hour == 12:
            hour = 0  # "12 de la noche" is midnight
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _zone_problem(name: str, tr: Lang) -> str:
    return tr._("'{zone}' is not a time zone name: write a region name like "
                "America/Los_Angeles or Europe/Berlin", zone=name)


def _no_such_time(zone_name: str, tr: Lang) -> str:
    return tr._("this time does not exist in {zone} (the clocks change)", zone=zone_name)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The aware moment, or None when the clocks skip that time (a daylight saving gap)."""
    moment = datetime.combine(day, at, tzinfo=tz)
    round_trip = moment.astimezone(timezone.utc).astimezone(tz)
    return moment if round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None) else None


def shown(moment: datetime, tz_name: str) -> str:
    """``2026-12-05 17:30 America/Los_Angeles``: the canonical form of a moment."""
    return f"{moment:%Y-%m-%d %H:%M} {tz_name}"


def moment(text: str, today: date | None = None, *, tr: Lang = EN
           ) -> tuple[datetime | None, str | None]:
    """Parse a date, time and zone: the aware moment, or None and what is wrong (in ``tr``).
    With ``today``, a date without its year is placed nearest to it, and "tomorrow" or
    "mañana" are read."""
    m = _MOMENT.match(" ".join(text.split()))
    if not m:
        return None, tr._("write a date, time and time zone, like {example}",
                          example=MOMENT_EXAMPLE)
    tz = zone(m.group("zone"))
    if tz is None:
        return None, _zone_problem(m.group("zone"), tr)
    day, at = parse_date(m.group("date"), today), clock(m.group("time"))
    if day is None or at is None:
        return None, tr._("write a date, time and time zone, like {example}",
                          example=MOMENT_EXAMPLE)
    result = _local(day, at, tz)
    if result is None:
        return None, _no_such_time(m.group("zone"), tr)
    return result, None


def zone_of(moment: datetime) -> ZoneInfo:
    """The IANA zone of a moment this module made (by :func:`moment` or :func:`parse_window`)."""
    # every moment here is built by _local() with a ZoneInfo, so its tzinfo is one
    assert isinstance(moment.tzinfo, ZoneInfo), "a moment without an IANA zone"
    return moment.tzinfo


def zone_name(tz: ZoneInfo) -> str:
    """The canonical spelling of a zone's name."""
    return "UTC" if tz.key.upper() == "UTC" else tz.key


def future_moment(text: str, now: datetime, *, tr: Lang = EN) -> Result:
    """A moment that is not in the past (a warning beyond a year), in canonical form."""
    when, problem = moment(text, now.date(), tr=tr)
    if when is None:
        assert problem is not None  # moment() says what is wrong whenever it gives no moment
        return text, [problem]
    value = shown(when, zone_name(zone_of(when)))
    if when < now:
        return value, [tr._("this time is in the past")]
    if when - now > timedelta(days=366):
        return value, [warn(tr._("this date is more than a year ahead"))]
    return value, []


def end_moment(text: str, start: datetime | None, now: datetime, *, tr: Lang = EN) -> Result:
    """An end time: a full moment, or only a time of day on the start's date and zone."""
    at = clock(text)
    if at is not None and start is not None:
        end = _local(start.date(), at, zone_of(start))
        if end is None:
            return text, [_no_such_time(zone_of(start).key, tr)]
    else:
        value, problems = future_moment(text, now, tr=tr)
        if problems:
            return value, problems
        end, _ = moment(text, now.date())
        assert end is not None  # future_moment() parsed this same text without a problem
    value = shown(end, zone_name(zone_of(end)))
    if start is not None and end <= start:
        return value, [tr._("the end must be after the start")]
    return value, []


def parse_moment(canonical: str) -> datetime | None:
    """The aware moment of a canonical (or member-written) value, else None."""
    return moment(canonical)[0]


def window(text: str, now: datetime, *, tr: Lang = EN) -> Result:
    """A call-in window: start and end with one IANA zone, ending after it starts, not over
    yet, and within :data:`WINDOW_DAYS` days from ``now``."""
    span = parse_window(text, now.date(), tr=tr)
    if isinstance(span, str):
        return text, [span]
    start, end = span
    tz = zone_name(zone_of(start))
    same_day = end.date() == start.date()
    value = (f"{start:%Y-%m-%d %H:%M}{DASH}" + (f"{end:%H:%M}" if same_day
                                                 else f"{end:%Y-%m-%d %H:%M}") + f" {tz}")
    if end <= start:
        return value, [tr._("the window must end after it starts")]
    if end <= now:
        return value, [tr._("this window is already over")]
    if end - now > timedelta(days=WINDOW_DAYS):
        return value, [tr._("the window must lie within the next {days} days", days=WINDOW_DAYS)]
    return value, []


def parse_window(text: str, today: date | None = None, *, tr: Lang = EN
                 ) -> tuple[datetime, datetime] | str:
    """The start and end of a window, or what is wrong with how it is written (in ``tr``).
    With ``today``, a date without its year is placed nearest to it."""
    m = _SPAN.match(" ".join(text.split()))
    if not m:
        return tr._("write the window like {example}", example=WINDOW_EXAMPLE)
    tz = zone(m.group("zone"))
    if tz is None:
        return _zone_problem(m.group("zone"), tr)
    day = parse_date(m.group("date"), today)
    end_day = parse_date(m.group("date2"), today) if m.group("date2") else day
    t1, t2 = clock(m.group("t1")), clock(m.group("t2"))
    if day is None or end_day is None or t1 is None or t2 is None:
        return tr._("write the window like {example}", example=WINDOW_EXAMPLE)
    start, end = _local(day, t1, tz), _local(end_day, t2, tz)
    if start is None or end is None:
        return _no_such_time(m.group("zone"), tr)
    return start, end


def release(text: str, now: datetime, *, tr: Lang = EN) -> Result:
    """``immediate``, or ``embargoed until <moment>`` with a moment not in the past
    ("inmediato" and "embargado hasta ..." are read too)."""
    words = " ".join(text.split())
    if _IMMEDIATE.fullmatch(words):
        return "immediate", []
    m = _EMBARGO.match(words)
    if not m:
        return text, [tr._("write immediate, or embargoed until {example}",
                           example=MOMENT_EXAMPLE)]
    value, problems = future_moment(m.group("when"), now, tr=tr)
    return f"embargoed until {value}", problems
