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

from masbot import lang
from masbot.lang import Lang, N_
from masbot.story import localwords, names
from masbot.story.checks import STREET
from masbot.story.localwords import fold

EN = lang.get()


class Finding(NamedTuple):
    """One objection: ``field`` holds ``match``, which must not be published (``severity``
    ``"error"``) or deserves a second look (``"warning"``)."""

    field: str
    message: str
    match: str
    severity: str = "error"
    check: str = ""  # the name of the check that objected


# Month names of every language masbot speaks (Babel's), besides the English spellings.
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b|"
          + localwords.month_pattern())
_BIRTH = re.compile(
    r"\bd\.?o\.?b\b\.?"
    r"|\bdate\s+of\s+birth\b|\bbirth\s*date\b"
    r"|\bbirth\s*day\s*(?:is|was|[:=-])?\s*(?:on\s+)?(?:the\s+)?(?:\d|" + _MONTH + r")"
    r"|\bborn(?:\s*:)?\s+(?:on\s+|in\s+)?(?:the\s+)?(?:\d|" + _MONTH + r")"
    # "fecha de nacimiento", "nacida el 5 de mayo", "nació en 1990", "su cumpleaños es el 3"
    r"|\bfecha\s+(?:de\s+)?nac(?:imiento\b|\.)|\bf\.\s*(?:de\s+)?nac(?:imiento\b|\.)"
    r"|\bnac(?:id[oa]s?|i[oó]|ieron|imos|iste|[ií])\b(?:\s*:)?\s+(?:el\s+|en\s+|un\s+|la\s+)?"
    r"(?:d[ií]a\s+)?(?:\d|" + _MONTH + r")"
    r"|\bcumplea[nñ]os\s*(?:es|era|fue|ser[aá]|[:=-])?\s*(?:el\s+)?(?:d[ií]a\s+)?(?:\d|"
    + _MONTH + r")",
    re.IGNORECASE,
)

# Words after which any number is an identifier of the person.
_STRONG = (r"booking|docket|inmate|prisoner|detainee|alien(?:\s+registration)?|a-?file"
           r"|a-number|a\s*#|permanent\s+resident(?:\s+card)?|green\s+card|uscis|subject\s+id"
           # "número de caso", "nº de expediente", "expediente", "registro de extranjero"
           r"|(?:n[uú]mero|n[uú]m\.?|n\.?\s?º|no\.)\s+de\s+(?:caso|causa|expediente|reserva"
           r"|registro|fichaje|recluso|reclusa|preso|presa|interno|interna|detenido|detenida"
           r"|extranjero|identificaci[oó]n|a\b)"
           r"|expediente|registro\s+de\s+extranjero|tarjeta\s+de\s+residen(?:cia|te)"
           r"|causa\s+penal|carpeta\s+de\s+investigaci[oó]n|averiguaci[oó]n\s+previa")
# Words that are also ordinary words: a number must be marked as one (no., #) or look like a
# reference (letters or separators in it), so "in case 1000 people share" passes.
_WEAK = (r"case|jail|court|file|caso|causa|c[aá]rcel|juzgado|tribunal|corte|archivo|reo|rea"
         r"|preso|presa|detenid[oa]|reclus[oa]")
