"""Validate a parsed form against its story template.

``validate(form, catalogue, today)`` returns every error and warning at once, each tied to
the line the member wrote, and the cleaned public values the appeal is built from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from masbot import checks, privacy
from masbot.forms import Catalogue, FieldSpec, Template
from masbot.story import Form

Value = str | tuple[str, ...]
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # linear: starts at a run
_PHONE = re.compile(r"(?:\+?\d[\s().-]?){7,}")
MAX_ITEMS = 30
"""The most items a list field may have: an appeal must stay readable."""
SYSTEM_KEYS = ("Appeal-ID", "Revision", "Society", "Issued", "Expires", "Status", "Updates-To")
"""Fields only the society writes into an appeal; a member's section line must not start
with one, or the published text could seem to say something the society did not."""
_SYSTEM_LINE = re.compile(r"^[ \t]*(" + "|".join(k.replace("-", "[-_ ]?") for k in SYSTEM_KEYS)
                          + r")[ \t]*:", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Issue:
    """One problem with a form, pinned to a line when there is one."""

    message: str
    line: int | None = None
    field: str | None = None
    severity: str = "error"  # "error" blocks publication, "warning" does not

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{self.message}"


@dataclass
class Validation:
    """The outcome of validating a form."""

    template: Template | None
    values: dict[str, Value] = field(default_factory=dict)  # cleaned, public, in template order
    private: str = ""  # the Private section, for moderators only
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks publication."""
        return not any(i.severity == "error" for i in self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


def _required(spec: FieldSpec, champion: bool) -> bool:
    return spec.required is True or (spec.required == "champion" and champion)


def _check_value(spec: FieldSpec, entry, today: date, catalogue: Catalogue) -> tuple[Value, list[str]]:
    text = entry.value.strip()
    if spec.kind in ("text", "choice", "amount", "date-or-asap", "location", "language", "tags"):
        text = " ".join(text.split())  # a section-opened one-line field joins its lines
    if spec.kind == "choice":
        allowed = spec.values or tuple(catalogue.names())
        if text.casefold() not in allowed:
            return text, [f"'{text}' is not one of: {', '.join(allowed)}"]
        return text.casefold(), []
    if spec.kind == "amount":
        return checks.amount(text)
    if spec.kind == "date-or-asap":
        return checks.date_or_asap(text, today)
    if spec.kind == "links":
        values_out, problems = checks.links(checks.split_links(entry.items or entry.value.split("\n")))
        return tuple(values_out), problems
    if spec.kind == "language":
        return checks.language(text)
    if spec.kind == "tags":
        values_out, problems = checks.tags(text)
        return tuple(values_out), problems
    if spec.kind == "list":
        items = entry.items or [t.strip() for t in entry.value.split("\n") if t.strip()]
        if not items and entry.value.strip():
            items = [entry.value.strip()]
        problems = [] if items else ["list at least one item, one \"- \" line each"]
        too_long = [i for i in items if len(i) > 300]
        if too_long:
            problems.append("keep each item under 300 characters")
        if len(items) > MAX_ITEMS:
            problems.append(f"list at most {MAX_ITEMS} items ({len(items)} given)")
        return tuple(items), problems
    problems = []
    if spec.kind == "location":
        problems += checks.location(text)
    if spec.kind == "section" and spec.min_words and len(text.split()) < spec.min_words:
        problems.append(f"write at least {spec.min_words} words ({len(text.split())} so far)")
    if spec.max and len(text) > spec.max:
        problems.append(f"at most {spec.max} characters ({len(text)} given)")
    return text, problems


def validate(form: Form, catalogue: Catalogue, today: date) -> Validation:
    """Check ``form`` against its template; collect every issue, never raise."""
    issues: list[Issue] = [
        Issue(n.message, n.line, None, n.severity) for n in form.notes
    ]
    name = form.template_name
    template = catalogue.template(name) if name else None
    if template is None:
        where = form.entries.get("Template")
        issues.append(Issue(
            (f"'{name}' is not a template; " if name else "name the template: ")
            + f"write Template: followed by one of {', '.join(catalogue.names())}",
            where.line if where else None, "Template",
        ))
        return Validation(None, {}, "", issues)

    result = Validation(template)
    failed: set[str] = set()  # fields whose value is wrong: no cross-checks on them
    champion = form.value("Filed-By").casefold() == "champion"
    for spec in template.fields:
        entry = form.entries.get(spec.name)
        if spec.name == "Template":
            result.values["Template"] = template.name
            continue
        if entry is None or not entry.value.strip():
            if _required(spec, champion):
                need = " (you are filing as a champion)" if spec.required == "champion" else ""
                issues.append(Issue(f"this field is required{need}: {spec.help}",
                                    entry.line if entry else None, spec.name))
            continue
        if spec.private:
            result.private = entry.value
            continue
        value, problems = _check_value(spec, entry, today, catalogue)
        for p in problems:
            severity = "warning" if "more than a year ahead" in p else "error"
            issues.append(Issue(p, entry.line, spec.name, severity))
            if severity == "error":
                failed.add(spec.name)
        result.values[spec.name] = value

    for name_ in form.entries:
        if template.field(name_) is None:
            issues.append(Issue(f"the {template.name} template has no such field; it is ignored",
                                form.entries[name_].line, name_, "warning"))

    issues.extend(_cross_checks(form, template, result.values, champion, failed))
    result.issues = issues
    return result


def _line_of(form: Form, name: str, fragment: str) -> int | None:
    """The line of field ``name`` that holds ``fragment`` (its key line when unsure)."""
    entry = form.entries.get(name)
    if entry is None:
        return None
    numbers = range(entry.line, max(entry.line, entry.end_line) + 1)
    words = fragment.split()
    for needle in (fragment, words[0] if words else fragment):
        for number in numbers:
            if number <= len(form.lines) and needle in form.lines[number - 1]:
                return number
    return entry.line


def _cross_checks(form: Form, template: Template, values: dict[str, Value], champion: bool,
                  failed: set[str]) -> list[Issue]:
    """Checks across fields, the "everywhere" link check and the privacy lint."""
    issues: list[Issue] = []
    line = lambda n: form.entries[n].line if n in form.entries else None  # noqa: E731
    consent = "direct" if not champion else str(values.get("Consent", ""))
    for spec in template.fields:
        if spec.consent and spec.name in values and consent != spec.consent:
            issues.append(Issue(f"only published with Consent: {spec.consent} "
                                "(the person approved this exact text); remove it or get consent",
                                line(spec.name), spec.name))
    alias = str(values.get("Name-To-Publish", ""))
    if alias and checks.looks_like_full_name(alias):
        if consent == "pending":
            issues.append(Issue("with Consent: pending publish an alias or initials only",
                                line("Name-To-Publish"), "Name-To-Publish"))
        elif consent != "direct":
            issues.append(Issue("this looks like a full name; without Consent: direct use a "
                                "first name, alias or initials", line("Name-To-Publish"),
                                "Name-To-Publish", "warning"))
    contact = str(values.get("Contact", ""))
    if contact and (_EMAIL.search(contact) or _PHONE.search(contact)) \
            and str(values.get("Contact-Public", "no")) != "yes":
        issues.append(Issue("a personal phone or email is only published with Contact-Public: yes; "
                            "leave Contact empty to use the society's address",
                            line("Contact"), "Contact"))
    goal, raised = values.get("Goal"), values.get("Raised")
    if isinstance(goal, str) and isinstance(raised, str) and not {"Goal", "Raised"} & failed \
            and goal.split()[-1] != raised.split()[-1]:
        issues.append(Issue("give Raised in the same currency as Goal", line("Raised"), "Raised"))

    texts = [(k, v if isinstance(v, str) else "\n".join(v)) for k, v in values.items()]
    for field_name, text in texts:
        spec = template.field(field_name)
        if spec is not None and spec.kind == "links":
            continue  # checked link by link already
        for fragment, message in checks.unsafe_links(text):
            issues.append(Issue(message, _line_of(form, field_name, fragment), field_name))
    for field_name, text in texts:
        spec = template.field(field_name)
        if spec is None or spec.kind != "section":
            continue
        for m in _SYSTEM_LINE.finditer(text):
            issues.append(Issue(f"a line starting '{m.group(1)}:' would look like part of what "
                                "the society adds to the appeal; reword it",
                                _line_of(form, field_name, m.group(0).strip()), field_name))
    seen: set[tuple[str, int | None, str]] = set()
    for field_name, message, fragment in privacy.lint(template.checks, texts):
        where = (field_name, _line_of(form, field_name, fragment), message)
        if where not in seen:  # one mark per line is enough
            seen.add(where)
            issues.append(Issue(message, where[1], field_name))
    return issues
