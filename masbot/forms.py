"""Story templates as data: the field specs of ``masbot/templates/*.yaml``.

A template is a named set of field specs (common fields, the money block when the template
takes money, and its own fields) plus the names of the content checks it runs. This module
only loads and describes templates; parsing is in :mod:`masbot.story` and checking in
:mod:`masbot.validate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Iterable

import yaml

KINDS = frozenset(
    {"text", "choice", "amount", "date-or-asap", "links", "section", "list", "location",
     "language", "tags"}
)
SECTION_KINDS = frozenset({"section", "list", "links"})
"""Kinds that may open a free-text section when the key stands alone on its line."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a story form."""

    name: str
    kind: str
    required: bool | str = False  # True, False or "champion"
    max: int | None = None
    min_words: int | None = None
    values: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    help: str = ""
    consent: str | None = None  # the Consent value this field needs
    private: bool = False


@dataclass(frozen=True)
class Template:
    """A story template: its name, its ordered fields and the checks it runs."""

    name: str
    title: str
    money: bool
    fields: tuple[FieldSpec, ...]
    checks: tuple[str, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        """The spec of field ``name`` (canonical spelling), or None."""
        return next((f for f in self.fields if f.name == name), None)


def normalise_key(key: str) -> str:
    """The comparison form of a key: case-folded, with ``-``, ``_`` and spaces the same."""
    return re.sub(r"[-_ ]+", "-", key.strip().casefold())


def _field_specs(data: dict) -> list[FieldSpec]:
    specs = []
    for name, raw in data.items():
        raw = dict(raw or {})
        specs.append(
            FieldSpec(
                name=name,
                kind=raw.get("kind", "text"),
                required=raw.get("required", False),
                max=raw.get("max"),
                min_words=raw.get("min-words"),
                values=tuple(str(v) for v in raw.get("values", ())),
                synonyms=tuple(raw.get("synonyms", ())),
                help=raw.get("help", ""),
                consent=raw.get("consent"),
                private=bool(raw.get("private", False)),
            )
        )
    return specs


def _read_yaml(name: str) -> dict:
    text = resources.files("masbot.templates").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class Catalogue:
    """All templates known to a society, and the key spellings members may use."""

    templates: dict[str, Template]
    keys: dict[str, str] = field(default_factory=dict)  # normalised spelling -> canonical name

    def template(self, name: str) -> Template | None:
        """The template called ``name`` (any case), or None."""
        return self.templates.get(name.strip().casefold())

    def canonical_key(self, key: str) -> str | None:
        """The canonical field name for a key as a member typed it, or None when unknown."""
        return self.keys.get(normalise_key(key))

    def takes_section(self, name: str) -> bool:
        """True when field ``name`` (canonical) is a section, list or links field somewhere.

        Such a field keeps collecting lines after a value on its key line.
        """
        return any(spec.kind in SECTION_KINDS
                   for tpl in self.templates.values() if (spec := tpl.field(name)) is not None)

    def names(self) -> list[str]:
        """Template names in a stable order."""
        return sorted(self.templates)


def _build(template_docs: Iterable[dict]) -> Catalogue:
    common = _read_yaml("common.yaml")
    common_fields = _field_specs(common["common"])
    money_fields = _field_specs(common["money"])
    templates: dict[str, Template] = {}
    keys: dict[str, str] = {}
    for doc in template_docs:
        own = _field_specs(doc.get("fields") or {})
        fields = common_fields + own + (money_fields if doc.get("money") else [])
        tpl = Template(
            name=doc["name"],
            title=doc.get("title", doc["name"]),
            money=bool(doc.get("money")),
            fields=tuple(fields),
            checks=tuple(doc.get("checks", ())),
        )
        templates[tpl.name] = tpl
    for tpl in templates.values():
        for spec in tpl.fields:
            for spelling in (spec.name, *spec.synonyms):
                keys[normalise_key(spelling)] = spec.name
    return Catalogue(templates=templates, keys=keys)


def _builtin_docs() -> dict[str, dict]:
    docs = {}
    for entry in sorted(resources.files("masbot.templates").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml") and entry.name != "common.yaml":
            doc = yaml.safe_load(entry.read_text(encoding="utf-8"))
            docs[doc["name"]] = doc
    return docs


@cache
def builtin() -> Catalogue:
    """The templates shipped with masbot."""
    return _build(_builtin_docs().values())


def load(directory: Path | None = None) -> Catalogue:
    """The built-in templates, overridden or extended by ``*.yaml`` files in ``directory``."""
    if directory is None:
        return builtin()
    docs = _builtin_docs()
    for path in sorted(Path(directory).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        docs[doc["name"]] = doc
    return _build(docs.values())


def blank_form(tpl: Template) -> str:
    """A blank form for ``tpl``: the keys to fill in, then notes after a signature line.

    Everything after the ``-- `` line is ignored when the form is mailed back, so a member
    can reply with the whole text.
    """
    form = [f"Template: {tpl.name}"]
    notes = ["-- ", f"How to fill in the {tpl.name} form ({tpl.title}):"]
    for spec in tpl.fields:
        if spec.name == "Template" or spec.private:
            continue
        form.append(f"{spec.name}:" + ("\n- " if spec.kind == "list" else ""))
        need = {True: "required", "champion": "required for champions"}.get(spec.required, "optional")
        notes.append(f"  {spec.name} ({need}): {spec.help}".rstrip())
    notes.append("  Private (optional): a section for the moderators only, never published")
    return "\n".join(form + [""] + notes) + "\n"
