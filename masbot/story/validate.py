"""Validate a parsed form against its story template.

``validate(form, catalogue, today, now, tr=...)`` returns every error and warning at once,
each tied to the line the member wrote, and the cleaned public values the appeal is built
from. The field kinds (``kind:`` in the template YAML) are checked by the functions in
:data:`KIND_CHECKS`; checks across fields and the privacy lint follow
(:mod:`masbot.story.privacy`).

Every note is a catalog sentence in the member's language ``tr``, with the field names,
choice values and template names as that language writes them; the values themselves are
read in every language masbot speaks (a Spanish "lo antes posible" or "representante" in
any society).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import date, datetime, time, timezone
from typing import Callable, Iterable

from babel.lists import format_list

from masbot import lang
from masbot.lang import Lang
from masbot.lang.words import Words
from masbot.story import checks
from masbot.story import names
from masbot.story import privacy
from masbot.story import when
from masbot.story.localwords import fold
from masbot.appeal import SYSTEM_KEYS, Value
from masbot.story.templates import Catalogue, FieldSpec, Template
from masbot.story.form import Entry, Form
from masbot.addresses import ADDRESS_IN_TEXT

_PHONE = re.compile(r"(?:\+?\d[\s().-]?){7,}")
# "reply to this email", "reply if you can drive", "write back", "responda a este correo".
_ASKS_FOR_REPLIES = re.compile(
    r"\b(?:reply|replies|respond|write back|e-?mail back|message back|answer this)\b"
    r"(?:\s+(?:to|at|on|in|here|below|if|with|and)\b(?:\s+\w+){0,3})?"
    r"|\b(?:responde|respondan?|responder|resp[oó]nd(?:a|an|e)nos|resp[oó]nd(?:a|an)me|contesta"
    r"|contesten?|contestar|cont[eé]st(?:e|en|a)nos|escr[ií]b(?:a|an|e)nos de vuelta)\b"
    r"(?:\s+\w+){0,3}",
    re.IGNORECASE)
MAX_ITEMS = 30
"""The most items a list field may have: an appeal must stay readable."""
MAX_ITEM_CHARS = 300
DEFAULT_MAX = {"section": 4000, "list": 4000}
"""Length limits for fields whose spec gives none (one-line fields: :data:`ONE_LINE_MAX`)."""
ONE_LINE_MAX = 300
MAX_APPEAL_CHARS = 12_000
"""The most characters an appeal's public fields may hold together."""
_SYSTEM_LINE = re.compile(r"^[ \t]*(" + "|".join(k.replace("-", "[-_ ]?") for k in SYSTEM_KEYS)
                          + r")[ \t]*:", re.IGNORECASE | re.MULTILINE)
END_OF = {"End": "Start"}
"""A datetime field that may be written as a time of day on the date of another one."""
MULTI_LINE = frozenset({"section", "list", "links"})
CHECKED_LINKS = frozenset({"links", "link"})
"""Kinds whose links are checked one by one already (not scanned again for unsafe links)."""
NOT_LINTED = frozenset({"key"})
"""Kinds never scanned by the privacy lint (the Update-Key is random text)."""


@dataclass(frozen=True)
class Issue:
    """One problem with a form, pinned to a line when there is one.

    ``field`` is the canonical field name; ``shown_field`` is how the member's language
    writes it (``str()`` starts with it), ``field`` when not given.
    """

    message: str
    line: int | None = None
    field: str | None = None
    severity: str = "error"  # "error" blocks publication, "warning" does not
    check: str = ""  # the privacy rule or content check that objected, if one did
    shown_field: str | None = None

    def __str__(self) -> str:
        name = self.shown_field or self.field
        return f"{name}: {self.message}" if name else self.message


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


@dataclass
class _Context:
    """What a kind check may read besides its own text."""

    today: date
    now: datetime
    catalogue: Catalogue
    values: dict[str, Value]  # the values checked so far, in template order
    failed: set[str]
    tr: Lang


def _issue(tr: Lang, message: str, line: int | None = None, field_name: str | None = None,
           severity: str = "error", check: str = "") -> Issue:
    """An issue whose field is shown as ``tr``'s language writes it."""
    shown = tr.words.field_name(field_name) if field_name else None
    return Issue(message, line, field_name, severity, check, shown)


# --- one field ----------------------------------------------------------------------------

Check = Callable[[FieldSpec, str, _Context], checks.Result]


