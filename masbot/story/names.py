"""Finding people's names in a member's free text, without a dictionary download.

Used by the privacy lint (:mod:`masbot.story.privacy`). Two findings:

* a *full name*: two or more capitalised words in a row that look like a person's names
  (a known first name followed by a capitalised word, or two capitalised words that are
  not common words) — "Maria Lopez", "Xochitl Ramírez Ortega";
* a *first name beyond the alias*: a known first name that is not part of the
  ``Name-To-Publish`` alias ("Kim" when the alias is "K.").

Guards against false positives, because a refused appeal costs a stressed member a round of
mail: a run of capitalised words that holds an organisation or place word ("Anytown
Community Bail Fund", "Cesar Chavez Park", "Martin Luther King Jr. Blvd") is not a person;
nor is a name after "Saint", "San", "St.", "Fort", "Mount", ...; nor an official named with
a title ("Mayor Jane Doe", "Sheriff Tom Bryce"), nor words that appear in the form's place
and organisation fields (Location, Held-At, Posted-By, ...). Months, weekdays and common
English and Spanish words are never names. What it misses: a name made only of common
words ("Hope Rivers"), a surname alone ("Lopez was arrested"), names written in lower case.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Iterator

# Common first names (US census lists, Spanish-speaking countries, a few others). Lower case.
FIRST_NAMES = frozenset("""
aaron abby abdul abigail abraham ada adam adan adela adrian adriana agustin ahmed aida aisha
alan alba albert alberto alejandra alejandro alex alexa alexander alexandra alexis alfonso
alfredo ali alice alicia alison allison alma alvaro amanda amber amelia amina amir amy ana
andre andrea andres andrew andy angel angela angelica angie anita ann anna anne annie
anthony antonia antonio april ariana ariel arturo ashley aubrey audrey aurora austin ava
barbara beatriz becky ben benjamin bernardo beth betty beverly bianca blanca bob bobby
brandon brenda brian brianna bridget brittany bruce bruno bryan caleb camila cameron carla
carlos carmen carol carolina caroline carrie cassandra catalina catherine cecilia cesar
chad charles charlie charlotte chen cheryl chris christian christina christine christopher
cindy claire clara claudia cody colin connor cristian cristina crystal cynthia daisy dakota
dale damian dan dana daniel daniela danielle danny dante darius darnell david dean debbie
deborah dee denise dennis derek desiree devon diana diane diego dolores dominic donald donna
doris dorothy dylan eddie edgar eduardo edward edwin elena eli elias elijah elisa elizabeth
ella ellen elsa emily emma enrique eric erica erik erika ernesto esperanza esteban estela
esther ethan eugene eva evan evelyn fatima felipe felix fernanda fernando fiona francisca
francisco frankie gabriel gabriela gary gerardo gilberto gina gloria gonzalo greg gregory
guadalupe guillermo gustavo hannah harold harry hassan hector heather helen hernan hilda
hugo ian ibrahim ignacio irene iris isaac isabel isabella isaiah ismael ivan jacob jaime
jake james jamie jamal jan jane janet janice jared jasmine jason javier jay jayden jean
jeff jeffrey jen jenna jennifer jenny jeremy jerome jerry jesse jessica jesus jill jim
jimena jimmy jo joan joanna joaquin jocelyn joe joel john johnny jon jonathan jordan jorge
jose josefina joseph josh joshua joyce juan juana judith judy julia julian juliana julie
julio justin karen karina karla kate katherine kathleen kathy katie kayla keisha keith kelly
ken kendra kenneth kevin kim kimberly kyle laila lamar latoya laura lauren layla leah lee
leila leo leon leonardo leslie leticia liam lidia lily linda lisa liz lorena lorenzo louis
lucas lucia luis luisa luz lydia lynn mackenzie madison malik manuel marco marcos marcus
margaret maria mariana mariano maribel marie marisol mario marisa marta martha martin
marvin mary mason mateo matt matthew mauricio maya megan melissa mercedes mia michael
michelle miguel mike milagros miriam mohamed mohammed monica monique morgan muhammad nadia
nancy naomi natalia natalie nathan nicholas nick nicole noah noemi nora norma olga oliver
olivia omar oscar pablo pamela paola patricia patrick paul paula pedro peter philip pilar
priya rachel rafael ramon ramona randy raquel raul rebecca renee ricardo richard rick
rigoberto riley rita robert roberto robin rodrigo roger rolando ronald rosa rosario ruben
ruth ryan salma salvador sam samantha samuel sandra santiago sara sarah scott sean sergio
shannon sharon shawn sheila shirley silvia simon sofia sonia sophia stacy stephanie stephen
steve steven susan susana sylvia tamara tanya tara taylor teresa terry thomas tiffany tim
timothy tina tom tomas tony tracy travis trevor tyler valentina valeria vanessa veronica
vicente victor vincent violeta virginia walter wanda wendy william xavier ximena yasmin
yesenia yolanda yusuf zachary zoe
""".split())

# First names that are also ordinary words, months or places: never taken for a name alone.
AMBIGUOUS = frozenset("""
april august may june grace hope faith joy will mark bill rose river sky summer autumn dawn
rich frank guy pat sue art jack ray drew chase hunter paris jordan dakota austin lincoln
victoria dolores rosario pilar luz paz consuelo mercedes angel jesus santiago trinidad
guadalupe carmen angeles sol amparo esperanza milagros
""".split())

# Common surnames that are no ordinary words, for names written all in lower case on a phone
# ("maria lopez"): a lower-case first name is only taken for part of a full name before one.
SURNAMES = frozenset("""
smith johnson williams jones garcia miller davis rodriguez martinez hernandez lopez gonzalez
wilson anderson thomas taylor moore jackson martin thompson harris sanchez clark ramirez
lewis robinson walker allen wright torres nguyen flores adams nelson rivera campbell mitchell
roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart morris
morales murphy cook rogers gutierrez ortiz morgan cooper peterson ramos kim cox ward
richardson watson brooks chavez wood bennett gray mendoza ruiz hughes price alvarez castillo
sanders patel myers ross foster jimenez powell jenkins perry russell sullivan henderson
coleman jenkins perry fisher vasquez simmons romero jordan patterson alexander hamilton
graham reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran
medina aguilar stevens murray ford castro marshall owens harrison fernandez mcdonald
woods washington kennedy wells vargas henry chen freeman webb tucker guzman burns crawford
olson simpson porter hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks
holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice
schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn
kelley spencer hawkins arnold pierce vazquez hansen peters santos hart bradley knight
elliott cunningham duncan armstrong hudson carroll lane riley andrews alvarado ray delgado
berry perkins hoffman johnston matthews pena richards contreras willis carpenter lawrence
sandoval guerrero george chapman rios estrada ortega watkins greene nunez wheeler valdez
harper burke larson santiago maldonado morrison franklin carlson austin dominguez carr
lawson jacobs obrien lynch singh vega bishop montgomery oliver jensen harvey williamson
gilbert dean sims espinoza howell li wong reid hanson le mccoy garrett burton fuller wang
weber welch rojas lucero navarro acosta cabrera figueroa pacheco juarez mejia campos rosales
velasquez luna ibarra solis cortez huang wu zhang liu yang zhao huynh pham hoang vu dang
bui do ngo duong ly khan ali ahmed hussain rahman begum das sharma kumar gupta shah
""".split()) - frozenset("""black rose stone west ray dean hunter mason grant rice wood fox
hunt ford gray cook price mills lane burns knight carpenter bishop oliver jordan george
austin henry le do ali""".split())
# Lower-case words that are first names and also ordinary words in English or Spanish.
LOWER_AMBIGUOUS = frozenset("""
dan mia ella marco tomas julio dean chad bob nick rob harry randy carol jimmy peter linda
alma leon aurora norma salvador gloria clara alba blanca rosa amber crystal heather iris
lily daisy robin violeta ramona cesar lee
""".split())

# Words after which a capitalised name is a place or a public official.
PLACE_PREFIXES = frozenset("""
saint st st. ste san santa santo são sao fort ft mount mt lake port new north south east
west upper lower los las el la del
""".split())
TITLES = frozenset("""
mayor sheriff judge justice senator sen sen. representative rep rep. governor gov gov.
councilmember councilman councilwoman councillor councilor commissioner supervisor
president secretary minister director warden chief superintendent alderman alderwoman
da attorney prosecutor congressman congresswoman congressmember assemblymember
dr dr. prof prof. reverend rev rev. pastor father padre bishop officer deputy captain
lieutenant sergeant detective agent alcalde alcaldesa juez jueza gobernador gobernadora
senador senadora presidente presidenta
""".split())
# Courtesy titles: "Mr Dobbs" is a surname alone, but "Ms. Patricia Gomez" is a full name.
HONORIFICS = frozenset("mr mrs ms mx miss sr sra srta don doña señor señora".split())
# Words that make a run of capitalised words an organisation, place, event or building.
ORG_WORDS = frozenset("""
fund funds bail bond bonds jail jails prison prisons county city town village state district
center centre centro church iglesia mosque temple synagogue parish council committee
commission union unions collective collectives network project coalition alliance society
association federation foundation school schools university college academy institute
hospital clinic medical health library museum department dept office agency bureau court
courts courthouse house hall bank credit services service cooperative coop co-op co inc
llc ltd corp company group team club league party movement campaign action support solidarity
mutual aid kitchen pantry shelter market farm store shop cafe restaurant
street st avenue ave road rd boulevard blvd lane ln drive dr way highway hwy plaza square
park parks bridge river lake mountain valley beach island bay creek
facility processing detention correctional corrections sheriff's police
day week month year memorial fest festival march rally vigil
north south east west northern southern eastern western
tenants tenant workers worker neighbors neighbours friends families legal defense defence
calle avenida plaza parque barrio colonia comité fondo iglesia escuela fianza fianzas valle
asociación asociacion centro cooperativa sindicato red colectivo coalición coalicion fundación
fundacion universidad clínica clinica biblioteca parroquia comunidad comedor albergue
vecinos vecinas unidos unidas inquilinos inquilinas trabajadoras familias amigos amigas
defensa brigada frente movimiento alianza asamblea círculo proyecto casa colectiva
organización red migrante migrantes
""".split())
# Common words that are capitalised at the start of a sentence or in a Title Case title.
COMMON = frozenset("""
a about above across after again against all almost alone along already also although
always am among an and another any anyone anything are around as ask asking at away back
be because been before being below best better between big both bring but by can cannot
come coming could day days dear did do does done down during each early either else end
enough even ever every everyone everything few find first for free from full get gets give
giving go going good got great had has have having he help helping her here him his home
how i if in into is it its just keep know last least left less let like little long look
lot made make many may me might more most much must my need needed needs never new next
no not nothing now of off on once one only or other our out over own part people person
please put quickly rather really right same say see send she should since so some someone
something soon still such take than thank thanks that the their them then there these they
thing things this those though through time to today together tomorrow too toward under
until up upon us very want was we week well were what when where which while who whole why
with within without would yes yet you your
bond bail jail free release released home held holiday holidays back family families
friend friends neighbour neighbor neighbours neighbors housemate roommate partner mother
father mom dad sister brother son daughter aunt uncle cousin grandmother grandfather wife
husband kids children child baby student students worker workers nurse teacher cook
urgent emergency asap now tonight weekend money rent food bills legal fees costs court
support supporting appeal appeals raise raising fundraiser donate donation donations share
sharing call calls rally vigil march protest protesters arrested arrest detained detention
bring get out stand stands together justice freedom solidarity love hope community lives
matter not bombs
dinner lunch breakfast meal meals rides ride car crash funeral medical hospital job loss
eviction evicted deposit utility utilities shutoff power water gas heat winter summer
before after cover covering pay paying paid lost losing left leaving stay staying
downtown uptown outside inside yesterday tonight here there last next
the los las el la lo un una unos unas de del y o en con por para su sus mi mis tu nuestro
nuestra nuestros nuestras este esta estos estas ese esa al es son fue era está están hay
que como cuando donde porque pero más muy ya no sí gracias ayuda ayúdanos ayudar favor
fianza libertad casa familia amigo amiga vecino vecina hermano hermana madre padre hijo
hija esposo esposa compañero compañera desde hasta antes después hoy mañana ayer semana
somos hola estamos necesitamos pedimos apoyo urgente ayúdenos apoyen donen comparta
compartan
""".split())
CALENDAR = frozenset("""
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
saturday sunday mon tue tues wed thu thur thurs fri sat sun
enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre
diciembre lunes martes miércoles miercoles jueves viernes sábado sabado domingo
christmas easter thanksgiving navidad
""".split())
PARTICLES = frozenset("de del la las los van von der den da di do dos das du le y bin al".split())

_PLACE_PREPOSITIONS = frozenset("in at from near outside inside en de del desde cerca hacia".split())
# Words that follow a person's name at the start of a sentence ("Thandiwe Okafor was ...").
_PERSON_VERBS = frozenset("""was is has had got gets will would needs works worked lives lived
has been cannot can't can could and fue es está estaba tiene tenía ha había trabaja vive""".split())
_SURNAME = re.compile(r"(?:ez|az|oz|iz|son|sen|ski|sky|ova?|enko|yan|ian|escu|elli|etti)$")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*\.?")
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\n(\[\"“”«»]|^\s*[-*•])\s*$")


@dataclass(frozen=True)
class Token:
    text: str  # the word without a trailing "'s" or "."
    start: int
    end: int
    capital: bool
    sentence_start: bool
    initial: bool  # "R." or "K"


def _tokens(text: str) -> list[Token]:
    return list(_tokens_cached(text))


@functools.lru_cache(maxsize=1024)  # validation looks at the alias and each field many times
def _tokens_cached(text: str) -> tuple[Token, ...]:
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        word = m.group(0)
        bare = re.sub(r"(?:['’]s)?\.?$", "", word)
        before = text[max(0, m.start() - 40):m.start()]
        out.append(Token(
            bare, m.start(), m.end(), word[:1].isupper(),
            bool(_SENTENCE_END.search(before)) or not out,
            len(bare) == 1 and bare.isupper()))
    return tuple(out)


@functools.lru_cache(maxsize=16384)  # the same few hundred words, again for every field
def _key(word: str) -> str:
    """The comparison form of a word: case-folded, without accents ("María" is "maria")."""
    folded = unicodedata.normalize("NFD", word.casefold().replace("’", "'"))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _folded(words: frozenset[str]) -> frozenset[str]:
    return frozenset(_key(w) for w in words)


# The lists above are written with their accents ("señora", "comité", "está"); words are
# compared by _key, without them.
FIRST_NAMES, AMBIGUOUS, SURNAMES = _folded(FIRST_NAMES), _folded(AMBIGUOUS), _folded(SURNAMES)
LOWER_AMBIGUOUS, PLACE_PREFIXES = _folded(LOWER_AMBIGUOUS), _folded(PLACE_PREFIXES)
TITLES, HONORIFICS, ORG_WORDS = _folded(TITLES), _folded(HONORIFICS), _folded(ORG_WORDS)
COMMON, CALENDAR, PARTICLES = _folded(COMMON), _folded(CALENDAR), _folded(PARTICLES)
_PLACE_PREPOSITIONS, _PERSON_VERBS = _folded(_PLACE_PREPOSITIONS), _folded(_PERSON_VERBS)


def is_first_name(word: str) -> bool:
    """True for a capitalised, well-known first name that is not also an ordinary word."""
    key = _key(word)
    return word[:1].isupper() and key in FIRST_NAMES and key not in AMBIGUOUS


_ABBREVIATIONS = frozenset("jr sr st ste mt ft dr mr mrs ms mx sra srta rev prof gov sen rep".split())


def _joined(text: str, a: Token, b: Token) -> bool:
    """True when ``b`` follows ``a`` in one phrase: one space between them, no comma, and no
    full stop (but "R. Lopez", "Jr. Blvd" and "St. Paul" are one phrase)."""
    word = text[a.start:a.end]
    if word.endswith(".") and not (a.initial or _key(a.text) in _ABBREVIATIONS):
        return False
    return text[a.end:b.start] == " " and not word.endswith(("'s", "’s"))


def _runs(text: str, tokens: list[Token]) -> Iterator[list[Token]]:
    """Runs of capitalised words (particles like "de" may join them) on one line."""
    run: list[Token] = []
    for tok in tokens:
        joined = bool(run) and _joined(text, run[-1], tok)
        if tok.capital and joined:
            run.append(tok)
        elif joined and _key(tok.text) in PARTICLES:
            run.append(tok)
        else:
            if run:
                yield _trim(run)
            run = [tok] if tok.capital else []
    if run:
        yield _trim(run)


def _trim(run: list[Token]) -> list[Token]:
    while run and not run[-1].capital:  # a particle at the end is a word of the sentence
        run = run[:-1]
    return run


def _segments(run: list[Token], known: frozenset[str]) -> Iterator[tuple[int, list[Token]]]:
    """Parts of a run between common words ("Get | Sam | Home"), with their index in it."""
    part: list[Token] = []
    first = 0
    for i, tok in enumerate(run):
        key = _key(tok.text)
        plain = (key in COMMON or key in CALENDAR) and not is_first_name(tok.text) \
            and key not in ORG_WORDS and key not in PLACE_PREFIXES and key not in TITLES \
            and not (key in PARTICLES and part)  # "Fondo de Fianzas": one name
        if plain:
            if part:
                yield first, part
            part = []
            continue
        if not part:
            first = i
        part.append(tok)
    if part:
        yield first, part


@dataclass(frozen=True)
class NameFinding:
    kind: str  # "full-name" or "first-name"
    text: str


def find(text: str, alias: str = "", known: Iterable[str] = ()) -> list[NameFinding]:
    """Full names, and known first names that are not part of ``alias``, in ``text``.

    ``known``: words of the form's place and organisation fields, never taken for names.
    A run that only repeats the alias (or its words) is not reported: the alias itself is
    checked on its own field.
    """
    known_words = frozenset(_key(w) for w in known)
    alias_words = {_key(t.text) for t in _tokens(alias)}
    tokens = _tokens(text)
    position = {id(t): i for i, t in enumerate(tokens)}
    findings: list[NameFinding] = []
    for run in _runs(text, tokens):
        if not run:
            continue
        index = position[id(run[0])]
        before = _key(tokens[index - 1].text) if index and _joined(
            text, tokens[index - 1], run[0]) else ""
        for first, part in _segments(run, known_words):
            lead = _key(part[0].text)
            prev = _key(run[first - 1].text) if first else before
            keys = [_key(t.text) for t in part]
            if any(k in ORG_WORDS for k in keys) or lead in PLACE_PREFIXES or lead in TITLES \
                    or prev in PLACE_PREFIXES or prev in TITLES:
                continue  # "Inland Bond Fund", "Saint Paul", "Mayor Jane Doe"
            words = [t for t in part if _key(t.text) not in PARTICLES and not t.initial
                     and _key(t.text).rstrip(".") not in HONORIFICS]
            if prev.rstrip(".") in HONORIFICS and len(words) < 2:
                continue  # "Mr Dobbs": a surname alone
            if any(_key(t.text) in known_words for t in words):
                continue  # a word of the form's own Location, Held-At, Posted-By, ...
            before_part = run[first - 1] if first else (
                tokens[index - 1] if index else None)
            lead_in = _key(before_part.text) if before_part is not None and (
                first or _joined(text, before_part, run[0])) else ""
            if lead_in in _PLACE_PREPOSITIONS and not any(_key(t.text) in FIRST_NAMES
                                                          for t in words):
                continue  # "moved to Otay Mesa", "in Boyle Heights": a place
            after = position[id(part[-1])] + 1
            then = _key(tokens[after].text) if after < len(tokens) and _joined(
                text, part[-1], tokens[after]) else ""
            if len(words) >= 2 and (any(is_first_name(t.text) for t in words)
                                    or not words[0].sentence_start or len(words) >= 3
                                    or _SURNAME.search(words[1].text) or then in _PERSON_VERBS):
                if not {_key(t.text) for t in words} <= alias_words:
                    findings.append(NameFinding(
                        "full-name", text[part[0].start:part[-1].end].rstrip(".")))
                continue
            for t in words:
                if is_first_name(t.text) and alias_words and _key(t.text) not in alias_words:
                    findings.append(NameFinding("first-name", t.text))
    findings += _lower_case(text, tokens, alias_words, known_words)
    return findings


def names_organisation(text: str) -> bool:
    """True when ``text`` names an organisation, place or building ("Inland Bond Fund")."""
    return any(_key(t.text) in ORG_WORDS for t in _tokens(text) if t.capital)


def _lower_case(text: str, tokens: list[Token], alias_words: set[str],
                known: frozenset[str]) -> list[NameFinding]:
    """Names written in lower case, as phones let people: "maria lopez" (a first name and a
    surname), or a first name beyond the alias ("kim" when the alias is "K.")."""
    out: list[NameFinding] = []
    for i, tok in enumerate(tokens):
        key = _key(tok.text)
        if tok.capital or key not in FIRST_NAMES or key in AMBIGUOUS or key in LOWER_AMBIGUOUS \
                or key in COMMON or key in known:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and not nxt.capital and _joined(text, tok, nxt) \
                and _key(nxt.text) in SURNAMES:
            if not {key, _key(nxt.text)} <= alias_words:
                out.append(NameFinding("full-name", text[tok.start:nxt.end]))
            continue
        if alias_words and key not in alias_words:
            out.append(NameFinding("first-name", tok.text))
    return out
