"""masbot's YAML configuration: typed, frozen dataclasses and a checker that reports everything.

:func:`check_config` walks the file with the field tables below (see :mod:`masbot.config.schema`) and
returns one :class:`Problem` per mistake, each printed as ``FILE:LINE: what is wrong``, never
raising on any input. :func:`load_config` returns a :class:`Config` or raises
:class:`ConfigError` carrying the same problems. Relative paths are resolved against the
directory of the configuration file. Secrets are never read from the file itself: a
:class:`Secret` names a file or an environment variable and is read when needed.

``config.example.yaml`` at the top of the repository documents every key.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from yaml.nodes import MappingNode

from masbot.addresses import is_address
from masbot.intake.message import Limits as MessageLimits
from masbot.appeal import MAX_IMAGES
from masbot.signing import fingerprints
from masbot.relay.partners import (Action, Direction, Partner, RelayAction, Rule, RuleMatch,
                                   RuleTable)
from masbot.config.schema import (
    INVALID, Bool, Choice, Context, Field, Float, Forbidden, Found, Int, ListOf, PathKind,
    Problem, Section, Str, Where, compose_file, describe, line_of, matching,
)

__all__ = [
    "Problem", "ConfigError", "Secret", "Config", "SocietyConfig", "ImapConfig", "ListenerConfig",
    "SmtpConfig", "Partner", "RuleMatch", "Action", "Rule", "LogConfig", "Limits", "Delivery", "Attachments", "ModeratorKey",
    "check_config", "load_config", "is_address", "is_loopback",
    "CONFIG_SCHEMA", "RESERVED_NAMES",
]


class ConfigError(Exception):
    """The configuration has problems; ``problems`` lists them all, ``str()`` one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Secret:
    """Where a secret lives: a file or an environment variable, never the config itself."""

    file: Path | None = None
    env: str | None = None

    def read(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret: the file's contents without trailing newlines, or the variable's value.

        Raises OSError when the file cannot be read, KeyError when the variable is not set.
        """
        if self.file is not None:
            return self.file.read_text(encoding="utf-8").rstrip("\r\n")
        if self.env is None:
            raise ValueError("a Secret needs a file or an environment variable")
        return (os.environ if environ is None else environ)[self.env]


@dataclass(frozen=True, kw_only=True)
class SocietyConfig:
    name: str
    id: str
    address: str
    language: str = "en"
    gnupghome: Path
    key: str | None = None
    passphrase_file: Path | None = None
    appeal_days: int = 30
    contact: str | None = None  # a human address: the posts' Reply-To


@dataclass(frozen=True, kw_only=True)
class PublishConfig:
    """Where the public site is written and the address readers reach it at."""

    dir: Path | None = None  # default: <data_dir>/public
    base_url: str | None = None  # https://…/ ; without it, pages link relatively


@dataclass(frozen=True, kw_only=True)
class ImapConfig:
    host: str
    port: int
    tls: str = "implicit"
    cafile: Path | None = None
    username: str
    password: Secret
    mailbox: str = "INBOX"
    after: str = "delete"
    move_to: str | None = None
    quarantine: str = "masbot-quarantine"  # folder for messages that failed 3 times
    idle: bool = True
    poll_seconds: float = 60.0
    idle_seconds: float = 540.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    timeout: float = 30.0


@dataclass(frozen=True, kw_only=True)
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int
    lmtp: bool = False


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "starttls"
    cafile: Path | None = None
    username: str | None = None
    password: Secret | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class LogConfig:
    level: str = "info"
    format: str = "text"
    file: Path | None = None


@dataclass(frozen=True)
class Limits(MessageLimits):
    """The intake's limits on one message, and the rate limits."""

    per_sender_per_hour: int = 20
    answers_per_minute: int = 60


@dataclass(frozen=True)
class ModeratorKey:
    """A moderator's pinned key: only commands signed by it are obeyed."""

    fingerprint: str
    key_file: Path


@dataclass(frozen=True)
class Attachments:
    """What happens to attachments of a request: dropped (the default), or for images,
    re-encoded from their pixels alone (no EXIF, GPS, XMP, comments) and published."""

    images: str = "drop"  # "drop" or "keep"
    max_images: int = 4
    max_megapixels: int = 40
    max_total_kb: int = 600

    @property
    def max_pixels(self) -> int:
        """``max_megapixels`` in pixels."""
        return self.max_megapixels * 1_000_000

    @property
    def max_total_bytes(self) -> int:
        """``max_total_kb`` in bytes."""
        return self.max_total_kb * 1000


@dataclass(frozen=True)
class Delivery:
    """How the outbox retries temporary failures."""

    retry_first_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    max_age_hours: float = 120.0


@dataclass(frozen=True)
class Config:
    path: Path
    society: SocietyConfig
    imap: ImapConfig | None
    listener: ListenerConfig | None
    smtp: SmtpConfig
    local_list: str
    moderators: tuple[str, ...]
    partners: tuple[Partner, ...]
    rules: tuple[Rule, ...]
    default: Action
    data_dir: Path
    log: LogConfig
    templates_dir: Path | None
    limits: Limits
    delivery: Delivery = Delivery()
    moderator_keys: tuple[ModeratorKey, ...] = ()
    attachments: Attachments = Attachments()
    publish: PublishConfig = PublishConfig()

    @property
    def publish_dir(self) -> Path:
        """Where the public site is written: ``publish.dir``, else ``<data_dir>/public``."""
        return self.publish.dir if self.publish.dir is not None else self.data_dir / "public"

    @property
    def routing(self) -> RuleTable:
        """The relay's view of this config: lists, partners, rules and the default."""
        return RuleTable(self.local_list, self.moderators, self.partners, self.rules,
                         self.default)

    def partner(self, name: str) -> Partner | None:
        """The partner called ``name``, or None."""
        return self.routing.partner(name)

    def destinations(self, names: Iterable[str]) -> tuple[str, ...]:
        """See :meth:`RuleTable.destinations`."""
        return self.routing.destinations(names)


# --- value checks shared with other modules -------------------------------------------------

RESERVED_NAMES = frozenset({"local", "partners", "moderators"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"{value!r} is not a valid address (expected a plain local@domain)")
    return value


def _partner_name(value: str) -> str:
    if value in RESERVED_NAMES:
        raise ValueError(f"{value!r} is reserved and cannot name a partner")
    return matching(r"[a-z0-9][a-z0-9-]{0,39}", "a partner name (lower-case letters, digits "
                    "and hyphens, at most 40, not starting with a hyphen)")(value)


TEXT = Str()
ADDRESS = Str("an address (local@domain)", _address)
FINGERPRINT = Str("a fingerprint", fingerprints.parse, digits_ok=True)
PORT = Int(1, 65535)
SECONDS = Float(above=0)
READABLE_FILE = PathKind("file")
INLINE_PASSWORD = Forbidden("passwords are never written in the config: "
                            "use password_file or password_env")


@dataclass(frozen=True)
class _EnvVar:
    """The name of an environment variable that must be set when the config is checked."""

    expected: str = "an environment variable name"

    def convert(self, node: Any, ctx: Context, where: Where) -> Any:
        check = matching(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name")
        name = Str(self.expected, check).convert(node, ctx, where)
        if name is not INVALID and name not in ctx.environ:
            return ctx.report(line_of(node), f"{where.prefix()}environment variable {name} is not set")
        return name


class _Name(NamedTuple):
    """A partner name defined or used somewhere, noted in ``Context.refs`` for _cross_checks."""

    role: str                  # "partner" (a definition), "target" or "origin" (uses)
    name: str
    line: int
    path: str
    direction: str = ""        # for a definition


@dataclass(frozen=True)
class _Ref:
    """A name that refers to a partner (or a built-in target); checked once all partners are known."""

    role: str                  # "target" or "origin"
    expected: str = "a name"

    def convert(self, node: Any, ctx: Context, where: Where) -> Any:
        name = TEXT.convert(node, ctx, where)
        if name is not INVALID:
            ctx.refs.append(_Name(self.role, name, line_of(node), where.path))
        return name


def _of(cls: type) -> Any:
    return lambda found: cls(**found.values)


# --- cross-field checks -------------------------------------------------------------------------

def _secret(found: Found, required: bool) -> None:
    """Fold password_file / password_env into one ``password`` Secret."""
    file, env = found.values.pop("password_file"), found.values.pop("password_env")
    if found.values["password"] is INVALID:       # an inline password, already reported
        return
    if file is INVALID or env is INVALID:
        found.values["password"] = INVALID
    elif file is not None and env is not None:
        found.report("give either password_file or password_env, not both", at="password_env")
    elif file is not None or env is not None:
        found.values["password"] = Secret(file=file, env=env)
    elif required:
        found.report("missing required key 'password_file' (or 'password_env')")


def _imap_checks(found: Found) -> None:
    v = found.values
    if found.ok("tls"):
        if v["port"] is None:
            v["port"] = 993 if v["tls"] == "implicit" else 143
        if v["tls"] == "none" and found.ok("host") and not is_loopback(v["host"]):
            found.report(f"none is only allowed for a loopback host (localhost, 127.0.0.0/8, ::1),"
                         f" not {v['host']!r}", key="tls")
    if v["after"] == "move" and v["move_to"] is None:
        found.report("missing required key 'move_to' (needed when after is move)", at="after")
    if v["after"] == "delete" and found.given("move_to"):
        found.report("is only used when after is move", key="move_to")
    if found.ok("backoff_initial", "backoff_max") and v["backoff_max"] < v["backoff_initial"]:
        found.report("must not be smaller than backoff_initial", key="backoff_max")
    _secret(found, required=True)


def _smtp_checks(found: Found) -> None:
    v = found.values
    if found.ok("security") and v["port"] is None:
        v["port"] = {"starttls": 587, "implicit": 465, "none": 25}[v["security"]]
    has_password = found.given("password_file") or found.given("password_env")
    if v["username"] is None and has_password:
        found.report("a password is given but no username", at="password_file" if found.given(
            "password_file") else "password_env")
    _secret(found, required=v["username"] is not None)
    if (has_password and found.ok("security", "host") and v["security"] == "none"
            and not is_loopback(v["host"])):
        found.report("none would send the password in clear to a non-loopback host; "
                     "use starttls or implicit", key="security")


def _action_checks(found: Found) -> None:
    v = found.values
    if not found.ok("action", "to"):
        return
    if v["action"] == "relay" and not v["to"]:
        found.report("missing required key 'to' (relay needs at least one target)", at="action")
    elif v["action"] != "relay" and v["to"]:
        found.report(f"is only used with action relay, not {v['action']}", key="to")


def _partner_checks(found: Found) -> None:
    v = found.values
    one, many = v.pop("address"), v.pop("addresses")
    if found.given("address") and found.given("addresses"):
        found.report("give either address or addresses, not both", at="addresses")
    elif one is INVALID or many is INVALID:
        v["addresses"] = INVALID
    elif one is None and many is None:
        found.report("missing required key 'addresses' (or 'address')")
    else:
        v["addresses"] = (one,) if one is not None else many
    if found.ok("name"):
        direction = v["direction"] if found.ok("direction") else "both"
        found.ctx.refs.append(_Name("partner", v["name"], found.lines["name"],
                                    f"{found.where.path}.name", direction))


def _make_rule(found: Found) -> Rule:
    v = found.values
    return Rule(name=v["name"] or f"rule {found.where.index}", match=v["match"],
                action=Action(RelayAction(v["action"]), v["to"]), line=found.where.line)


def _cross_checks(found: Found) -> None:
    """Partner names are unique; rules and the default name only known targets and origins."""
    partners: dict[str, _Name] = {}
    problems: list[tuple[_Name, str]] = []
    for ref in found.ctx.refs:
        if ref.role == "partner" and ref.name in partners:
            problems.append((ref, f"duplicate partner name {ref.name!r} (first defined on line "
                                  f"{partners[ref.name].line})"))
        elif ref.role == "partner":
            partners[ref.name] = ref
    known = ", ".join(partners) or "none are defined"
    for ref in found.ctx.refs:
        defined = partners.get(ref.name)
        if ref.role == "target" and ref.name not in ("local", "partners"):
            if defined is None:
                problems.append((ref, f"unknown target {ref.name!r} (expected local, partners or "
                                      f"a partner name; partners: {known})"))
            elif defined.direction == "receive":
                problems.append((ref, f"partner {ref.name!r} has direction receive: nothing is "
                                      "ever sent to it"))
        elif ref.role == "origin" and ref.name not in ("local", "partner", "any"):
            if defined is None:
                problems.append((ref, f"unknown partner {ref.name!r} (expected local, partner, "
                                      f"any or a partner name; partners: {known})"))
            elif defined.direction == "send":
                problems.append((ref, f"partner {ref.name!r} has direction send: no post is "
                                      "accepted from it"))
    for ref, message in problems:
        found.ctx.report(ref.line, f"{ref.path}: {message}")
        found.failed = True


# --- the schema ---------------------------------------------------------------------------------

SOCIETY = Section((
    Field("name", TEXT, required=True),
    Field("id", Str("a society id", matching(r"[A-Z0-9]{2,16}", "a society id (2 to 16 upper-case "
                                            "letters or digits, e.g. ANYTOWN)")), required=True),
    Field("address", ADDRESS, required=True),
    Field("language", Str("a language tag", matching(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*",
                                                     "a language tag such as en or pt-BR")), "en"),
    Field("gnupghome", PathKind("dir"), required=True),
    Field("key", FINGERPRINT),
    Field("passphrase_file", READABLE_FILE),
    Field("appeal_days", Int(1, 365), 30),
    Field("contact", ADDRESS),
), _of(SocietyConfig))

PUBLISH = Section((
    Field("dir", PathKind("new-dir")),
    Field("base_url", Str("an https URL", matching(
        r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~!$&()*+,;=:@%/-]*)?",
        "an https URL such as https://aid.example/appeals/"))),
), _of(PublishConfig))

IMAP = Section((
    Field("host", TEXT, required=True),
    Field("port", PORT),
    Field("tls", Choice(("implicit", "none")), "implicit"),
    Field("cafile", READABLE_FILE),
    Field("username", TEXT, required=True),
    Field("password_file", READABLE_FILE),
    Field("password_env", _EnvVar()),
    Field("password", INLINE_PASSWORD),
    Field("mailbox", TEXT, "INBOX"),
    Field("after", Choice(("delete", "move")), "delete"),
    Field("move_to", TEXT),
    Field("quarantine", TEXT, "masbot-quarantine"),
    Field("idle", Bool(), True),
    Field("poll_seconds", SECONDS, 60.0),
    Field("idle_seconds", Float(above=0, high=1740), 540.0),
    Field("backoff_initial", SECONDS, 1.0),
    Field("backoff_max", SECONDS, 300.0),
    Field("timeout", SECONDS, 30.0),
), _of(ImapConfig), (_imap_checks,))

LISTENER = Section((
    Field("host", TEXT, "127.0.0.1"),
    Field("port", PORT, required=True),
    Field("lmtp", Bool(), False),
), _of(ListenerConfig))

SMTP = Section((
    Field("host", TEXT, required=True),
    Field("port", PORT),
    Field("security", Choice(("starttls", "implicit", "none")), "starttls"),
    Field("cafile", READABLE_FILE),
    Field("username", TEXT),
    Field("password_file", READABLE_FILE),
    Field("password_env", _EnvVar()),
    Field("password", INLINE_PASSWORD),
    Field("timeout", SECONDS, 30.0),
), _of(SmtpConfig), (_smtp_checks,))

PARTNER = Section((
    Field("name", Str("a partner name", _partner_name), required=True),
    Field("addresses", ListOf(ADDRESS, non_empty=True)),
    Field("address", ADDRESS),
    Field("fingerprint", FINGERPRINT, required=True),
    Field("direction", Choice(("send", "receive", "both")), "both"),
    Field("key_file", READABLE_FILE),
), lambda found: Partner(**{**found.values, "direction": Direction(found.values["direction"])}),
   (_partner_checks,))

WORDS = ListOf(TEXT, single_ok=True)
TARGETS = ListOf(_Ref("target"), single_ok=True)
MATCH = Section((
    Field("origin", _Ref("origin")),
    Field("template", WORDS),
    Field("tags", WORDS),
    Field("language", WORDS),
    Field("location", WORDS),
    Field("kind", Choice(("new", "update"))),
), _of(RuleMatch))

RULE = Section((
    Field("name", TEXT),
    Field("match", MATCH, RuleMatch()),
    Field("action", Choice(("relay", "hold", "drop")), required=True),
    Field("to", TARGETS, ()),
), _make_rule, (_action_checks,))

DEFAULT_ACTION = Action(RelayAction.RELAY, ("local", "partners"))
ACTION = Section((
    Field("action", Choice(("relay", "hold", "drop")), required=True),
    Field("to", TARGETS, ()),
), lambda found: Action(RelayAction(found.values["action"]), found.values["to"]),
   (_action_checks,))

LOG = Section((
    Field("level", Choice(("debug", "info", "warning", "error")), "info"),
    Field("format", Choice(("text", "json")), "text"),
    Field("file", PathKind("new-file")),
), _of(LogConfig))

LIMITS = Section((
    Field("max_message_bytes", Int(1024, 2**31), 1_000_000),
    Field("max_mime_parts", Int(1, 10_000), 50),
    Field("max_mime_depth", Int(1, 100), 10),
    Field("per_sender_per_hour", Int(1, 100_000), 20),
    Field("answers_per_minute", Int(1, 100_000), 60),
), _of(Limits))

MODERATOR_KEY = Section((
    Field("fingerprint", FINGERPRINT, required=True),
    Field("key_file", READABLE_FILE, required=True),
), _of(ModeratorKey))

DELIVERY = Section((
    Field("retry_first_seconds", SECONDS, 30.0),
    Field("retry_max_seconds", SECONDS, 3600.0),
    Field("max_age_hours", Float(above=0, high=24 * 365), 120.0),
), _of(Delivery))

ATTACHMENTS = Section((
    Field("images", Choice(("drop", "keep")), "drop"),
    Field("max_images", Int(1, MAX_IMAGES), 4),
    Field("max_megapixels", Int(1, 89), 40),  # Pillow refuses more as a decompression bomb
    Field("max_total_kb", Int(10, 10_000), 600),
), _of(Attachments))

CONFIG_SCHEMA = Section((
    Field("society", SOCIETY, required=True),
    Field("data_dir", PathKind("new-dir"), required=True),
    Field("imap", IMAP),
    Field("listener", LISTENER),
    Field("smtp", SMTP, required=True),
    Field("local_list", ADDRESS, required=True),
    Field("moderators", ListOf(ADDRESS), ()),
    Field("partners", ListOf(PARTNER), ()),
    Field("rules", ListOf(RULE), ()),
    Field("default", ACTION, DEFAULT_ACTION),
    Field("log", LOG, LogConfig()),
    Field("templates_dir", PathKind("dir")),
    Field("limits", LIMITS, Limits()),
    Field("delivery", DELIVERY, Delivery()),
    Field("moderator_keys", ListOf(MODERATOR_KEY), ()),
    Field("attachments", ATTACHMENTS, Attachments()),
    Field("publish", PUBLISH, PublishConfig()),
), lambda found: Config(path=found.ctx.source, **found.values), (_cross_checks,))


# --- entry points -------------------------------------------------------------------------------

def _check(path: str | os.PathLike[str], environ: Mapping[str, str] | None) -> tuple[Any, Context]:
    ctx = Context(file=os.fspath(path), source=Path(os.path.abspath(path)),
                  environ=os.environ if environ is None else environ)
    root = compose_file(ctx)
    if root is None:
        return INVALID, ctx
    if not isinstance(root, MappingNode):
        return ctx.report(line_of(root), "the configuration must be a mapping of keys "
                          f"(society:, smtp:, ...), found {describe(root)}"), ctx
    try:
        config = CONFIG_SCHEMA.convert(root, ctx, Where("", line_of(root)))
    except RecursionError:
        config = ctx.report(1, "the configuration is nested too deeply")
    except Exception as err:   # a checker bug must still not become a traceback
        config = ctx.report(1, f"internal error while checking the configuration: {err!r}")
    if config is INVALID and not ctx.problems:     # cannot happen; never claim validity
        ctx.report(1, "the configuration is not valid")
    return config, ctx


def check_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem with the configuration at ``path``, in file order; [] when it is valid.

    Never raises: unreadable files, YAML syntax errors and wrong shapes are problems too.
    ``environ`` (default ``os.environ``) is where ``password_env`` variables must be set.
    """
    _, ctx = _check(path, environ)
    return sorted(ctx.problems, key=lambda p: p.line)


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """The configuration at ``path`` as a :class:`Config`.

    Raises :class:`ConfigError` listing every problem whenever :func:`check_config` would
    report any.
    """
    config, ctx = _check(path, environ)
    if ctx.problems:
        raise ConfigError(sorted(ctx.problems, key=lambda p: p.line))
    assert isinstance(config, Config)
    return config
