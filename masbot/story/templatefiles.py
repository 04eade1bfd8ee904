"""Reading and checking story template files (``masbot/templates/*.yaml`` and an
operator's directory): the schema of a template file, checked with :mod:`masbot.config.schema` so
every mistake is reported as ``FILE:LINE: message``.

:func:`read` returns a template file as a dict (``fields`` maps each field name to its raw
spec, in file order) or :data:`~masbot.config.schema.INVALID`; :mod:`masbot.story.templates` builds the
templates from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from masbot.appeal import SYSTEM_KEYS
from masbot.story import privacy
from masbot.config.schema import (INVALID, Bool, Choice, Context, Field, Found, Int, ListOf, Problem,
                           Section, Str, Where, compose_file, describe, is_null, line_of, matching)

KINDS = frozenset(
    {"text", "choice", "amount", "date-or-asap", "date", "datetime", "window", "release",
     "links", "link", "section", "list", "location", "public-place", "public-target", "phone",
     "email", "language", "tags", "appeal-id", "key"}
)
SECTION_KINDS = frozenset({"section", "list", "links"})
"""Kinds that may open a free-text section when the key stands alone on its line."""
ITEM_RULES = frozenset({"quantity", "public-place"})
"""Rules a ``list`` field may apply to each item (``item:`` in a field spec)."""
CONSENTS = ("direct", "prior", "lawyer", "pending")
FIELD_NAME = r"[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+){0,4}"
UPDATE_NEEDS = ("Refers-To", "Update-Key", "Status")
"""Fields the ``update`` message must have: the service reads them."""


@dataclass(frozen=True)
class _BoolOr:
    """A YAML boolean, or one word (``champion`` for ``required``, ``optional`` for ``money``)."""

    word: str

    @property
    def expected(self) -> str:
        return f"true, false or {self.word}"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
            return Bool().convert(node, ctx, where)
        return Choice((self.word,)).convert(node, ctx, where)


@dataclass(frozen=True)
class _RequiredIf:
    """``{Status: [closed]}``: the field is required when another field has one of these
    values (``"*"``: when it is given at all)."""

    expected: str = "a mapping of field names to lists of values"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not isinstance(node, MappingNode):
            return ctx.report(line_of(node), f"{where.prefix()}expected {self.expected}, "
                                             f"found {describe(node)}")
        out = []
        for key, value in node.value:
            name = Str(check=matching(FIELD_NAME, "a field name")).convert(key, ctx, where)
            values = ListOf(Str(digits_ok=True), single_ok=True, non_empty=True).convert(
                value, ctx, where.child(str(key.value), line_of(key)))
            if INVALID in (name, values):
                return INVALID
            out.append((name, values))
        return tuple(out)


def _field_values(found: Found) -> dict:
    return found.values


def _check_field(found: Found) -> None:
    kind = found.values.get("kind") or "text"
    if kind == "choice" and not found.values.get("values") and found.where.path != "Template":
        found.report("a choice field needs 'values', the words members may write")
    if found.values.get("item") and kind != "list":
        found.report("'item' is only for list fields", key="item")


_FIELD = Section(
    fields=(
        Field("kind", Choice(tuple(sorted(KINDS))), default="text"),
        Field("required", _BoolOr("champion"), default=False),
        Field("required-if", _RequiredIf(), default=()),
        Field("max", Int(1, 100_000)),
        Field("min-words", Int(1, 10_000)),
        Field("max-words", Int(1, 10_000)),
        Field("values", ListOf(Str(digits_ok=True), non_empty=True), default=()),
        Field("synonyms", ListOf(Str(check=matching(FIELD_NAME, "a key spelling"))), default=()),
        Field("help", Str(allow_empty=True), default=""),
        Field("label", Str(), default=""),
        Field("consent", Choice(CONSENTS)),
        Field("private", Bool(), default=False),
        Field("region", Str(check=matching(r"[A-Z]{2}", "a two-letter region code like US"))),
        Field("item", Choice(tuple(sorted(ITEM_RULES)))),
        Field("names-ok", Bool(), default=False),
        Field("example", Str(allow_empty=True, digits_ok=True), default=""),
    ),
    make=_field_values,
    checks=(_check_field,),
)


@dataclass(frozen=True)
class _Fields:
    """The ``fields`` mapping: field name -> field spec, in form order."""

    expected: str = "a mapping of field names to field specs"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not isinstance(node, MappingNode):
            return ctx.report(line_of(node), f"{where.prefix()}expected {self.expected}, "
                                             f"found {describe(node)}")
        specs: dict[str, dict] = {}
        lines: dict[str, int] = {}
        ok = True
        for key, value in node.value:
            name = Str(check=matching(FIELD_NAME, "a field name like Held-At")).convert(
                key, ctx, where)
            if name is INVALID:
                ok = False
                continue
            if name in lines:
                ctx.report(line_of(key), f"duplicate field '{name}' (first on line {lines[name]})")
                ok = False
                continue
            lines[name] = line_of(key)
            raw = {} if is_null(value) else _FIELD.convert(value, ctx, Where(name, line_of(key)))
            if raw is INVALID:
                ok = False
                continue
            specs[name] = raw
        return specs if ok else INVALID


def _check_rule(found: Found) -> None:
    unless = found.values.get("unless")
    if unless and len(unless) != 1:
        found.report("give one field and value, like {Medical-Details-OK: \"yes\"}", key="unless")


_RULE = Section(
    fields=(
        Field("why", Str()),
        *(Field(c, Choice(privacy.LEVELS)) for c in privacy.CONSENT_CLASSES),
        Field("unless", _RequiredIf()),
    ),
    make=_field_values,
    checks=(_check_rule,),
)


@dataclass(frozen=True)
class _Text:
    """A block of text over several lines (``example: |``): tabs and line feeds allowed,
    no other control character."""

    expected: str = "a block of text"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not (isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:str"):
            return ctx.report(line_of(node), f"{where.prefix()}expected {self.expected}, "
                                             f"found {describe(node)}")
        if any(ch < " " and ch not in "\n\t" or ch == "\x7f" for ch in node.value):
            return ctx.report(line_of(node), f"{where.prefix()}contains a control character")
        return node.value


@dataclass(frozen=True)
class _Privacy:
    """The ``privacy`` mapping: rule name -> what happens under each consent, and why."""

    expected: str = "a mapping of privacy rules (full-names, police-claims, ...)"

    def convert(self, node: Node, ctx: Context, where: Where) -> Any:
        if not isinstance(node, MappingNode):
            return ctx.report(line_of(node), f"{where.prefix()}expected {self.expected}, "
                                             f"found {describe(node)}")
        rules: dict[str, dict] = {}
        ok = True
        for key, value in node.value:
            name = Choice(privacy.RULE_NAMES).convert(key, ctx, where)
            if name is INVALID:
                ok = False
                continue
            if is_null(value):
                ctx.report(line_of(key), f"privacy.{name}: give the levels and why")
                ok = False
                continue
            raw = _RULE.convert(value, ctx, Where(f"privacy.{name}", line_of(key)))
            if raw is INVALID:
                ok = False
                continue
            rules[name] = raw
        return rules if ok else INVALID




def _check_template(found: Found) -> None:
    specs: dict[str, dict] = found.values.get("fields") or {}
    name = found.values.get("name")
    # The update message's Status is the member's word for the new status, not the field.
    reserved = {k.lower() for k in SYSTEM_KEYS if not (name == "update" and k == "Status")}
    taken = [n for n in specs if n.lower() in reserved] if isinstance(specs, dict) else []
    if taken:
        found.report(f"{', '.join(taken)} is written by the society itself and cannot be a "
                     "template field", key="fields")
    if found.values.get("common") is False and name != "update":
        found.report("only the update message may leave out the common fields", key="common")
    if name == "update":
        missing = [n for n in UPDATE_NEEDS if n not in specs]
        if missing:
            found.report(f"the update template needs the fields {', '.join(missing)}",
                         key="fields" if "fields" in found.lines else "name")


TEMPLATE = Section(
    fields=(
        Field("name", Str(check=matching(r"[a-z][a-z0-9-]{0,30}",
                                         "a template name (lower case letters, digits and -)")),
              required=True),
        Field("title", Str(), default=""),
        Field("money", _BoolOr("optional"), default=False),
        Field("common", Bool(), default=True),
        Field("fields", _Fields(), default={}),
        Field("checks", ListOf(Choice(tuple(sorted(privacy.KNOWN_CHECKS)))), default=()),
        Field("privacy", _Privacy(), default={}),
        Field("example", _Text(), default=""),
    ),
    make=_field_values,
    checks=(_check_template,),
)
COMMON = Section(fields=(Field("common", _Fields(), required=True),
                          Field("money", _Fields(), required=True),
                          Field("privacy", _Privacy(), required=True)), make=_field_values)


def read(path: Path, shown: str, schema: Section, problems: list[Problem]) -> Any:
    ctx = Context(file=shown, source=path, environ=os.environ)
    root = compose_file(ctx)
    value = INVALID if root is None else schema.convert(root, ctx, Where("", 1))
    problems.extend(Problem(p.file, p.line, p.message.replace("configuration file", "template file"))
                    for p in ctx.problems)
    return value


# --- building the catalogue ------------------------------------------------------------------
