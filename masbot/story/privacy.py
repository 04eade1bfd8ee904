"""The privacy lint: things that must never be published in an appeal.

Each check takes the public text of the appeal field by field and returns what it objects
to: the field, a message for the member, and the text that triggered it (so the answer can
point at the very line). The lint errs on the side of caution where the words leave little
doubt (``booking #2026-114532``, ``DOB``), but ordinary words that merely *could* introduce a
number (``case``, ``jail``, ``birthday``, ``social security``) are only objected to when an
identifying number or date really follows, so that a story about a missed birthday party or
lost benefits is not refused.

Every template runs the privacy rules of its ``privacy:`` data (``common.yaml``, overridden
per template): full names and names beyond the published alias (:mod:`masbot.story.names`),
what police or prosecutors claim, children and their ages, medical detail, immigration
status, over every public free-text field. Whether each is refused, warned about or allowed
depends on the consent behind the text (``self``, or the champion's ``Consent:``), and the
template data says why; :func:`apply_rules` runs them.

Templates add content checks (``checks:`` in their YAML, see :data:`CHECKS`). They are
pattern rules, kept simple on purpose, and documented here so a moderator knows what they
catch and what they miss:

* ``no-street-addresses`` (housing): a house number followed by a street word, a PO box,
  an apartment or unit number;
* ``medical-details`` (hardship): names of conditions, diagnoses and treatments (cancer,
  surgery, dialysis, pregnancy, overdose, ...), refused unless ``Medical-Details-OK: yes``;
  paying for care ("hospital", "doctor", "medical bills") is not medical detail;
* ``minors`` (hardship, housing; a warning): "my son", "their two kids", "a 9-year-old",
  "aged 12", "minors";
* ``no-arrestee-names`` (gatherings of kind jail-support or court-support): a capitalised
  name right after an arrest word ("arrestee Jordan Lee", "the defendant, Alex") or right
  before one ("Jordan Lee was arrested"); a name elsewhere in the text is not caught;
* ``narrated-events`` (legal; a warning): "I/we/he/she/they" followed by a verb of the
  alleged act (threw, hit, broke, punched, ...), or "the police say", "according to the
  prosecution";
* ``quotes-need-consent`` (press): a quotation of three or more words in straight, curly or
  guillemet quotes, refused unless ``Quote-Consent: yes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple

from masbot.story import names
from masbot.story.checks import STREET


class Finding(NamedTuple):
    """One objection: ``field`` holds ``match``, which must not be published (``severity``
    ``"error"``) or deserves a second look (``"warning"``)."""

    field: str
    message: str
    match: str
    severity: str = "error"
    check: str = ""  # the name of the check that objected


_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b")
_BIRTH = re.compile(
    r"\bd\.?o\.?b\b\.?"
    r"|\bdate\s+of\s+birth\b|\bbirth\s*date\b"
    r"|\bbirth\s*day\s*(?:is|was|[:=-])?\s*(?:on\s+)?(?:the\s+)?(?:\d|" + _MONTH + r")"
    r"|\bborn(?:\s*:)?\s+(?:on\s+|in\s+)?(?:the\s+)?(?:\d|" + _MONTH + r")",
    re.IGNORECASE,
)

# Words after which any number is an identifier of the person.
_STRONG = (r"booking|docket|inmate|prisoner|detainee|alien(?:\s+registration)?|a-?file"
           r"|a-number|a\s*#|permanent\s+resident(?:\s+card)?|green\s+card|uscis|subject\s+id")
# Words that are also ordinary words: a number must be marked as one (no., #) or look like a
# reference (letters or separators in it), so "in case 1000 people share" passes.
_WEAK = r"case|jail|court|file"
_QUALIFIER = r"(?:\s*(?:no\b\.?|nr\b\.?|num(?:ber)?\b\.?|n°|#|id\b))"
_NUMBER = r"[A-Za-z]{0,4}[-:/.]?\d[A-Za-z0-9:/.-]*"
_CASE_NUMBER = re.compile(
    rf"\b(?P<kw>{_STRONG}|{_WEAK})(?P<q>{_QUALIFIER}?)(?:\s+(?:is|was))?\s*[:#]?\s*"
    rf"(?P<num>{_NUMBER})",
    re.IGNORECASE,
)
_WEAK_WORD = re.compile(rf"^(?:{_WEAK})$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An alien number written on its own: A followed by 8 or 9 digits (upper-case A only).
_A_NUMBER = re.compile(r"\bA\s*#?\s*-?\s*\d{3}[- ]?\d{3}[- ]?\d{3}\b|\bA-?\d{8}\b")
_SSN = re.compile(
    r"\b\d{3}(?P<sep>[- .])\d{2}(?P=sep)\d{4}\b"
    r"|\b(?:ssn|social security (?:number|no\b\.?|#))(?: (?:is|was))? ?[:#]? ?\d[\d -]{7,}",
    re.IGNORECASE,
)


def _birth_dates(text: str) -> Iterator[str]:
    for m in _BIRTH.finditer(text):
        yield m.group(0)


def _case_numbers(text: str) -> Iterator[str]:
    for m in _CASE_NUMBER.finditer(text):
        number = m.group("num").rstrip(".:/-")
        if sum(ch.isdigit() for ch in number) < 3:
            continue
        if _WEAK_WORD.match(m.group("kw")) and not m.group("q").strip():
            # "case 2026" or "jail 2500": only a reference-looking number counts, and a
            # link path like ".../case/12345" is the fund's page, not a court case.
            if number.isdigit() or _ISO_DATE.match(number) or number.startswith("/"):
                continue
        yield m.group(0)
    for m in _A_NUMBER.finditer(text):
        yield m.group(0)


def _ssns(text: str) -> Iterator[str]:
    for m in _SSN.finditer(text):
        yield m.group(0)


# --- checks some templates add ------------------------------------------------------------

# Medical detail: conditions, diagnoses and treatments. Words about paying for care
# ("hospital", "doctor", "medical bills") are not medical detail and pass.
_MEDICAL = re.compile(
    r"\b(?:cancer|chemo(?:therapy)?|radiotherapy|radiation therapy|tumou?rs?|leuka?emia|lymphoma"
    r"|diabet(?:es|ic)|dialysis|kidney failure|(?-i:HIV|AIDS)|hepatitis|strokes?|heart attack"
    r"|cardiac arrest|seizures?|epilep(?:sy|tic)|surgery|surgeries|surgical|amputat\w*"
    r"|fractured?|concussion|brain injury|paraly[sz]ed|paralysis|coma|intensive care|(?-i:ICU)"
    r"|pregnan(?:t|cy)|miscarriage|abortion|psychiatric|depression|bipolar|schizophreni\w*"
    r"|(?-i:PTSD)|suicid\w*|overdosed?|addiction|rehab(?:ilitation)?|diagnos(?:is|ed|es)"
    r"|terminal(?:ly)? ill|transplant|insulin|chronic (?:illness|pain)|dementia|alzheimer'?s"
    r"|sepsis|pneumonia|cáncer|quimioterapia|diálisis|cirugía|embarazada|embarazo|depresión"
    r"|(?-i:VIH)|infarto|derrame cerebral|(?:broken |broke (?:\w+ )?)(?:leg|arm|hip|neck|back|ribs?|jaw|bones?"
    r"|wrist|ankle|pelvis|skull))\b",
    re.IGNORECASE,
)
# A child: "my son", "their two kids", "a 12-year-old", "aged 9", "minors".
_MINOR = re.compile(
    r"\b(?:my|our|his|her|their)\s+(?:\w+\s+)?(?:sons?|daughters?|kids?|child(?:ren)?"
    r"|bab(?:y|ies)|toddlers?|grand(?:son|daughter|child)s?|grandchildren|step(?:son|daughter)s?)\b"
    r"|\b(?:minors?|infants?|newborns?|toddlers?|teenagers?|schoolchildren)\b"
    r"|\b(?:1[0-7]|[1-9])[- ](?:year|yr)s?[- ]old\b|\baged? (?:1[0-7]|[1-9])\b"
    r"|\b(?:mi|mis|su|sus|nuestr[oa]s?)\s+(?:\w+\s+)?(?:hij[oa]s?|niñ[oa]s?|bebés?|niet[oa]s?)\b"
    r"|\b(?:menores|menor de edad)\b",
    re.IGNORECASE,
)
# The age of a child: "a 6-year-old", "aged 12", "6 years old", "de 6 años", "18 months old".
_MINOR_AGE = re.compile(
    r"\b(?:1[0-7]|[1-9]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|thirteen|fourteen|fifteen|sixteen|seventeen)[- ](?:year|yr)s?[- ]olds?\b"
    r"|\baged? (?:1[0-7]|[1-9])\b|\b\d{1,2}[- ]months?[- ]old\b"
    r"|\b(?:hij[oa]|niñ[oa]|bebé|nieto|nieta)s?\s+(?:\w+\s+)?de\s+(?:1[0-7]|[1-9]|un|dos|tres|cuatro"
    r"|cinco|seis|siete|ocho|nueve|diez)\s+(?:años|meses)\b"
    r"|\bde\s+(?:1[0-7]|[1-9])\s+añitos\b"
    r"|\b(?:is|was|turned|just turned|tiene|cumplió)\s+(?:only\s+|apenas\s+)?(?:1[0-7]|[1-9])"
    r"(?=\s+(?:and|but|years?|y|años)\b|\s*;|[.,](?!\d)|\s*$)",
    re.IGNORECASE,
)
# What police or prosecutors say happened, and the charges.
_POLICE = (r"(?:(?:police|sheriff)(?:'s)?\s+(?:department|dept\.?|office|spokesperson)|police|cops|officers?|deputies|sheriff(?:'s office)?|prosecutors?|prosecution"
           r"|(?:the )?(?:DA|D\.A\.)|district attorney|(?:the )?state|authorities|ICE|the complaint"
           r"|charging documents|the arrest report|police report)")
_CLAIMS = re.compile(
    rf"\b(?:the\s+)?{_POLICE}\s+(?:say|says|said|claim|claims|claimed|allege|alleges|alleged"
    r"|accuse|accuses|accused|report|reports|reported|state|states|stated|contend|contends)\b"
    rf"|\baccording to\s+(?:the\s+)?{_POLICE}"
    r"|\b(?:accused\s+of|charged\s+with|indicted\s+(?:for|on)|booked\s+(?:for|on)|convicted\s+of)"
    r"\s+\w+(?:\s+\w+)?"
    r"|\ballegedly\b|\bsupposedly\b|\b(?:faces?|facing)\s+(?:\w+\s+)?(?:charges?|counts?)\b"
    r"|\b(?:charges?|counts?)\s+of\s+\w+"
    r"|\b(?:la\s+)?(?:policía|fiscalía|fiscal)\s+(?:dice|dicen|afirma|afirman|asegura|alega|acusa"
    r"|sostiene)\b|\bsegún\s+(?:la\s+)?(?:policía|fiscalía|el fiscal)\b"
    r"|\b(?:acusad[oa]s?|acusan?|acusaron|lo acusan|la acusan)\s+de\b|\bcargos?\s+(?:de|por)\b|\bpresuntamente\b",
    re.IGNORECASE,
)
# Immigration status (not the bond or the detention, which the bail template is for).
_IMMIGRATION = re.compile(
    r"\b(?:undocumented|illegal(?:ly)?\s+(?:immigrants?|aliens?|entry|entered|here|in the country)"
    r"|without\s+(?:legal\s+)?(?:papers|status|documents)|no papers|out of status"
    r"|overstay(?:ed|ing)?(?:\s+(?:a|his|her|their|my)\s+visa)?|visa\s+(?:expired|overstay)"
    r"|expired\s+visa|(?-i:DACA|TPS)|asylum(?:\s+(?:seeker|claim|case|application|hearing))?"
    r"|asylee|refugee status|deportation(?:\s+(?:order|case|proceedings))?"
    r"|(?:final\s+)?(?:order|orders)\s+of\s+removal|removal\s+(?:order|proceedings)"
    r"|green card|permanent resident|immigration status|not a (?:US |U\.S\. )?citizen"
    r"|indocumentad[oa]s?|sin papeles|sin documentos|solicitantes? de asilo|asilo"
    r"|orden de deportación|deportación|estatus migratorio|situación migratoria)\b",
    re.IGNORECASE,
)
# Jail and court support: a capitalised name right after an arrest word ("arrestee Jordan
# Lee", "arrested: Jordan") or right before one ("Jordan Lee was arrested").
_ARREST = (r"(?i:arrestees?|arrested|detainees?|detained|defendants?|in custody|locked up"
           r"|charged)")
_NAME = r"[A-Z][a-z'’-]+(?: [A-Z][a-z'’.-]*){0,3}"  # at most four words: linear time
_NAME_AFTER = re.compile(rf"\b{_ARREST}\b[:,]? (?:(?i:is|are|was|were|named|called|including"
                         rf"|include|incl\.) )?(?P<name>{_NAME})")
_NAME_BEFORE = re.compile(rf"(?P<name>{_NAME}) (?i:was|were|got|is|are|has been|have been"
                          rf"|had been) {_ARREST}\b")
_NOT_NAMES = frozenset(
    """a an the we they he she it i you our their his her all everyone anyone someone people
    protesters comrades friends folks neighbours neighbors students workers members organisers
    organizers supporters on at in for to from this that those these who some many several
    today tomorrow tonight yesterday monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    court county jail police please come bring after before and or but so if when while
    one two three four five six seven eight nine ten dozens""".split()
)
# Legal defence: the story tells the alleged events, or repeats the police's account.
_NARRATED = re.compile(
    r"\b(?:i|we|he|she|they)\s+(?:(?:allegedly|supposedly|apparently|just|then)\s+)?"
    r"(?:threw|hit|broke|punched|kicked|pushed|shoved|grabbed|stole|smashed|shot|stabbed"
    r"|attacked|assaulted|damaged|vandali[sz]ed|spray-painted|resisted|fled|burned|set fire"
    r"|ran from|fought|bit|spat)\b"
    r"|\b(?:the\s+)?(?:police|cops|officers?|prosecutors?|prosecution|district attorney)\s+"
    r"(?:say|says|said|claim|claims|claimed|allege|alleges|alleged|accuse|accused)\b"
    r"|\baccording to\s+(?:the\s+)?(?:police|prosecutors?|prosecution|charges|police report)\b",
    re.IGNORECASE,
)
_QUOTE = re.compile(r'"[^"]{1,2000}"|“[^”]{1,2000}”|„[^“”]{1,2000}[“”]|«[^»]{1,2000}»')


def _street_addresses(text: str) -> Iterator[str]:
    for m in STREET.finditer(text):
        yield m.group(0)


def _medical(text: str) -> Iterator[str]:
    for m in _MEDICAL.finditer(text):
        yield m.group(0)


def _minors(text: str) -> Iterator[str]:
    for m in _MINOR.finditer(text):
        yield m.group(0)


def _minor_ages(text: str) -> Iterator[str]:
    for m in _MINOR_AGE.finditer(text):
        yield m.group(0)


def _claims(text: str) -> Iterator[str]:
    for m in _CLAIMS.finditer(text):
        yield m.group(0)


def _immigration(text: str) -> Iterator[str]:
    for m in _IMMIGRATION.finditer(text):
        yield m.group(0)


def _arrestee_names(text: str) -> Iterator[str]:
    for pattern in (_NAME_AFTER, _NAME_BEFORE):
        for m in pattern.finditer(text):
            words = m.group("name").split()
            while words and words[0].casefold().strip(".,") in _NOT_NAMES:
                words.pop(0)
            if words:
                yield " ".join(words)


def _narrated(text: str) -> Iterator[str]:
    for m in _NARRATED.finditer(text):
        yield m.group(0)


def _quotes(text: str) -> Iterator[str]:
    for m in _QUOTE.finditer(text):
        if len(m.group(0).split()) >= 3:  # a quote, not one word in scare quotes
            yield m.group(0)


@dataclass(frozen=True)
class Check:
    """A scan over the public text: what it finds, what it tells the member, and when it runs.

    ``message`` may name the text found as ``{match}``. ``unless``: a (field, value) the form
    can give to turn the check off (``Medical-Details-OK: yes``); ``only_if``: the check runs
    only when that field has one of these values.
    """

    find: Callable[[str], Iterator[str]]
    message: str
    severity: str = "error"
    unless: tuple[str, str] | None = None
    only_if: tuple[str, tuple[str, ...]] | None = None

    def applies(self, flags: Mapping[str, object]) -> bool:
        """True when the form's ``flags`` (its public values) let this check run."""
        if self.unless and str(flags.get(self.unless[0], "")).casefold() == self.unless[1]:
            return False
        return not self.only_if or str(flags.get(self.only_if[0], "")) in self.only_if[1]

    def run(self, texts: Iterable[tuple[str, str]]) -> list[Finding]:
        """Every finding in ``(field, text)`` pairs.

        Runs of spaces and line breaks become one space first: the patterns then never
        backtrack over long whitespace, and a number split over two lines is still found.
        """
        return [Finding(name, self.message.format(match=match), match, self.severity)
                for name, text in texts for match in self.find(" ".join(text.split()))]


