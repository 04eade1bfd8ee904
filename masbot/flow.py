"""The whole way of a message, written down as tables. Read this module to know where any
message goes.

1. **Classify** (:data:`CLASSIFY`, the steps of :mod:`masbot.intake.classify`): the first step
   that recognises the message gives its verdict, one class per kind.
2. **Route** (:data:`ROUTES`): each verdict has its own ordered steps. :func:`route` walks
   them over the message's *facts* (plain data gathered beforehand, see
   :mod:`masbot.gather`). A step either lets the message go on (a *miss*, with the reason)
   or decides its outcome (a *hit*, which ends the route). Pure: no I/O, no clock, no
   randomness it is not handed.
3. **Effects**: the :class:`Plan` lists what to carry out, in order (record, sign and queue,
   notify moderators, answer). :class:`masbot.society.Society` carries them out;
   ``masbot rules explain`` prints the same plan, so the dry run and the daemon cannot
   disagree. The log names the step that decided.

The routes, in short::

    partner's post   verify > loop > forward-only > freshness > rules > off-path > images
                     -> relay (sign, record, queue) > notify moderators when held
    member request   rate-limit > images > number > rules
                     -> issue (clearsign, sign, record, queue) > notify when held > answer
    update           rate-limit > authorise > revise > rules
                     -> issue > notify when held > answer
    moderator        rate-limit > verify command > held > replay > approve or reject
                     -> moderate (sign, record, queue) > answer
    help, template,  rate-limit -> record > answer
    not-a-request,
    invalid,
    unreadable
    automatic        rate-limit -> record
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from masbot.appeal import canonical as appeals
from masbot.appeal.images import CleanImage
from masbot.intake import classify
from masbot.intake.classify import (Answered, Automatic, ModeratorCommand, PartnerPost, Request,
                                    Update, Verdict)
from masbot import lang, moderation
from masbot.lang import N_, Lang
from masbot.lang.sentence import Sentence, say
from masbot.moderation import Command, Verb
from masbot.post import verify
from masbot.post.build import PostImage, RelayRecord
from masbot.relay import loops, rules
from masbot.relay.partners import RelayAction, RuleTable
from masbot.store import AppealRecord
from masbot.story import answers
from masbot.story.templates import Catalogue

CLASSIFY: tuple[str, ...] = tuple(name for name, _ in classify.STEPS)
"""The classification steps, in order."""


class OutcomeKind(enum.StrEnum):
    """What became of a message: a verdict kind, or what a route step decided instead."""

    REQUEST = "request"  # a new appeal was issued (relayed, held or dropped by the rules)
    UPDATE = "update"  # the next revision of an appeal was issued
    PARTNER_POST = "partner-post"  # a partner's appeal was relayed, held or dropped
    MODERATION = "moderation"  # a moderator's command was obeyed
    HELP = "help"
    READER_REPLY = "reader-reply"
    TEMPLATE = "template"
    NOT_A_REQUEST = "not-a-request"
    INVALID = "invalid"
    UNREADABLE = "unreadable"
    AUTOMATIC = "automatic"
    REFUSED = "refused"  # a partner post or moderator command that failed its checks
    NOT_RELAYED = "not-relayed"  # a genuine partner post that goes no further (loop, stale…)
    RATE_LIMITED = "rate-limited"
    DUPLICATE = "duplicate"  # the same bytes were handled before


# --- the facts a route decides from ---------------------------------------------------------

@dataclass(frozen=True)
class Society:
    """Who we are, as the routes need it: plain values, never the whole configuration."""

    id: str
    name: str
    address: str
    language: str
    appeal_days: int
    fingerprint: str  # the society key's primary fingerprint
    table: RuleTable
    catalogue: Catalogue | None = None  # the templates, for the update form in answers


@dataclass(frozen=True)
class Facts:
    """Facts every route may use. ``sender_allowed`` is the per-sender rate limit's answer
    (partners' lists are never counted)."""

    now: datetime
    sender_allowed: bool = True
    dry_run: bool = False  # explain: nothing is counted, numbered or sent
    image_notes: str = ""  # what the sender is told about attachments


@dataclass(frozen=True)
class RequestFacts(Facts):
    """A member's new request: its number and Update-Key, and its attachments, cleaned."""

    number: int = 0
    update_key: str = ""
    images: tuple[CleanImage, ...] = ()


@dataclass(frozen=True)
class UpdateFacts(Facts):
    """An update: the newest recorded revision of the appeal it names, if it is ours."""

    original: AppealRecord | None = None


@dataclass(frozen=True)
class PartnerFacts(Facts):
    """A partner's post: the verification, and what the store knows of that appeal."""

    verified: verify.Accepted | verify.Refused = verify.Refused(
        verify.Reason.UNKNOWN_KEY, "no partner keys are loaded")
    newest: int | None = None  # the newest revision of this origin's appeal recorded here
    images: tuple[PostImage, ...] = ()  # the carried images we may relay (checked clean)
    images_note: str = ""  # why carried images are not relayed, when they are not


@dataclass(frozen=True)
class CommandFacts(Facts):
    """A moderator's command: verified against the pinned keys (or why not), the held
    revision it names and whether this exact command was obeyed before."""

    command: Command | str = "not checked"
    held: AppealRecord | None = None
    used: bool = False
    held_images: tuple[PostImage, ...] = ()
    waiting: tuple[tuple[str, int, str, str], ...] = ()  # for "held": id, revision, title, expiry


# --- effects: what the society carries out, in order ----------------------------------------

@dataclass(frozen=True)
class Record:
    """Record the message's outcome (by digest only)."""

    outcome: str


@dataclass(frozen=True)
class Issue:
    """Clearsign one of our own appeal revisions, sign its post when it is relayed, and record
    appeal, post and outbox rows in one transaction."""

    appeal: appeals.Appeal
    key_hash: str | None
    decision: rules.Decision
    images: tuple[PostImage, ...] = ()


@dataclass(frozen=True)
class Relay:
    """Sign a partner's verified appeal onward (when relayed) and record it."""

    post: verify.PostCheck
    partner: str
    decision: rules.Decision
    images: tuple[PostImage, ...] = ()


@dataclass(frozen=True)
class Moderate:
    """Obey a moderator's command once: sign and queue the approved post, or reject."""

    held: AppealRecord
    command_digest: str
    action: str  # "relay" (approved) or "rejected"
    relay: RelayRecord
    origin_key: str | None  # None: our own key
    title: str
    destinations: tuple[str, ...]
    images: tuple[PostImage, ...] = ()


@dataclass(frozen=True)
class NotifyModerators:
    """Tell the moderators an appeal revision waits for them."""

    appeal_id: str
    revision: int
    digest: str  # the revision's content digest: the notice's reference is bound to it
    origin: str  # the fingerprint of the society that signed the appeal
    title: str
    text: str
    expires: str
    private: str = ""
    images: tuple[PostImage, ...] = ()
    rule: str = ""


@dataclass(frozen=True)
class Answer:
    """Answer the sender. ``always``: not subject to the answers-per-minute limit (the answer
    that carries an Update-Key must never be lost to it)."""

    subject: str
    body: str
    always: bool = False


Effect = Record | Issue | Relay | Moderate | NotifyModerators | Answer


# --- the plan -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepTrace:
    """One step of a route: whether it decided (hit) or let the message go on, and why."""

    step: str
    hit: bool
    why: str

    def __str__(self) -> str:
        return f"{self.step}: {'HIT' if self.hit else 'pass'} - {self.why}"


@dataclass(frozen=True)
class Plan:
    """Everything decided about one message: carried out by the daemon, printed by explain."""

    verdict: Verdict
    route: str  # the name of the route taken (a key of ROUTES)
    steps: tuple[StepTrace, ...]
    outcome: OutcomeKind
    reason: str  # public: safe to log
    decided_by: str  # the step that decided
    effects: tuple[Effect, ...]
    decision: rules.Decision | None = None
    appeal_id: str | None = None

    @property
    def destinations(self) -> tuple[str, ...]:
        """The lists a post is queued for (none when held, dropped or refused)."""
        for effect in self.effects:
            match effect:
                case Issue(decision=d) | Relay(decision=d) if d.action == RelayAction.RELAY:
                    return d.destinations
                case Moderate(action="relay", destinations=destinations):
                    return destinations
        return ()

    @property
    def trace(self) -> list[str]:
        """Classification, then every route step, one line each."""
        return list(self.verdict.trace) + [str(s) for s in self.steps]


# --- routing --------------------------------------------------------------------------------

@dataclass
class _End:
    """A step's hit: the route ends with this outcome."""

    outcome: OutcomeKind
    reason: str
    effects: list[Effect] = field(default_factory=list)


@dataclass
class _Draft:
    """The working state of one route() call; never seen outside it."""

    verdict: Verdict
    society: Society
    facts: Facts
    appeal: appeals.Appeal | None = None
    decision: rules.Decision | None = None
    appeal_id: str | None = None


StepFn = Callable[[_Draft], "str | _End"]


@dataclass(frozen=True)
class Step:
    """One named step of a route and what it does, in words an operator reads."""

    name: str
    does: str
    run: StepFn


def _member_lang(d: _Draft) -> Lang:
    """The language of the answer to the member: the one classification chose
    (:func:`masbot.intake.classify.answer_lang`), else the society's."""
    return lang.get(d.verdict.language or d.society.language)


def _society_lang(d: _Draft) -> Lang:
    """The society's language: moderators are answered in it."""
    return lang.get(d.society.language)


def _rate_limit(d: _Draft) -> str | _End:
    if d.facts.dry_run:
        return "not counted in a dry run"
    if not d.facts.sender_allowed:
        return _End(OutcomeKind.RATE_LIMITED, "over the per-sender limit, not answered",
                    [Record(OutcomeKind.RATE_LIMITED)])
    return "under the per-sender limit"


def _reply(d: _Draft) -> str | _End:
    assert isinstance(d.verdict, (Answered, Automatic))
    effects: list[Effect] = [Record(d.verdict.kind)]
    if isinstance(d.verdict, Answered):
        effects.append(Answer(d.verdict.answer.subject, d.verdict.answer.body))
    return _End(OutcomeKind(d.verdict.kind), d.verdict.reason, effects)


# member requests ---------------------------------------------------------------------------

def _request_images(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, RequestFacts)
    if not facts.images:
        return "no image is published" + (" (attachments dropped)" if facts.image_notes else "")
    return f"{len(facts.images)} image(s) re-encoded from their pixels alone"


def _number(d: _Draft) -> str | _End:
    facts, society = d.facts, d.society
    assert isinstance(facts, RequestFacts) and isinstance(d.verdict, Request)
    appeal = appeals.build(
        d.verdict.validation, appeal_id=appeals.appeal_id(society.id, facts.now.year, facts.number),
        society=society.name, updates_to=society.address, issued=facts.now,
        appeal_days=society.appeal_days,
        language=d.verdict.form.language or society.language)
    if facts.images:
        appeal = dataclasses.replace(appeal, fields=appeal.fields + (
            (appeals.IMAGES, tuple(image.listing() for image in facts.images)),))
    d.appeal, d.appeal_id = appeal, appeal.appeal_id
    return f"numbered {appeal.appeal_id}" + (" (not taken in a dry run)" if facts.dry_run else "")


def _own_rules(kind: rules.Kind, template: Callable[[_Draft], str]) -> StepFn:
    def run(d: _Draft) -> str | _End:
        assert d.appeal is not None
        tags = d.appeal.get("Tags", ())
        d.decision = rules.decide(d.society.table, rules.Facts(
            origin=rules.LOCAL, template=template(d),
            tags=tuple(tags) if isinstance(tags, tuple) else (),
            language=str(d.appeal.get("Language", d.society.language)),
            location=str(d.appeal.get("Location", "")), kind=kind))
        return _decided(d.decision)
    return run


def _decided(decision: rules.Decision) -> str:
    return (f"{decision.action} by {decision.rule}"
            + (f" to {len(decision.destinations)} list(s)"
               if decision.action == RelayAction.RELAY else ""))


def _issue(d: _Draft) -> str | _End:
    assert d.appeal is not None and d.decision is not None
    facts, verdict, appeal, decision = d.facts, d.verdict, d.appeal, d.decision
    held = decision.action == RelayAction.HOLD
    images: tuple[PostImage, ...] = ()
    if isinstance(facts, RequestFacts):
        images = facts.images
        key_hash: str | None = key_hash_of(facts.update_key)
        assert isinstance(verdict, Request)
        outcome = OutcomeKind.REQUEST
    else:
        assert isinstance(facts, UpdateFacts) and facts.original is not None
        assert isinstance(verdict, Update)
        key_hash = facts.original.update_key_hash
        outcome = OutcomeKind.UPDATE
    effects: list[Effect] = [Issue(appeal, key_hash, decision, images)]
    if held:
        effects.append(NotifyModerators(appeal.appeal_id, appeal.revision, appeal.digest(),
                                        d.society.fingerprint, appeal.title, appeal.canonical_text(),
                                        appeal.expires.isoformat(), verdict.validation.private,
                                        images, decision.rule))
    tr = _member_lang(d)
    if isinstance(facts, RequestFacts):
        if decision.action == RelayAction.DROP:
            subject, body = (tr._("Your request was not posted"),
                             tr._("Your request is valid, but this society's policy does not "
                                  "post it. Please ask the society's organisers if you think "
                                  "this is a mistake.") + "\n")
        else:
            subject, body = answers.accepted(appeal, facts.update_key, verdict.validation,
                                             held=held, catalogue=d.society.catalogue, tr=tr)
        effects.append(Answer(subject, body + facts.image_notes, always=True))
    else:
        values = dict(appeal_id=appeal.appeal_id, revision=appeal.revision,
                      status=tr.words.value("Status", appeal.status))
        effects.append(Answer(
            tr._("[{appeal_id}] revision {revision}", **values),
            (tr._("Your update is published as revision {revision} of {appeal_id} (status: "
                  "{status}), along the same routes as the appeal once a moderator approves "
                  "it.", **values) if held
             else tr._("Your update is published as revision {revision} of {appeal_id} "
                       "(status: {status}), along the same routes as the appeal.", **values))
            + "\n\n" + appeal.canonical_text() + facts.image_notes, always=True))
    reason = f"{verdict.reason}, {decision.action} by {decision.rule}"
    return _End(outcome, reason, effects)


# updates -----------------------------------------------------------------------------------

def text_digest(text: str) -> str:
    """The SHA-256 of an appeal text, as the store records a partner's revision."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_hash_of(update_key: str) -> str:
    """What the store keeps of an Update-Key: its SHA-256, never the key."""
    return hashlib.sha256(update_key.encode("utf-8")).hexdigest()


def _authorise(d: _Draft) -> str | _End:
    facts, verdict = d.facts, d.verdict
    assert isinstance(facts, UpdateFacts) and isinstance(verdict, Update)
    original = facts.original
    d.appeal_id = verdict.refers_to
    if original is None or original.update_key_hash is None or not hmac.compare_digest(
            original.update_key_hash, key_hash_of(verdict.update_key)):
        # One answer for both cases, so the answer does not tell which appeal ids exist.
        tr = _member_lang(d)
        return _End(OutcomeKind.INVALID, "update refused: unknown appeal or wrong key", [
            Record(OutcomeKind.INVALID),
            Answer(tr._("Your update was not published"),
                   tr._("No appeal {appeal_id} of this society matches that {key}, so nothing "
                        "was changed. Copy the {refers_to} and {key} lines exactly from the "
                        "answer you got when the appeal was published.",
                        appeal_id=verdict.refers_to[:40],
                        key=tr.words.field_name("Update-Key"),
                        refers_to=tr.words.field_name("Refers-To")) + "\n")])
    return f"the Update-Key matches {original.appeal_id} revision {original.revision}"


def _revise(d: _Draft) -> str | _End:
    facts, verdict, society = d.facts, d.verdict, d.society
    assert isinstance(facts, UpdateFacts) and isinstance(verdict, Update)
    record = facts.original
    assert record is not None
    previous = appeals.restore(
        appeal_id=record.appeal_id, revision=record.revision, society=society.name,
        issued=record.issued, expires=record.expires, status=record.status,
        updates_to=society.address, fields=record.fields)
    d.appeal = appeals.revise(previous, verdict.validation.values, issued=facts.now,
                              appeal_days=society.appeal_days)
    return f"revision {d.appeal.revision}, status {d.appeal.status}"


def _original_template(d: _Draft) -> str:
    assert isinstance(d.facts, UpdateFacts) and d.facts.original is not None
    return d.facts.original.template


def _appeal_template(d: _Draft) -> str:
    assert d.appeal is not None
    return d.appeal.template


# partner posts -----------------------------------------------------------------------------

def _partner(d: _Draft) -> verify.Accepted:
    assert isinstance(d.facts, PartnerFacts) and isinstance(d.facts.verified, verify.Accepted)
    return d.facts.verified


def _not_relayed(d: _Draft, why: str) -> _End:
    return _End(OutcomeKind.NOT_RELAYED, f"from {_partner(d).partner.name}: {why}",
                [Record(OutcomeKind.NOT_RELAYED)])


def _verify(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, PartnerFacts)
    if isinstance(facts.verified, verify.Refused):
        return _End(OutcomeKind.REFUSED, f"partner post refused: {facts.verified}",
                    [Record(OutcomeKind.REFUSED)])
    check = facts.verified.post
    d.appeal_id = check.record.appeal_id
    return (f"signed by partner {facts.verified.partner.name}, origin "
            f"{check.record.origin_name}, {check.record.appeal_id} revision "
            f"{check.record.revision}")


def _loop(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, PartnerFacts)
    record = _partner(d).post.record
    seen = facts.newest is not None and facts.newest == record.revision
    why = loops.why_not_relay(record, d.society.fingerprint, seen)
    return _not_relayed(d, why) if why else f"path of {len(record.path)}, not seen before"


def _forward_only(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, PartnerFacts)
    record = _partner(d).post.record
    if facts.newest is not None and facts.newest > record.revision:
        return _not_relayed(d, f"out of order: revision {record.revision} of "
                               f"{record.appeal_id} is older than revision {facts.newest}, "
                               "already recorded")
    return ("the first revision recorded here" if facts.newest is None
            else f"newer than revision {facts.newest}")


def _freshness(d: _Draft) -> str | _End:
    why = loops.why_stale(loops.head(_partner(d).post.appeal_text), d.facts.now)
    return _not_relayed(d, why) if why else "issued in the past and not expired"


def _partner_rules(d: _Draft) -> str | _End:
    accepted = _partner(d)
    d.decision = rules.decide(d.society.table, rules.Facts.of_appeal(
        loops.head(accepted.post.appeal_text), accepted.partner.name,
        accepted.post.record.revision))
    return _decided(d.decision)


def _off_path(d: _Draft) -> str | _End:
    assert d.decision is not None
    before = d.decision.destinations
    d.decision = rules.off_path(d.society.table, d.decision, _partner(d).post.record.path)
    skipped = len(before) - len(d.decision.destinations)
    return (f"{skipped} list(s) of societies on the path left out" if skipped
            else "no destination is on the path")


def _relay(d: _Draft) -> str | _End:
    facts, decision, accepted = d.facts, d.decision, _partner(d)
    assert isinstance(facts, PartnerFacts) and decision is not None
    check = accepted.post
    images = facts.images if decision.action in (RelayAction.RELAY, RelayAction.HOLD) else ()
    effects: list[Effect] = [Relay(check, accepted.partner.name, decision, images)]
    if decision.action == RelayAction.HOLD:
        head = loops.head(check.appeal_text)
        effects.append(NotifyModerators(
            check.record.appeal_id, check.record.revision, text_digest(check.appeal_text),
            check.origin, head.get("Title", ""), check.appeal_text, head.get("Expires", ""), "", images,
            decision.rule))
    return _End(OutcomeKind.PARTNER_POST,
                f"from {accepted.partner.name}, origin {check.record.origin_name}: "
                f"{decision.action} by {decision.rule}", effects)


def _partner_images(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, PartnerFacts)
    if facts.images_note:
        return facts.images_note
    return f"{len(facts.images)} carried image(s) relayed" if facts.images else "no images"


# moderator commands ------------------------------------------------------------------------

def _refuse_command(d: _Draft, why: str) -> _End:
    """The command is not obeyed: logged in English, the moderator told in the society's
    language."""
    tr = _society_lang(d)
    return _End(OutcomeKind.REFUSED, f"moderator command refused: {why}", [
        Record(OutcomeKind.REFUSED),
        Answer(tr._("Moderation refused"),
               tr._("Your command was not obeyed: {why}.", why=say(why, tr)) + "\n")])


def _verify_command(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, CommandFacts)
    if isinstance(facts.command, str):
        return _refuse_command(d, facts.command)
    if facts.command.verb == Verb.HELD:
        tr = _society_lang(d)
        return _End(OutcomeKind.MODERATION, f"listed {len(facts.waiting)} held revision(s)", [
            Record(OutcomeKind.MODERATION),
            Answer(tr._("Appeals waiting for a moderator"),
                   moderation.waiting_list(facts.waiting, tr))])
    d.appeal_id = facts.command.appeal_id
    return (f"signed by moderator key {facts.command.signer[-16:]}: {facts.command.verb} "
            f"{facts.command.appeal_id} revision {facts.command.revision}")


def _find_held(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, CommandFacts)
    if facts.held is None:
        return _refuse_command(d, Sentence(N_("that appeal is not held")))
    command, held = facts.command, facts.held
    assert isinstance(command, Command)
    if command.nonce is not None and command.nonce != moderation.notice_nonce(
            d.society.id, held.appeal_id, held.revision, held.digest):
        return _refuse_command(d, Sentence(N_("it answers another notice than the one for "
                                              "this revision")))
    return f"{held.appeal_id} revision {held.revision} is held"


def _replay(d: _Draft) -> str | _End:
    facts = d.facts
    assert isinstance(facts, CommandFacts)
    if facts.used:
        return _refuse_command(d, Sentence(N_("this command was used before")))
    return "this command was not used before"


def _moderate(d: _Draft) -> str | _End:
    facts, society = d.facts, d.society
    assert isinstance(facts, CommandFacts) and isinstance(facts.command, Command)
    held, command = facts.held, facts.command
    assert held is not None
    own = society.fingerprint
    if held.record:  # a partner's appeal: keep its origin and path, and add us
        head = loops.head(held.record)
        relay = RelayRecord(head["Origin"], head["Origin-Name"], held.appeal_id, held.revision,
                            tuple(f.strip() for f in head["Path"].split(",")) + (own,))
        origin_key: str | None = held.origin_key
    else:
        relay = RelayRecord(own, society.name, held.appeal_id, held.revision, (own,))
        origin_key = None
    destinations: tuple[str, ...] = ()
    if command.approve:
        d.decision = rules.off_path(society.table, rules.Decision(
            RelayAction.RELAY, ("local", "partners"),
            society.table.destinations(["local", "partners"]), "moderator", ()), relay.path)
        destinations = d.decision.destinations
    verb = "approved" if command.approve else "rejected"
    title = loops.head(held.signed_text).get("Title", "")
    tr = _society_lang(d)
    values = dict(appeal_id=held.appeal_id, revision=held.revision)
    if not command.approve:
        subject = tr._("[{appeal_id}] rejected", **values)
        said = tr._("{appeal_id} revision {revision}: rejected.", **values)
    elif destinations:
        subject = tr._("[{appeal_id}] approved", **values)
        said = tr.ngettext("{appeal_id} revision {revision}: approved, sent to {n} list.",
                           "{appeal_id} revision {revision}: approved, sent to {n} lists.",
                           len(destinations), **values)
    else:
        subject = tr._("[{appeal_id}] approved", **values)
        said = tr._("{appeal_id} revision {revision}: approved.", **values)
    return _End(OutcomeKind.MODERATION, f"moderator {verb} {held.appeal_id}", [
        Moderate(held, command.digest, "relay" if command.approve else "rejected", relay,
                 origin_key, title, destinations, facts.held_images if command.approve else ()),
        Answer(subject, said + "\n")])


# --- the tables -----------------------------------------------------------------------------

RATE_LIMIT = Step("rate-limit", "a sender over the hourly limit is recorded and not answered",
                  _rate_limit)
REPLY = Step("reply", "record the outcome and answer the sender (automatic mail: no answer)",
             _reply)

ROUTES: dict[str, tuple[Step, ...]] = {
    "partner-post": (
        Step("verify", "the whole post is signed by a pinned partner key, and consistent",
             _verify),
        Step("loop", "not our own appeal, we are not on its path, this revision not seen, "
                     f"fewer than {loops.HOP_LIMIT} hops", _loop),
        Step("forward-only", "no newer revision of this appeal is recorded here",
             _forward_only),
        Step("freshness", "issued in the past, not expired", _freshness),
        Step("rules", "the relay rules decide: relay, hold or drop", _partner_rules),
        Step("off-path", "no list of a society already on the path", _off_path),
        Step("images", "carried images only when we keep images and they are clean",
             _partner_images),
        Step("relay", "sign onward once, record and queue; notify moderators when held",
             _relay),
    ),
    "request": (
        RATE_LIMIT,
        Step("images", "attached images re-encoded (attachments.images: keep) or dropped",
             _request_images),
        Step("number", "the next Appeal-ID of this society and year", _number),
        Step("rules", "the relay rules decide: relay, hold or drop",
             _own_rules(rules.Kind.NEW, _appeal_template)),
        Step("issue", "clearsign, sign the post once, record and queue; notify moderators "
                      "when held; answer with the Update-Key", _issue),
    ),
    "update": (
        RATE_LIMIT,
        Step("authorise", "the Update-Key matches the appeal it names", _authorise),
        Step("revise", "the appeal's next revision", _revise),
        Step("rules", "the relay rules decide, as an update of the original's template",
             _own_rules(rules.Kind.UPDATE, _original_template)),
        Step("issue", "clearsign, sign the post once, record and queue; notify moderators "
                      "when held; answer", _issue),
    ),
    "moderation": (
        RATE_LIMIT,
        Step("verify", "clearsigned by a pinned moderator key, for this society", _verify_command),
        Step("held", "the revision it names waits for a moderator", _find_held),
        Step("replay", "this signed command was never obeyed before", _replay),
        Step("moderate", "approve: sign and queue to the local list and partners off its "
                         "path; reject: record", _moderate),
    ),
    "reply": (RATE_LIMIT, REPLY),
}
"""Every route, by name: :func:`route_name` says which one a verdict takes."""


def route_name(verdict: Verdict) -> str:
    """The name of the route (a key of :data:`ROUTES`) that ``verdict`` takes."""
    match verdict:
        case PartnerPost():
            return "partner-post"
        case Request():
            return "request"
        case Update():
            return "update"
        case ModeratorCommand():
            return "moderation"
        case Answered() | Automatic():
            return "reply"
    raise TypeError(f"no route for {type(verdict).__name__}")


def route(verdict: Verdict, society: Society, facts: Facts) -> Plan:
    """Walk ``verdict``'s route over ``facts``; return the plan. Pure and deterministic.

    Every route ends in a hit that names the outcome and the effects to carry out; a step
    that lets the message go on says why, so the plan reads as the answer to "why did this
    go there?".
    """
    name = route_name(verdict)
    draft = _Draft(verdict, society, facts)
    steps: list[StepTrace] = []
    for step in ROUTES[name]:
        result = step.run(draft)
        if isinstance(result, _End):
            steps.append(StepTrace(step.name, True, result.reason))
            decided_by = step.name
            if draft.decision is not None and step is ROUTES[name][-1]:
                # Every check passed: the rules (or the moderator) decided where it goes.
                decided_by = f"rules ({draft.decision.rule})"
            return Plan(verdict, name, tuple(steps), result.outcome, result.reason, decided_by,
                        tuple(result.effects), draft.decision, draft.appeal_id)
        steps.append(StepTrace(step.name, False, result))
    raise AssertionError(f"route {name} ended without a decision")


def describe() -> str:
    """Every route and its steps, for people (``masbot rules explain --routes``)."""
    lines = ["classify: " + " > ".join(CLASSIFY)]
    for name, steps in ROUTES.items():
        lines.append(f"route {name}:")
        lines += [f"  {step.name}: {step.does}" for step in steps]
    return "\n".join(lines) + "\n"


def effects_of(plan: Plan) -> Sequence[str]:
    """One line per effect, for people."""
    out = []
    for effect in plan.effects:
        match effect:
            case Record(outcome=outcome):
                out.append(f"record the message as {outcome}")
            case Issue(appeal=appeal, decision=decision):
                out.append(f"issue {appeal.appeal_id} revision {appeal.revision}: clearsign, "
                           + ("sign the post for "
                              f"{len(decision.destinations)} list(s), record and queue"
                              if decision.action == RelayAction.RELAY and decision.destinations
                              else f"record ({decision.action})"))
            case Relay(post=check, decision=decision):
                out.append(f"relay {check.record.appeal_id} revision {check.record.revision}: "
                           + ("sign onward for "
                              f"{len(decision.destinations)} list(s), record and queue"
                              if decision.action == RelayAction.RELAY and decision.destinations
                              else f"record ({decision.action})"))
            case Moderate(held=held, action=action, destinations=destinations):
                out.append(f"moderate {held.appeal_id} revision {held.revision}: {action}"
                           + (f", sign and queue for {len(destinations)} list(s)"
                              if destinations else ""))
            case NotifyModerators(appeal_id=appeal_id):
                out.append(f"notify the moderators that {appeal_id} is held")
            case Answer(subject=subject):
                out.append(f"answer the sender: {subject}")
    return out