@lru_cache(maxsize=4096)  # the spellings of every choice value, for each choice field
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


_WORD = re.compile(r"[^\W_]+")


def spellings(field_name: str, allowed: tuple[str, ...], vocabularies: Iterable[Words] = ()
              ) -> list[tuple[str, str]]:
    """(spelling, canonical value) for each value of ``allowed``: the value itself and how
    every language masbot speaks (and each of ``vocabularies``) writes it (``representante``
    for ``champion``); for ``Template`` the values are template names."""
    out = [(v, v) for v in allowed]
    for words in [*(lang.get(code).words for code in lang.available()), *vocabularies]:
        for v in allowed:
            spelled = words.value(field_name, v) if field_name != "Template" \
                else words.template_name(v)
            if spelled != v:
                out.append((spelled, v))
    return out


def choice_value(text: str, allowed: tuple[str, ...], field_name: str = "",
                 vocabularies: Iterable[Words] = ()) -> str | None:
    """The value of ``allowed`` that ``text`` means, or None.

    Case, accents, hyphens, underscores, spaces and punctuation do not count ("Job loss",
    "job_loss." mean ``job-loss``); with ``field_name``, any language's spelling of a value
    counts as the value ("representante" is ``champion``), and so does the spelling of each
    of ``vocabularies`` (the member's language). Failing that, the one value whose
    words all appear in the text ("car crash" means ``crash``, "the fund" means ``fund``).
    Two values that fit equally are no match: the member is asked.
    """
    words = _words(text)
    pairs = spellings(field_name, allowed, vocabularies) if field_name \
        else [(v, v) for v in allowed]
    exact = [v for spelled, v in pairs if _words(spelled) == words]
    if exact:
        return exact[0]
    if len(words) > 4 or not re.fullmatch(r"[^\W\d_][^\W\d_\s'’-]*(?:[\s'’-]+[^\W\d_]+)*[.!]?",
                                           text.strip()):
        return None  # only plain words: "self javascript:alert(1)" is no value at all
    fits = {v for spelled, v in pairs if _words(spelled) and set(_words(spelled)) <= set(words)}
    return fits.pop() if len(fits) == 1 else None


def _choice(spec: FieldSpec, text: str, ctx: _Context) -> checks.Result:
    allowed = spec.values or tuple(ctx.catalogue.names())
    value = choice_value(text, allowed, spec.name if spec.values else "Template",
                         (ctx.tr.words,))
    if value is None:
        tr = ctx.tr
        shown = [tr.words.value(spec.name, v) if spec.values else tr.words.template_name(v)
                 for v in allowed]
        return text, [tr._("'{text}' is not one of: {values}", text=text,
                           values=", ".join(shown))]
    return value, []


def _datetime(spec: FieldSpec, text: str, ctx: _Context) -> checks.Result:
    start_name = END_OF.get(spec.name)
    if start_name is None:
        return when.future_moment(text, ctx.now, tr=ctx.tr)
    if start_name in ctx.failed and when.clock(text) is not None:
        return text, []  # the start is wrong already; its end cannot be placed yet
    start = when.parse_moment(str(ctx.values.get(start_name, "")))
    return when.end_moment(text, start, ctx.now, tr=ctx.tr)


def _key(spec: FieldSpec, text: str, ctx: _Context) -> checks.Result:
    if not re.fullmatch(r"[\w-]{8,100}", text):
        return text, [ctx.tr._("copy the {field} exactly as it was given to you",
                               field=ctx.tr.words.field_name(spec.name))]
    return text, []


def _problems_only(check: Callable[..., list[str]]) -> Check:
    return lambda spec, text, ctx: (text, check(text, tr=ctx.tr))