CHECKS: dict[str, Check] = {
    "no-birth-dates": Check(_birth_dates, "remove the date of birth: it is never published"),
    "no-case-numbers": Check(
        _case_numbers, "remove the booking, docket, case or alien number: it is never published"),
    "no-ssn": Check(_ssns, "remove what looks like a social security number: it is never published"),
    "no-street-addresses": Check(
        _street_addresses, "remove the street address ('{match}'): give the town only"),
    "medical-details": Check(
        _medical, "'{match}' is medical detail: publish it only with Medical-Details-OK: yes "
                  "(the person agreed), or leave it out", unless=("Medical-Details-OK", "yes")),
    "minors": Check(_minors, "this mentions a child ('{match}'): never publish a child's name, "
                             "age or school", "warning"),
    "no-arrestee-names": Check(
        _arrestee_names, "do not name arrestees in a support post ('{match}'): write 'our "
                         "friend' or leave the name out",
        only_if=("Kind", ("jail-support", "court-support"))),
    "narrated-events": Check(
        _narrated, "this seems to tell the alleged events ('{match}'): anything published can "
                   "be used in court; describe the person and the need, and ask the lawyer",
        "warning"),
    "quotes-need-consent": Check(
        _quotes, "a quote is only published with Quote-Consent: yes (the person quoted "
                 "approved these words)", unless=("Quote-Consent", "yes")),
}
CROSS_CHECKS = frozenset({"goal-or-date-when-extended"})
"""Checks across fields that :mod:`masbot.story.validate` runs itself."""
KNOWN_CHECKS = frozenset(CHECKS) | CROSS_CHECKS
"""Every name a template's ``checks:`` may list."""


