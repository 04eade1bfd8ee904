"""A small table-driven checker for YAML files, used by :mod:`masbot.config.settings`.

A schema is a tree of *kinds*: :class:`Section` (a mapping with a table of :class:`Field` s),
:class:`ListOf`, and scalars (:class:`Str`, :class:`Int`, :class:`Float`, :class:`Bool`,
:class:`Choice`, :class:`PathKind`, :class:`Forbidden`). Each kind converts one
``yaml.compose()`` node into a Python value, or reports a :class:`Problem` carrying the line of
the offending key or value and returns :data:`INVALID`. The walk never stops at the first
problem, so one run reports everything wrong with a file.

Locations in messages are dotted paths; list items are numbered from 1 (``rules[2].match``),
the way an operator counts them.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "INVALID", "Problem", "Context", "Where", "Found", "Kind", "Field", "Section", "ListOf",
    "Str", "Int", "Float", "Bool", "Choice", "PathKind", "Forbidden", "matching", "describe",
    "compose_file", "line_of",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, printed as ``FILE:LINE: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class _Invalid:
    """Marker for a value that failed its check (the problem is already reported)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()

_TAG = "tag:yaml.org,2002:"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMES = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
          "timestamp": "a date", "binary": "binary data"}


def line_of(node: Node) -> int:
    """The 1-based line on which ``node`` starts."""
    return node.start_mark.line + 1


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _TAG + "null"


def _is(node: Node, *types: str) -> bool:
    return isinstance(node, ScalarNode) and node.tag in {_TAG + t for t in types}


def describe(node: Node) -> str:
    """What a node is, for 'found ...' in messages: ``a string ('nine')``, ``a list``."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if is_null(node):
        return "nothing (null)"
    name = _NAMES.get(node.tag.removeprefix(_TAG), f"a value tagged {node.tag}")
    text = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"{name} ({text!r})"


def _scalar(node: Node) -> Any:
    """The Python value of a resolved YAML scalar (int, float, bool)."""
    return SafeConstructor().construct_object(node, deep=True)


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class Context:
    """State of one check: where problems go, how paths and environment are resolved."""

    file: str                 # the file name as the user gave it, used in every Problem
    source: Path              # absolute path of the file; relative paths resolve from its directory
    environ: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)
    refs: list[Any] = field(default_factory=list)   # cross-references, for the caller's checks

    def report(self, line: int, message: str) -> Any:
        """Record a problem and return INVALID, so callers can ``return ctx.report(...)``."""
        self.problems.append(Problem(self.file, line, message))
        return INVALID

    def resolve(self, value: str) -> Path:
        path = Path(value).expanduser()
        return Path(os.path.normpath(self.source.parent / path))


@dataclass(frozen=True)
class Where:
    """The location of the value being checked: its dotted path and the line that introduced it."""

    path: str
    line: int
    index: int | None = None   # 1-based position when the value is a list item

    def child(self, key: str, line: int) -> Where:
        return Where(f"{self.path}.{key}" if self.path else key, line)

    def item(self, index: int, line: int) -> Where:
        return Where(f"{self.path}[{index}]", line, index)

    def prefix(self) -> str:
        return f"{self.path}: " if self.path else ""


class Kind(Protocol):
    """Something that converts a YAML node, reporting problems into the context."""

    @property
    def expected(self) -> str:
        """What the value should be, for 'expected ...' in messages."""
        ...

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        """The converted value, or INVALID after reporting the problem."""
        ...


def _wrong_type(node: Node, ctx: Context, where: Where, expected: str, hint: str = "") -> Any:
    return ctx.report(line_of(node), f"{where.prefix()}expected {expected}, found {describe(node)}{hint}")


def matching(pattern: str, what: str) -> Callable[[str], str]:
    """A check for :class:`Str`: the whole value must match ``pattern``, else "'v' is not WHAT"."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value
    return check


@dataclass(frozen=True)
class Str:
    """A string; ``check`` may normalise it or raise ValueError with the message to report.

    ``digits_ok``: an unquoted number counts as its text (for fingerprints that are all digits).
    """

    expected: str = "a string"
    check: Callable[[str], str] | None = None
    allow_empty: bool = False
    digits_ok: bool = False

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not (_is(node, "str") or self.digits_ok and _is(node, "int", "float")):
            hint = "; put it in quotes" if isinstance(node, ScalarNode) and not is_null(node) else ""
            return _wrong_type(node, ctx, where, self.expected, hint)
        value = node.value
        if not value.strip() and not self.allow_empty:
            return ctx.report(line_of(node), f"{where.prefix()}must not be empty")
        if _CONTROL.search(value):
            return ctx.report(line_of(node), f"{where.prefix()}{value!r} contains a control character")
        if self.check is not None:
            try:
                value = self.check(value)
            except ValueError as err:
                return ctx.report(line_of(node), f"{where.prefix()}{err}")
        return value