KIND_CHECKS: dict[str, Check] = {
    "text": lambda spec, text, ctx: (text, []),
    "choice": _choice,
    "amount": lambda spec, text, ctx: checks.amount(text, tr=ctx.tr),
    "date-or-asap": lambda spec, text, ctx: checks.date_or_asap(text, ctx.today, tr=ctx.tr),
    "date": lambda spec, text, ctx: checks.future_date(text, ctx.today, tr=ctx.tr),
    "datetime": _datetime,
    "window": lambda spec, text, ctx: when.window(text, ctx.now, tr=ctx.tr),
    "release": lambda spec, text, ctx: when.release(text, ctx.now, tr=ctx.tr),
    "link": lambda spec, text, ctx: checks.https_link(text, tr=ctx.tr),
    "phone": lambda spec, text, ctx: checks.phone(text, spec.region, tr=ctx.tr),
    "email": lambda spec, text, ctx: checks.email(text, tr=ctx.tr),
    "language": lambda spec, text, ctx: checks.language(text, tr=ctx.tr),
    "appeal-id": lambda spec, text, ctx: checks.appeal_id(text, tr=ctx.tr),
    "key": _key,
    "location": _problems_only(checks.location),
    "public-place": _problems_only(checks.public_place),
    "public-target": _problems_only(checks.public_target),
}
"""One-line kinds: the check turns the member's text into the public value."""
ITEM_RULES: dict[str, Callable[[str, Lang], list[str]]] = {
    "quantity": lambda item, tr: [] if checks.has_quantity(item) else [
        tr._("say how many for '{item}', like '- 40 tarps'", item=item)],
    "public-place": lambda item, tr: checks.public_place(item, tr=tr),
}


def _list(spec: FieldSpec, entry: Entry, tr: Lang) -> tuple[Value, list[str]]:
    items = entry.items or [t.strip() for t in entry.value.split("\n") if t.strip()]
    problems: list[str] = [] if items else [tr._("list at least one item, one \"- \" line each")]
    if any(len(i) > MAX_ITEM_CHARS for i in items):
        problems.append(tr._("keep each item under {max} characters", max=MAX_ITEM_CHARS))
    if len(items) > MAX_ITEMS:
        problems.append(tr._("list at most {max} items ({count} given)", max=MAX_ITEMS,
                             count=len(items)))
    rule = ITEM_RULES.get(spec.item or "")
    if rule is not None:
        for item in items:
            problems += [checks.at(p, item) for p in rule(item, tr)]
    return tuple(items), problems


def _section(spec: FieldSpec, text: str, tr: Lang) -> list[str]:
    problems = []
    words = len(text.split())
    if spec.min_words and words < spec.min_words:
        problems.append(tr.ngettext("write at least {n} word ({count} so far)",
                                    "write at least {n} words ({count} so far)",
                                    spec.min_words, count=words))
    if spec.max_words and checks.word_count(text) > spec.max_words:
        problems.append(tr.ngettext("at most {n} word ({count} given)",
                                    "at most {n} words ({count} given)",
                                    spec.max_words, count=checks.word_count(text)))
    return problems


def _too_long(limit: int, length: int, tr: Lang) -> str:
    return tr.ngettext("at most {n} character ({count} given)",
                       "at most {n} characters ({count} given)", limit, count=length)


def _check_value(spec: FieldSpec, entry: Entry, ctx: _Context) -> tuple[Value, list[str]]:
    """The public value of one field and what is wrong with it."""
    if spec.kind == "links":
        values, problems = checks.links(checks.split_links(entry.items or entry.value.split("\n")),
                                        tr=ctx.tr)
        assert isinstance(values, list)  # checks.links gives the list of links it kept
        return tuple(values), problems
    if spec.kind == "tags":
        values, problems = checks.tags(" ".join(entry.value.split()), tr=ctx.tr)
        assert isinstance(values, list)  # checks.tags gives the list of tags
        return tuple(values), problems
    if spec.kind == "list":
        return _list(spec, entry, ctx.tr)
    text = entry.value.strip()
    if spec.kind == "section":
        value, problems = text, _section(spec, text, ctx.tr)
    else:
        text = " ".join(text.split())  # a section-opened one-line field joins its lines
        limit = spec.max or ONE_LINE_MAX
        if len(text) > limit:  # too long to be read further (and never parsed at length)
            return text, [_too_long(limit, len(text), ctx.tr)]
        checked, problems = KIND_CHECKS.get(spec.kind, KIND_CHECKS["text"])(spec, text, ctx)
        # checks.Result says object, but every one-line kind check gives the text it cleaned
        assert isinstance(checked, str)
        value = checked
    limit = spec.max or DEFAULT_MAX.get(spec.kind, ONE_LINE_MAX)
    if isinstance(value, str) and len(value) > limit:
        problems = [*problems, _too_long(limit, len(value), ctx.tr)]
    return value, problems


# --- the form -----------------------------------------------------------------------------