def lint(check_names: Iterable[str], texts: list[tuple[str, str]],
         flags: Mapping[str, object] | None = None) -> list[Finding]:
    """Run the named checks over ``(field, text)`` pairs; unknown check names are skipped.

    ``flags`` are the form's public values, for checks that depend on another field.
    Returns every finding, in check order, then field order, then position.
    """
    findings: list[Finding] = []
    for name in check_names:
        check = CHECKS.get(name)
        if check and check.applies(flags or {}):
            findings.extend(f._replace(check=name) for f in check.run(texts))
    return findings


# --- the privacy rules every template runs ------------------------------------------------

RULE_NAMES = ("full-names", "other-names", "police-claims", "minors", "minor-ages",
              "medical-details", "immigration-status")
"""The rules of the ``privacy:`` section of a template file (see ``common.yaml``)."""
CONSENT_CLASSES = ("self", "direct", "prior", "lawyer", "pending")
"""Whose agreement stands behind the text: ``self`` for a member filing for themselves,
else the champion's ``Consent:`` (a champion without one counts as ``pending``)."""
LEVELS = ("refuse", "warn", "allow")


@dataclass(frozen=True)
class Rule:
    """One privacy rule as the template data states it: what happens under each consent
    (``levels``), why (told to the member), and a field value that turns it off."""

    name: str
    why: str
    levels: tuple[tuple[str, str], ...]  # (consent class, level)
    unless: tuple[str, str] | None = None

    def level(self, consent: str) -> str:
        """``refuse``, ``warn`` or ``allow`` for this consent class (``refuse`` when unsaid)."""
        return dict(self.levels).get(consent, "refuse")