@dataclass(frozen=True)
class Int:
    """An integer (a YAML boolean is not one) between ``low`` and ``high`` inclusive."""

    low: int | None = None
    high: int | None = None
    expected: str = "an integer"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not _is(node, "int"):
            return _wrong_type(node, ctx, where, self.expected)
        return _in_range(_scalar(node), self.low, self.high, node, ctx, where)


@dataclass(frozen=True)
class Float:
    """A finite number (integer or float, not boolean), above ``above``, at most ``high``."""

    above: float | None = 0
    high: float | None = None
    expected: str = "a number"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not _is(node, "int", "float"):
            return _wrong_type(node, ctx, where, self.expected)
        value = float(_scalar(node))
        if not math.isfinite(value):
            return ctx.report(line_of(node), f"{where.prefix()}must be a finite number")
        if self.above is not None and value <= self.above:
            return ctx.report(line_of(node), f"{where.prefix()}must be greater than {self.above:g}")
        return _in_range(value, None, self.high, node, ctx, where)


def _in_range(value: Any, low: Any, high: Any, node: Node, ctx: Context, where: Where) -> Any:
    if (low is not None and value < low) or (high is not None and value > high):
        span = (f"between {low} and {high}" if low is not None and high is not None
                else f"at least {low}" if low is not None else f"at most {high}")
        return ctx.report(line_of(node), f"{where.prefix()}{node.value} is out of range: must be {span}")
    return value


@dataclass(frozen=True)
class Bool:
    """A real YAML boolean (true/false), not a string or a number."""

    expected: str = "a boolean (true or false)"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not _is(node, "bool"):
            return _wrong_type(node, ctx, where, self.expected)
        return bool(_scalar(node))


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    values: tuple[str, ...]

    @property
    def expected(self) -> str:
        return "one of: " + ", ".join(self.values)

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if _is(node, "str") and node.value in self.values:
            return node.value
        if not _is(node, "str"):
            return _wrong_type(node, ctx, where, self.expected)
        return ctx.report(line_of(node), f"{where.prefix()}{node.value!r} is not one of: "
                          f"{', '.join(self.values)}{_suggest(node.value, self.values)}")


@dataclass(frozen=True)
class PathKind:
    """A file system path, resolved against the checked file's directory.

    ``must``: ``"dir"`` an existing readable directory; ``"file"`` an existing readable file;
    ``"new-dir"`` / ``"new-file"`` need not exist, but their parent directory must, and if they
    do exist they must be of the right sort.
    """

    must: str
    expected: str = "a path"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        text = Str(self.expected).convert(node, ctx, where)
        if text is INVALID:
            return INVALID
        path = ctx.resolve(text)
        error = _path_problem(path, self.must)
        if error:
            return ctx.report(line_of(node), f"{where.prefix()}{error}")
        return path


def _path_problem(path: Path, must: str) -> str | None:
    try:
        if must == "dir":
            if not path.exists():
                return f"directory {path} does not exist"
            if not path.is_dir():
                return f"{path} is not a directory"
            if not os.access(path, os.R_OK | os.X_OK):
                return f"directory {path} is not readable"
        elif must == "file":
            if path.is_dir():
                return f"{path} is a directory, not a file"
            with open(path, "rb"):
                pass
        else:
            wanted_dir = must == "new-dir"
            if path.exists() and path.is_dir() != wanted_dir:
                return f"{path} is {'not ' if wanted_dir else ''}a directory"
            if not path.parent.is_dir():
                return f"parent directory {path.parent} does not exist"
    except OSError as err:
        return f"cannot read {'directory' if must == 'dir' else 'file'} {path}: {err.strerror or err}"
    except ValueError as err:   # e.g. a NUL byte in the path
        return f"{str(path)!r} is not a usable path: {err}"
    return None


@dataclass(frozen=True)
class Forbidden:
    """A key that must never be given; any value reports ``message``."""

    message: str
    expected: str = "nothing"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        return ctx.report(where.line, f"{where.prefix()}{self.message}")