def _required(spec: FieldSpec, template: Template, form: Form, champion: bool, tr: Lang
              ) -> str | None:
    """The note for a missing field ``spec`` when this form needs it, else None."""
    help_ = tr.words.help(spec.name, spec.help, template.name)
    if spec.required is True:
        return tr._("this field is required: {help}", help=help_)
    if spec.required == "champion" and champion:
        return tr._("this field is required (you are filing as a champion): {help}", help=help_)
    for name, values in spec.required_if:
        given = re.sub(r"[\s_]+", "-", form.value(name).casefold())
        if given and "*" not in values:
            given = choice_value(given, values, name, (tr.words,)) or given
        if not given or not ("*" in values or given in values):
            continue
        field_name = tr.words.field_name(name)
        if "*" in values:
            condition = tr._("{field} is given", field=field_name)
        else:
            condition = tr._("{field} is {values}", field=field_name, values=format_list(
                [tr.words.value(name, v) for v in values], style="or", locale=tr.locale))
        return tr._("this field is required when {condition}: {help}", condition=condition,
                    help=help_)
    return None


def _template_named(name: str, catalogue: Catalogue, tr: Lang) -> Template | None:
    """The template ``name`` stands for, in any language masbot speaks ("fianza": bail)."""
    found = catalogue.template(name)
    if found is not None:
        return found
    canonical = choice_value(name, tuple(catalogue.names()), "Template", (tr.words,))
    return catalogue.template(canonical) if canonical else None


def validate(form: Form, catalogue: Catalogue, today: date, now: datetime | None = None, *,
             tr: Lang = lang.get()) -> Validation:
    """Check ``form`` against its template; collect every issue, never raise.

    ``today`` (and ``now``, for call-in windows, gathering times and embargoes) are handed
    in. A ``datetime`` given as ``today`` is used as ``now`` too; without either, "now" is
    the start of ``today`` in UTC. Every issue's message (and the field name ``str()``
    shows) is in ``tr``'s language; the values may be written in any language masbot speaks.
    """
    if isinstance(today, datetime):
        now, today = now or today, today.date()
    now = now or datetime.combine(today, time(0), tzinfo=timezone.utc)
    issues: list[Issue] = [Issue(n.message, n.line, None, n.severity) for n in form.notes]
    name = form.template_name
    template = _template_named(name, catalogue, tr) if name else None
    guessed = None if template is not None or name else guess_template(form, catalogue)
    key = tr.words.field_name("Template")
    if guessed is not None:
        template, telling = guessed
        shown = tr.words.template_name(template.name)
        issues.append(_issue(tr, tr._(
            "no template named: this was read as the {template} form (it has {fields}); add "
            "'{key}: {template}' at the top if that is wrong", template=shown,
            fields=", ".join(tr.words.field_name(f) for f in telling), key=key),
            None, "Template", "warning"))
    if template is None:
        where = form.entries.get("Template")
        names = ", ".join(tr.words.template_name(n) for n in catalogue.names())
        message = tr._("'{name}' is not a template; write {key}: followed by one of {names}",
                       name=name, key=key, names=names) if name else tr._(
            "name the template: write {key}: followed by one of {names}", key=key, names=names)
        issues.append(_issue(tr, message, where.line if where else None, "Template"))
        return Validation(None, {}, "", issues)

    result = Validation(template)
    ctx = _Context(today, now, catalogue, result.values, set(), tr)
    champion = choice_value(form.value("Filed-By"), ("self", "champion"), "Filed-By",
                            (tr.words,)) == "champion"
    for spec in template.fields:
        entry = form.entries.get(spec.name)
        if spec.name == "Template":
            result.values["Template"] = template.name
            continue
        if entry is None or not entry.value.strip():
            required = _required(spec, template, form, champion, tr)
            if required is not None:
                issues.append(_issue(tr, required, entry.line if entry else None, spec.name))
            continue
        if spec.private:
            result.private = entry.value
            continue
        value, problems = _check_value(spec, entry, ctx)
        for p in problems:
            fragment = getattr(p, "fragment", None)
            line = _line_of(form, spec.name, fragment) if fragment else entry.line
            issues.append(_issue(tr, str(p), line, spec.name,
                                 "warning" if getattr(p, "warning", False) else "error"))
            if not getattr(p, "warning", False):
                ctx.failed.add(spec.name)
        result.values[spec.name] = value

    for name_ in form.entries:
        if template.field(name_) is None:
            issues.append(_issue(tr, tr._(
                "the {template} template has no such field; it is ignored",
                template=tr.words.template_name(template.name)),
                form.entries[name_].line, name_, "warning"))

    issues.extend(_cross_checks(form, template, result.values, champion, ctx.failed, tr))
    # Line 0: a value the member did not write (the Appeal-ID of a reply's subject).
    result.issues = [replace(i, line=None) if i.line == 0 else i for i in issues]
    return result