_FOUND = {
    "full-names": "'{match}' looks like a full name",
    "other-names": "'{match}' is a name beyond the published name{alias}",
    "police-claims": "'{match}' repeats what police or prosecutors claim",
    "minors": "'{match}' mentions a child",
    "minor-ages": "'{match}' gives a child's age",
    "medical-details": "'{match}' is medical detail",
    "immigration-status": "'{match}' tells someone's immigration status",
}
_DO = {
    "refuse": {"full-names": "publish a first name, alias or initials only",
               "other-names": "use the published name or leave the name out",
               "medical-details": "leave it out, or add Medical-Details-OK: yes when the "
                                  "person agreed to publish it",
               "": "leave it out"},
    "warn": {"minors": "check that no child's name, age or school is given",
             "minor-ages": "leave the age out unless the parent agreed to it",
             "": "publish it only if the person agreed to exactly this"},
}
_TEXT_FINDERS: dict[str, Callable[[str], Iterator[str]]] = {
    "police-claims": _claims, "minors": _minors, "minor-ages": _minor_ages,
    "medical-details": _medical, "immigration-status": _immigration,
}


def _consent_words(consent: str) -> str:
    return "As you file for yourself" if consent == "self" else f"With Consent: {consent}"


def apply_rules(rules: Iterable[Rule], consent: str, texts: list[tuple[str, str]],
                name_texts: list[tuple[str, str]], alias: str = "", known: Iterable[str] = (),
                flags: Mapping[str, object] | None = None) -> list[Finding]:
    """Run the template's privacy ``rules`` for this ``consent`` class.

    ``texts`` are every public free-text ``(field, text)``; ``name_texts`` those where a
    person's name must not appear (not the fields that name a fund, a voucher or an
    office). ``alias`` is the Name-To-Publish; ``known`` are words of the form's place and
    organisation fields. A rule whose ``unless`` field has its value in ``flags`` is off.
    Each finding's message says what was found, what to do under this consent, and why.
    """
    flags = flags or {}
    known = tuple(known)
    findings: list[Finding] = []
    for rule in rules:
        level = rule.level(consent)
        if level == "allow" or (rule.unless and str(flags.get(rule.unless[0], "")).casefold()
                                == rule.unless[1].casefold()):
            continue
        severity = "error" if level == "refuse" else "warning"
        advice = _DO[level].get(rule.name, _DO[level][""])
        tail = f". {_consent_words(consent)}, {advice}. Why: {' '.join(rule.why.split())}"
        for field_name, text in (name_texts if rule.name.endswith("names") else texts):
            flat = " ".join(text.split())
            if rule.name.endswith("names"):
                kind = "full-name" if rule.name == "full-names" else "first-name"
                found = [f.text for f in names.find(flat, alias, known) if f.kind == kind]
            else:
                found = list(_TEXT_FINDERS[rule.name](flat))
            for match in found:
                head = _FOUND[rule.name].format(
                    match=match, alias=f" '{alias}'" if alias else "")
                findings.append(Finding(field_name, head + tail, match, severity, rule.name))
    return findings