_QUALIFIER = r"(?:\s*(?:no\b\.?|nr\b\.?|num(?:ber)?\b\.?|n°|#|id\b|n[uú]m(?:ero)?\b\.?|n\.?\s?º))"
_NUMBER = r"[A-Za-z]{0,4}[-:/.]?\d[A-Za-z0-9:/.-]*"
_CASE_NUMBER = re.compile(
    rf"\b(?P<kw>{_STRONG}|{_WEAK})(?P<q>{_QUALIFIER}?)(?:\s+(?:is|was|es|era|fue))?\s*[:#]?\s*"
    rf"(?P<num>{_NUMBER})",
    re.IGNORECASE,
)
_WEAK_WORD = re.compile(rf"^(?:{_WEAK})$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An alien number written on its own: A followed by 8 or 9 digits (upper-case A only).
_A_NUMBER = re.compile(r"\bA\s*#?\s*-?\s*\d{3}[- ]?\d{3}[- ]?\d{3}\b|\bA-?\d{8}\b")
_SSN = re.compile(
    r"\b\d{3}(?P<sep>[- .])\d{2}(?P=sep)\d{4}\b"
    r"|\b(?:ssn|social security (?:number|no\b\.?|#))(?: (?:is|was))? ?[:#]? ?\d[\d -]{7,}"
    r"|\b(?:n[uú]mero de seguro social|seguro social (?:n[uú]m(?:ero)?\b\.?|no\b\.?|#|n\.?\s?º))"
    r"(?: (?:es|era|fue))? ?[:#]? ?\d[\d -]{7,}",
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
           r"|charged|arrestad[oa]s?|detenid[oa]s?|acusad[oa]s?|imputad[oa]s?|encarcelad[oa]s?"
           r"|procesad[oa]s?|bajo custodia)")
_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_NAME = rf"[{_UPPER}][{_LOWER}'’-]+(?: [{_UPPER}][{_LOWER}'’.-]*){{0,3}}"  # four words: linear
_NAME_AFTER = re.compile(rf"\b{_ARREST}\b[:,]? (?:(?i:is|are|was|were|named|called|including"
                         rf"|include|incl\.|es|son|fue|fueron|llamad[oa]s?|de nombre"
                         rf"|incluyendo|incluye|entre ell[oa]s) )?(?P<name>{_NAME})")
_NAME_BEFORE = re.compile(rf"(?P<name>{_NAME}) (?i:was|were|got|is|are|has been|have been"
                          rf"|had been|fue|fueron|est[aá]|est[aá]n|estaba|estaban|ha sido"
                          rf"|han sido|hab[ií]a sido|sigue|siguen|qued[oó]|quedaron) {_ARREST}\b")
_NOT_NAMES = frozenset(
    """a an the we they he she it i you our their his her all everyone anyone someone people
    protesters comrades friends folks neighbours neighbors students workers members organisers
    organizers supporters on at in for to from this that those these who some many several
    today tomorrow tonight yesterday monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    court county jail police please come bring after before and or but so if when while
    one two three four five six seven eight nine ten dozens
    el la los las un una unos unas nosotros nosotras ellos ellas el ella yo usted ustedes
    nuestro nuestra nuestros nuestras su sus mi mis todos todas alguien amigo amiga amigos
    amigas companero companera companeros companeras vecino vecina vecinos vecinas
    manifestantes estudiantes trabajadores trabajadoras miembros personas gente en de del por
    para desde hoy manana ayer anoche esta este corte carcel policia tribunal juzgado por favor
    venga vengan traiga traigan despues antes y o pero si cuando mientras uno dos tres cuatro
    cinco seis siete ocho nueve diez docenas lunes martes miercoles jueves viernes sabado
    domingo enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre
    noviembre diciembre""".split()
)
# Legal defence: the story tells the alleged events, or repeats the police's account.
_NARRATED = re.compile(
    r"\b(?:i|we|he|she|they)\s+(?:(?:allegedly|supposedly|apparently|just|then)\s+)?"
    r"(?:threw|hit|broke|punched|kicked|pushed|shoved|grabbed|stole|smashed|shot|stabbed"
    r"|attacked|assaulted|damaged|vandali[sz]ed|spray-painted|resisted|fled|burned|set fire"
    r"|ran from|fought|bit|spat)\b"
    r"|\b(?:the\s+)?(?:police|cops|officers?|prosecutors?|prosecution|district attorney)\s+"
    r"(?:say|says|said|claim|claims|claimed|allege|alleges|alleged|accuse|accused)\b"
    r"|\baccording to\s+(?:the\s+)?(?:police|prosecutors?|prosecution|charges|police report)\b"
    # "él lanzó", "ellos rompieron", "la policía dice", "según la fiscalía"
    r"|\b(?:yo|nosotr[oa]s|[ée]l|ella|ellos|ellas)\s+(?:(?:supuestamente|presuntamente|solo"
    r"|luego|entonces)\s+)?(?:lanz[oó]|lanc[eé]|lanzaron|lanzamos|golpe[oóeé]|golpearon"
    r"|golpeamos|romp[ií]|rompi[oó]|rompieron|rompimos|pate[oóeé]|patearon|empuj[oóeé]"
    r"|empujaron|rob[oóeé]|robaron|dispar[oóeé]|dispararon|apu[nñ]al[oóeé]|apu[nñ]alaron"
    r"|atac[oó]|ataqu[eé]|atacaron|agred[ií]|agredi[oó]|agredieron|da[nñ][oóeé]|da[nñ]aron"
    r"|pint[oóeé]|pintaron|resist[ií]|resisti[oó]|resistieron|hu[ií]|huy[oó]|huyeron"
    r"|quem[oóeé]|quemaron|mordi[oó]|escupi[oó]|pele[oó]|pelearon)\b"
    r"|\b(?:la\s+|los\s+)?(?:polic[ií]as?|fiscal[ií]a|fiscal|agentes|oficiales)\s+(?:dice|dicen"
    r"|dijo|dijeron|afirma|afirman|asegura|aseguran|alega|alegan|acusa|acusan|sostiene"
    r"|sostienen)\b"
    r"|\bseg[uú]n\s+(?:la\s+|el\s+|los\s+)?(?:polic[ií]a|fiscal[ií]a|fiscal|cargos"
    r"|informe\s+policial|acusaci[oó]n)\b",
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
            while words and fold(words[0]).strip(".,") in _NOT_NAMES:
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

    ``message`` is a catalog sentence (marked with ``N_``, translated when it is told); it
    may name the text found as ``{match}``, and the field and value that turn the check off
    as ``{field}`` and ``{value}``. ``unless``: a (field, value) the form can give to turn
    the check off (``Medical-Details-OK: yes``); ``only_if``: the check runs only when that
    field has one of these values.
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

    def told(self, match: str, tr: Lang = EN) -> str:
        """The message about ``match``, in ``tr``'s language."""
        field, value = self.unless or ("", "")
        return tr._(self.message, match=match, field=tr.words.field_name(field),
                    value=tr.words.value(field, value))

    def run(self, texts: Iterable[tuple[str, str]], tr: Lang = EN) -> list[Finding]:
        """Every finding in ``(field, text)`` pairs, told in ``tr``'s language.

        Runs of spaces and line breaks become one space first: the patterns then never
        backtrack over long whitespace, and a number split over two lines is still found.
        """
        return [Finding(name, self.told(match, tr), match, self.severity)
                for name, text in texts for match in self.find(" ".join(text.split()))]


CHECKS: dict[str, Check] = {
    "no-birth-dates": Check(_birth_dates, N_("remove the date of birth: it is never published")),
    "no-case-numbers": Check(
        _case_numbers,
        N_("remove the booking, docket, case or alien number: it is never published")),
    "no-ssn": Check(
        _ssns, N_("remove what looks like a social security number: it is never published")),
    "no-street-addresses": Check(
        _street_addresses, N_("remove the street address ('{match}'): give the town only")),
    "medical-details": Check(
        _medical, N_("'{match}' is medical detail: publish it only with {field}: {value} "
                     "(the person agreed), or leave it out"),
        unless=("Medical-Details-OK", "yes")),
    "minors": Check(_minors, N_("this mentions a child ('{match}'): never publish a child's "
                                "name, age or school"), "warning"),
    "no-arrestee-names": Check(
        _arrestee_names, N_("do not name arrestees in a support post ('{match}'): write 'our "
                            "friend' or leave the name out"),
        only_if=("Kind", ("jail-support", "court-support"))),
    "narrated-events": Check(
        _narrated, N_("this seems to tell the alleged events ('{match}'): anything published "
                      "can be used in court; describe the person and the need, and ask the "
                      "lawyer"),
        "warning"),
    "quotes-need-consent": Check(
        _quotes, N_("a quote is only published with {field}: {value} (the person quoted "
                    "approved these words)"), unless=("Quote-Consent", "yes")),
}
CROSS_CHECKS = frozenset({"goal-or-date-when-extended"})
"""Checks across fields that :mod:`masbot.story.validate` runs itself."""
KNOWN_CHECKS = frozenset(CHECKS) | CROSS_CHECKS
"""Every name a template's ``checks:`` may list."""


def lint(check_names: Iterable[str], texts: list[tuple[str, str]],
         flags: Mapping[str, object] | None = None, *, tr: Lang = EN) -> list[Finding]:
    """Run the named checks over ``(field, text)`` pairs; unknown check names are skipped.

    ``flags`` are the form's public values, for checks that depend on another field; the
    messages are in ``tr``'s language. Returns every finding, in check order, then field
    order, then position.
    """
    findings: list[Finding] = []
    for name in check_names:
        check = CHECKS.get(name)
        if check and check.applies(flags or {}):
            findings.extend(f._replace(check=name) for f in check.run(texts, tr))
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


def _found(rule: str, match: str, alias: str, tr: Lang) -> str:
    """The sentence saying what rule ``rule`` found."""
    if rule == "full-names":
        return tr._("'{match}' looks like a full name.", match=match)
    if rule == "other-names" and alias:
        return tr._("'{match}' is a name beyond the published name '{alias}'.", match=match,
                    alias=alias)
    if rule == "other-names":
        return tr._("'{match}' is a name beyond the published name.", match=match)
    if rule == "police-claims":
        return tr._("'{match}' repeats what police or prosecutors claim.", match=match)
    if rule == "minors":
        return tr._("'{match}' mentions a child.", match=match)
    if rule == "minor-ages":
        return tr._("'{match}' gives a child's age.", match=match)
    if rule == "medical-details":
        return tr._("'{match}' is medical detail.", match=match)
    return tr._("'{match}' tells someone's immigration status.", match=match)


def _advice(rule: Rule, level: str, consent: str, tr: Lang) -> str:
    """The sentence saying what to do under this ``consent`` class, at this ``level``."""
    field = tr.words.field_name("Consent")
    shown = tr.words.value("Consent", consent)
    flag, yes = rule.unless or ("Medical-Details-OK", "yes")
    flag_field, flag_value = tr.words.field_name(flag), tr.words.value(flag, yes)
    self_ = consent == "self"
    if level == "refuse" and rule.name == "full-names":
        return tr._("As you file for yourself, publish a first name, alias or initials only.") \
            if self_ else tr._("With {field}: {consent}, publish a first name, alias or initials "
                               "only.", field=field, consent=shown)
    if level == "refuse" and rule.name == "other-names":
        return tr._("As you file for yourself, use the published name or leave the name out.") \
            if self_ else tr._("With {field}: {consent}, use the published name or leave the "
                               "name out.", field=field, consent=shown)
    if level == "refuse" and rule.name == "medical-details":
        return tr._("As you file for yourself, leave it out, or add {flag}: {yes} when the "
                    "person agreed to publish it.", flag=flag_field, yes=flag_value) \
            if self_ else tr._("With {field}: {consent}, leave it out, or add {flag}: {yes} "
                               "when the person agreed to publish it.", field=field,
                               consent=shown, flag=flag_field, yes=flag_value)
    if level == "refuse":
        return tr._("As you file for yourself, leave it out.") if self_ else tr._(
            "With {field}: {consent}, leave it out.", field=field, consent=shown)
    if rule.name == "minors":
        return tr._("As you file for yourself, check that no child's name, age or school is "
                    "given.") if self_ else tr._(
            "With {field}: {consent}, check that no child's name, age or school is given.",
            field=field, consent=shown)
    if rule.name == "minor-ages":
        return tr._("As you file for yourself, leave the age out unless the parent agreed to "
                    "it.") if self_ else tr._(
            "With {field}: {consent}, leave the age out unless the parent agreed to it.",
            field=field, consent=shown)
    return tr._("As you file for yourself, publish it only if the person agreed to exactly "
                "this.") if self_ else tr._(
        "With {field}: {consent}, publish it only if the person agreed to exactly this.",
        field=field, consent=shown)


_TEXT_FINDERS: dict[str, Callable[[str], Iterator[str]]] = {
    "police-claims": _claims, "minors": _minors, "minor-ages": _minor_ages,
    "medical-details": _medical, "immigration-status": _immigration,
}


def apply_rules(rules: Iterable[Rule], consent: str, texts: list[tuple[str, str]],
                name_texts: list[tuple[str, str]], alias: str = "", known: Iterable[str] = (),
                flags: Mapping[str, object] | None = None, *, tr: Lang = EN) -> list[Finding]:
    """Run the template's privacy ``rules`` for this ``consent`` class.

    ``texts`` are every public free-text ``(field, text)``; ``name_texts`` those where a
    person's name must not appear (not the fields that name a fund, a voucher or an
    office). ``alias`` is the Name-To-Publish; ``known`` are words of the form's place and
    organisation fields. A rule whose ``unless`` field has its value in ``flags`` is off.
    Each finding's message says, in ``tr``'s language, what was found, what to do under this
    consent, and why (the rule's ``why``, or its translation in the language's field file).
    """
    flags = flags or {}
    known = tuple(known)
    findings: list[Finding] = []
    flat_texts = [(field_name, " ".join(text.split())) for field_name, text in texts]
    flat_name_texts = [(field_name, " ".join(text.split())) for field_name, text in name_texts]
    named: dict[int, list[names.NameFinding]] = {}  # both name rules read the same texts' names
    for rule in rules:
        level = rule.level(consent)
        if level == "allow" or (rule.unless and str(flags.get(rule.unless[0], "")).casefold()
                                == rule.unless[1].casefold()):
            continue
        severity = "error" if level == "refuse" else "warning"
        said: tuple[str, str] | None = None  # the advice and the why, made when needed
        for n, (field_name, flat) in enumerate(
                flat_name_texts if rule.name.endswith("names") else flat_texts):
            if rule.name.endswith("names"):
                kind = "full-name" if rule.name == "full-names" else "first-name"
                if n not in named:
                    named[n] = names.find(flat, alias, known)
                found = [f.text for f in named[n] if f.kind == kind]
            else:
                found = list(_TEXT_FINDERS[rule.name](flat))
            for match in found:
                if said is None:
                    said = (_advice(rule, level, consent, tr), tr._(
                        "Why: {why}", why=" ".join(tr.words.why(rule.name, rule.why).split())))
                message = " ".join((_found(rule.name, match, alias, tr), *said))
                findings.append(Finding(field_name, message, match, severity, rule.name))
    return findings