def guess_template(form: Form, catalogue: Catalogue) -> tuple[Template, list[str]] | None:
    """The template a form without a ``Template:`` line was written for, and the fields
    that tell: the one template whose own fields (not the common ones or the money block)
    the form uses most (Held-At and Bail: bail). None when no field tells, or two
    templates tell equally."""
    def everywhere(templates: list[Template]) -> set[str]:
        names = [{f.name for f in t.fields} for t in templates]
        return set.intersection(*names) if names else set()

    templates = list(catalogue.templates.values())
    shared = everywhere([t for t in templates if t.common]) \
        | everywhere([t for t in templates if t.money is True]) | {"Template"}
    scores: list[tuple[int, str, list[str]]] = []
    for tpl in templates:
        telling = [f.name for f in tpl.fields if f.name in form.entries and f.name not in shared]
        # A choice value only this template takes ("Category: eviction") tells more.
        fits = sum(1 for name in telling if (spec := tpl.field(name)) is not None
                   and spec.values and choice_value(form.value(name), spec.values) is not None)
        if telling:
            scores.append((len(telling) + fits, tpl.name, telling))
    scores.sort(key=lambda s: -s[0])
    if not scores or len(scores) > 1 and scores[0][0] == scores[1][0]:
        return None
    tpl = catalogue.templates[scores[0][1]]
    return tpl, scores[0][2]


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


def _texts(template: Template, values: dict[str, Value]) -> list[tuple[str, str]]:
    out = []
    for name, value in values.items():
        spec = template.field(name)
        if spec is None or spec.kind not in NOT_LINTED:
            out.append((name, value if isinstance(value, str) else "\n".join(value)))
    return out


PLACE_FIELDS = ("Location", "Held-At", "Area", "Where", "Target", "Drop-Off", "Event", "Dateline")
"""Fields that name places and institutions: their words are never taken for a person's."""
NOT_NAME_LINTED = frozenset({"Name-To-Publish"})
"""Fields the name rules skip besides ``names-ok`` ones (the alias has a check of its own)."""