@dataclass(frozen=True)
class ListOf:
    """A list of ``item`` s, converted to a tuple. ``single_ok``: a lone scalar counts as a list of one."""

    item: Kind
    single_ok: bool = False
    non_empty: bool = False

    @property
    def expected(self) -> str:
        return f"a list of {self.item.expected}" + (" (or just one)" if self.single_ok else "")

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if isinstance(node, SequenceNode):
            items = [self.item.convert(n, ctx, where.item(i, line_of(n)))
                     for i, n in enumerate(node.value, 1)]
        elif self.single_ok and isinstance(node, ScalarNode):
            items = [self.item.convert(node, ctx, where)]
        else:
            return _wrong_type(node, ctx, where, self.expected)
        if self.non_empty and not items:
            return ctx.report(line_of(node), f"{where.prefix()}must list at least one")
        return INVALID if any(i is INVALID for i in items) else tuple(items)


@dataclass(frozen=True)
class Field:
    """One key of a :class:`Section`: its kind, its default, and whether it must be given."""

    name: str
    kind: Kind
    default: Any = None
    required: bool = False


@dataclass
class Found:
    """The converted keys of one mapping, handed to a section's checks and ``make``."""

    where: Where
    ctx: Context
    values: dict[str, Any]
    lines: dict[str, int]          # line of each key that was given
    failed: bool = False

    def given(self, name: str) -> bool:
        return name in self.lines

    def ok(self, *names: str) -> bool:
        """True when none of these values failed its own check."""
        return all(self.values.get(n) is not INVALID for n in names)

    def report(self, message: str, key: str | None = None, at: str | None = None) -> None:
        """Report a problem about ``key`` (or the whole section) on the line of ``at`` or ``key``."""
        line = self.lines.get(at or key or "", self.lines.get(key or "", self.where.line))
        path = self.where.child(key, line) if key else self.where
        self.ctx.report(line, f"{path.prefix()}{message}")
        self.failed = True