def _name_texts(template: Template, texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The texts in which a person's name must not appear."""
    out = []
    for name, text in texts:
        spec = template.field(name)
        if name in NOT_NAME_LINTED or spec is None or spec.names_ok \
                or spec.kind not in ("text", "section", "list", "tags"):
            continue
        out.append((name, text))
    return out


def _known_words(template: Template, values: dict[str, Value]) -> list[str]:
    """Words of the form's place fields, and of fields naming an organisation."""
    words: list[str] = []
    for spec in template.fields:
        value = values.get(spec.name)
        if value is None:
            continue
        text = value if isinstance(value, str) else " ".join(value)
        if spec.name in PLACE_FIELDS or spec.kind in ("location", "public-place", "public-target") \
                or spec.names_ok and names.names_organisation(text):
            words += re.findall(r"[^\W\d_]+", text)
    return words


def _cross_checks(form: Form, template: Template, values: dict[str, Value], champion: bool,
                  failed: set[str], tr: Lang) -> list[Issue]:
    """Checks across fields, the "everywhere" rules and the privacy lint."""
    line = lambda n: form.entries[n].line if n in form.entries else None  # noqa: E731
    name = tr.words.field_name
    issues = _consent_and_contact(template, values, champion, line, tr)
    goal, raised = values.get("Goal"), values.get("Raised")
    if isinstance(goal, str) and isinstance(raised, str) and not {"Goal", "Raised"} & failed \
            and goal.split()[-1] != raised.split()[-1]:
        issues.append(_issue(tr, tr._("give {raised} in the same currency as {goal}",
                                      raised=name("Raised"), goal=name("Goal")),
                             line("Raised"), "Raised"))
    if "goal-or-date-when-extended" in template.checks and values.get("Status") == "extended" \
            and not {"Goal", "Needed-By"} & set(values) and not {"Goal", "Needed-By"} & failed:
        issues.append(_issue(tr, tr._("an extended appeal needs a new {goal} or {needed_by}",
                                      goal=name("Goal"), needed_by=name("Needed-By")),
                             line("Status"), "Status"))
    texts = _texts(template, values)
    total = sum(len(text) for _, text in texts)
    if total > MAX_APPEAL_CHARS:
        issues.append(_issue(tr, tr._("the appeal is too long ({count} characters); keep it "
                                      "under {max}", count=total, max=MAX_APPEAL_CHARS)))
    for field_name, text in texts:
        spec = template.field(field_name)
        if spec is not None and spec.kind in CHECKED_LINKS:
            continue
        for fragment, message in checks.unsafe_links(text, tr=tr):
            issues.append(_issue(tr, message, _line_of(form, field_name, fragment), field_name))
    for field_name, text in texts:
        spec = template.field(field_name)
        if spec is None or spec.kind != "section":
            continue
        for m in _SYSTEM_LINE.finditer(text):
            issues.append(_issue(tr, tr._(
                "a line starting '{key}:' would look like part of what the society adds to the "
                "appeal; reword it", key=m.group(1)),
                _line_of(form, field_name, m.group(0).strip()), field_name))
    seen: set[tuple[str, int | None, str]] = set()
    own_checks = [c for c in template.checks if c not in privacy.RULE_NAMES]
    consent = "self" if not champion else str(values.get("Consent") or "pending")
    if consent not in privacy.CONSENT_CLASSES:
        consent = "pending"
    # The template's own checks first: their messages are the more specific ones when both
    # object to the same words (an arrestee's name in a jail-support post).
    findings = privacy.lint(own_checks, texts, values, tr=tr) + privacy.apply_rules(
        template.privacy, consent, texts, _name_texts(template, texts),
        alias=str(values.get("Name-To-Publish", "")), known=_known_words(template, values),
        flags=values, tr=tr)
    said: set[tuple[str, int | None, str]] = set()
    for finding in findings:
        line_ = _line_of(form, finding.field, finding.match)
        same_words = (finding.field, line_, finding.match.casefold())
        if (finding.field, line_, finding.check) not in seen and same_words not in said:
            # one mark per line and check, and one per piece of text
            seen.add((finding.field, line_, finding.check))
            said.add(same_words)
            issues.append(_issue(tr, finding.message, line_, finding.field, finding.severity,
                                 finding.check))
    return issues


def _consent_and_contact(template: Template, values: dict[str, Value], champion: bool,
                         line: Callable[[str], int | None], tr: Lang) -> list[Issue]:
    issues: list[Issue] = []
    name, value = tr.words.field_name, tr.words.value
    consent = "direct" if not champion else str(values.get("Consent", ""))
    for spec in template.fields:
        if spec.consent and spec.name in values and consent != spec.consent:
            issues.append(_issue(tr, tr._(
                "only published with {field}: {value} (the person approved this exact text); "
                "remove it or get consent", field=name("Consent"),
                value=value("Consent", spec.consent)), line(spec.name), spec.name))
    alias = str(values.get("Name-To-Publish", ""))
    if alias and checks.looks_like_full_name(alias):
        if consent == "pending":
            issues.append(_issue(tr, tr._("with {field}: {value} publish an alias or initials "
                                          "only", field=name("Consent"),
                                          value=value("Consent", "pending")),
                                 line("Name-To-Publish"), "Name-To-Publish", check="full-names"))
        elif consent != "direct":
            issues.append(_issue(tr, tr._("this looks like a full name; without {field}: "
                                          "{value} use a first name, alias or initials",
                                          field=name("Consent"),
                                          value=value("Consent", "direct")),
                                 line("Name-To-Publish"), "Name-To-Publish", "warning",
                                 "full-names"))
    asks = _ASKS_FOR_REPLIES.search(str(values.get("How-To-Help", "")))
    if asks and not values.get("Contact"):
        issues.append(_issue(tr, tr._(
            "'{words}': a reply to the appeal reaches the society's robot, not you; give a "
            "{contact} (a group's address, or yours with {public}: {yes}), or say where to "
            "write", words=asks.group(0), contact=name("Contact"), public=name("Contact-Public"),
            yes=value("Contact-Public", "yes")), line("How-To-Help"), "How-To-Help", "warning"))
    contact = str(values.get("Contact", ""))
    if contact and (ADDRESS_IN_TEXT.search(contact) or _PHONE.search(contact)) \
            and str(values.get("Contact-Public", "no")) != "yes":
        issues.append(_issue(tr, tr._(
            "a personal phone or email is only published with {public}: {yes}; leave {contact} "
            "empty to use the society's address", public=name("Contact-Public"),
            yes=value("Contact-Public", "yes"), contact=name("Contact")),
            line("Contact"), "Contact"))
    return issues