@dataclass(frozen=True)
class Section:
    """A mapping with a fixed table of fields.

    Unknown and duplicate keys are reported; null values count as not given. After each key is
    converted, ``checks`` run (cross-field rules; they may rewrite ``found.values``), then
    ``make(found)`` builds the result when nothing failed.
    """

    fields: tuple[Field, ...]
    make: Callable[[Found], Any]
    checks: tuple[Callable[[Found], None], ...] = ()
    expected: str = "a mapping (key: value lines)"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not isinstance(node, MappingNode):
            return _wrong_type(node, ctx, where, self.expected)
        table = {f.name: f for f in self.fields}
        found = Found(where, ctx, {}, {})
        for key_node, value_node in _pairs(node, ctx, where, frozenset()):
            key_line = line_of(key_node)
            if not _is(key_node, "str"):
                found.failed = True
                ctx.report(key_line, f"{where.prefix()}keys must be strings, found {describe(key_node)}")
                continue
            key = key_node.value
            if key in found.lines:
                found.failed = True
                ctx.report(key_line, f"duplicate key {key!r} {self._in(where)} "
                                     f"(first on line {found.lines[key]})")
                continue
            found.lines[key] = key_line
            if key not in table:
                found.failed = True
                hint = _suggest(key, table) or f" (known keys: {', '.join(table)})"
                ctx.report(key_line, f"unknown key {key!r} {self._in(where)}{hint}")
                continue
            if not is_null(value_node):
                found.values[key] = table[key].kind.convert(value_node, ctx, where.child(key, key_line))
        for f in self.fields:
            if f.name in found.values:
                continue
            if f.required:
                found.report(f"no value given for '{f.name}'" if f.name in found.lines
                             else f"missing required key '{f.name}'", at=f.name)
                found.values[f.name] = INVALID
            else:
                found.values[f.name] = f.default
        for check in self.checks:
            check(found)
        if found.failed or any(v is INVALID for v in found.values.values()):
            return INVALID
        return self.make(found)

    @staticmethod
    def _in(where: Where) -> str:
        return f"in {where.path}" if where.path else "at the top level"

    def keys(self, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        """Every key path this section knows, depth first (list items add no path element)."""
        for f in self.fields:
            yield prefix + (f.name,)
            kind = f.kind.item if isinstance(f.kind, ListOf) else f.kind
            if isinstance(kind, Section):
                yield from kind.keys(prefix + (f.name,))


def _pairs(node: MappingNode, ctx: Context, where: Where, seen: frozenset[int]) -> list[Any]:
    """The key/value pairs of a mapping with ``<<: *anchor`` merge keys resolved (given keys win)."""
    given, merged = [], []
    for key, value in node.value:
        if not _is(key, "merge"):
            given.append((key, value))
            continue
        for source in value.value if isinstance(value, SequenceNode) else [value]:
            if not isinstance(source, MappingNode):
                ctx.report(line_of(key), f"{where.prefix()}'<<' must merge a mapping, found "
                                         f"{describe(source)}")
                continue
            if id(source) in seen | {id(node)}:
                ctx.report(line_of(key), f"{where.prefix()}'<<' merges a mapping into itself")
                continue
            merged += _pairs(source, ctx, where, seen | {id(node)})
    names = {k.value for k, _ in given if isinstance(k, ScalarNode)}
    for key, value in merged:
        if not (isinstance(key, ScalarNode) and key.value in names):
            names.add(key.value if isinstance(key, ScalarNode) else id(key))
            given.append((key, value))
    return given


def yaml_in_words(err: yaml.MarkedYAMLError) -> str:
    """What a YAML syntax error means, in the operator's words rather than the parser's."""
    context, problem = err.context or "", err.problem or ""
    opened = err.context_mark.line + 1 if err.context_mark else None
    if "cannot start any token" in problem and "\\t" in problem:
        return "a tab character; indent with spaces, never tabs"
    if "flow sequence" in context:
        return f"a [ list opened on line {opened} is not closed with ]"
    if "flow mapping" in context:
        return f"a {{ mapping opened on line {opened} is not closed with }}"
    if "quoted scalar" in context:
        return f"the quoted value that starts on line {opened} is never closed"
    if "mapping values are not allowed" in problem:
        return ("a ': ' where no key can start: indent this key like those above it, or quote "
                "a value that holds ': ' (key: \"a: b\")")
    if "single document" in context:
        return "a second document (---): the configuration must be one document"
    if "block mapping" in context:
        return ("this line is indented differently from the keys above it "
                f"(the block starting on line {opened})")
    if "block collection" in context:
        return (f"this line does not fit the list that starts on line {opened}: its items "
                "start with '- ' at the same indentation")
    if "simple key" in context:
        return "a line that is neither 'key: value' nor a '- ' list item (a ':' is missing?)"
    if "undefined alias" in problem:
        return f"an alias ({problem.rsplit(' ', 1)[-1]}) names no &anchor defined above it"
    detail = "; ".join(p for p in (context, problem) if p)
    return detail.replace("<block end>", "the end of the block").replace(
        "<block mapping start>", "a new key")


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose_text(text: str) -> Node | None:
    """The root node of the YAML ``text``, through libyaml when PyYAML has it (the template
    files and field files are read at every start, ten times faster so). Text that libyaml
    refuses is composed again by PyYAML's own parser, so the error raised is the one
    :func:`yaml_in_words` explains."""
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.compose(text, Loader=yaml.SafeLoader)


def load_text(text: str) -> object:
    """``yaml.safe_load(text)``, through libyaml when PyYAML has it (see
    :func:`compose_text`)."""
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def compose_file(ctx: Context) -> Node | None:
    """Read and compose ``ctx.source``; report read, encoding and YAML syntax problems.

    Returns the root node, or None (with a problem reported) when there is nothing to check.
    """
    try:
        data = ctx.source.read_bytes()
    except (OSError, ValueError) as err:
        ctx.report(0, f"cannot read the configuration file: {getattr(err, 'strerror', None) or err}")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        ctx.report(data[:err.start].count(b"\n") + 1,
                   f"not UTF-8 text: byte 0x{data[err.start]:02x} cannot be decoded")
        return None
    try:
        root = compose_text(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        ctx.report(mark.line + 1 if mark else 1, f"invalid YAML: {yaml_in_words(err)}")
        return None
    except yaml.reader.ReaderError as err:
        char = chr(err.character) if isinstance(err.character, int) else err.character
        ctx.report(text[:err.position].count("\n") + 1,
                   f"invalid YAML: character {char!r} is not allowed")
        return None
    except yaml.YAMLError as err:
        ctx.report(1, f"invalid YAML: {err}")
        return None
    except RecursionError:
        ctx.report(1, "invalid YAML: nested too deeply")
        return None
    if root is None or is_null(root):
        ctx.report(1, "the configuration file is empty")
        return None
    return root
