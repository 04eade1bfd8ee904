"""The route as data (masbot.flow): every decision from plain facts, with no server, no gpg
and no store. Verdicts come from real mail bytes through intake and classification."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from masbot import flow
from masbot.appeal import canonical as appeals
from masbot.intake import classify
from masbot.intake import message as intake
from masbot.moderation import Command
from masbot.post import verify
from masbot.post.build import RelayRecord
from masbot.relay.partners import (Action, Direction, Partner, RelayAction, Rule, RuleMatch,
                                   RuleTable)
from masbot.signing.keyring import KeyInfo
from masbot.store import AppealRecord
from masbot.story import templates
from support import bail_request

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
OWN = "A" * 40
RIVER = "B" * 40
VALLE = "C" * 40
ORIGIN = "D" * 40
RIVERSIDE = Partner("riverside", ("master@lists.riverside.example",), RIVER)
VALLE_P = Partner("valle", ("red@lists.valle.example",), VALLE, Direction.BOTH)
DEFAULT = Action(RelayAction.RELAY, ("local", "partners"))
CATALOGUE = templates.builtin()


def table(*rules: Rule) -> RuleTable:
    return RuleTable("members@anytown.example", ("mods@anytown.example",),
                     (RIVERSIDE, VALLE_P), rules, DEFAULT)


def society(*rules: Rule) -> flow.Society:
    return flow.Society("ANYTOWN", "Anytown Mutual Aid Society", "mas@anytown.example", "en",
                        30, OWN, table(*rules))


def rule(name: str, action: RelayAction, to: tuple[str, ...] = (), **match: object) -> Rule:
    return Rule(name, RuleMatch(**match), Action(action, to), 1)  # type: ignore[arg-type]


def verdict_of(raw: bytes) -> classify.Verdict:
    ctx = classify.Context(CATALOGUE, "Anytown Mutual Aid Society", NOW,
                           table().partner_addresses())
    return classify.run(intake.read(raw), ctx)


def request() -> classify.Request:
    verdict = verdict_of(bail_request("member@example.net"))
    assert isinstance(verdict, classify.Request), verdict
    return verdict


def update_mail(appeal_id: str = "ANYTOWN-2026-0001", key: str = "Zq3-Y8_kLm2NpR5sTu7VwX9a") -> bytes:
    return (f"From: member@example.net\r\nSubject: update\r\n\r\nTemplate: update\r\n"
            f"Refers-To: {appeal_id}\r\nUpdate-Key: {key}\r\nStatus: funded\r\nStop-Sharing: yes\r\n"
            "Note: The bail is paid. Thank you all.\r\n").encode()


def original(key: str = "Zq3-Y8_kLm2NpR5sTu7VwX9a") -> AppealRecord:
    """Revision 1 of our bail appeal as the store keeps it."""
    verdict = request()
    appeal = appeals.build(verdict.validation, appeal_id="ANYTOWN-2026-0001",
                           society="Anytown Mutual Aid Society",
                           updates_to="mas@anytown.example", issued=NOW, appeal_days=30)
    return AppealRecord(appeal.appeal_id, 1, OWN, appeal.template, appeal.status,
                        appeal.issued.isoformat(), appeal.expires.isoformat(), appeal.digest(),
                        flow.key_hash_of(key), "relay", "(signed)", appeals.fields_json(appeal))


def names(plan: flow.Plan) -> list[tuple[str, bool]]:
    return [(s.step, s.hit) for s in plan.steps]


def kinds(plan: flow.Plan) -> list[type]:
    return [type(e) for e in plan.effects]


# --- member requests ------------------------------------------------------------------------

def test_a_request_is_numbered_routed_issued_and_answered() -> None:
    facts = flow.RequestFacts(NOW, number=7, update_key="k3y")
    plan = flow.route(request(), society(), facts)
    assert names(plan) == [("rate-limit", False), ("images", False), ("number", False),
                           ("rules", False), ("issue", True)]
    assert plan.outcome == flow.OutcomeKind.REQUEST and plan.appeal_id == "ANYTOWN-2026-0007"
    assert plan.decided_by == "rules (default)"
    assert kinds(plan) == [flow.Issue, flow.Answer]
    issue, answer = plan.effects
    assert isinstance(issue, flow.Issue) and isinstance(answer, flow.Answer)
    assert issue.key_hash == hashlib.sha256(b"k3y").hexdigest(), "only the key's hash is kept"
    assert "k3y" in answer.body and answer.always, "the Update-Key answer is never rate-limited"
    assert plan.destinations == ("members@anytown.example", "master@lists.riverside.example",
                                 "red@lists.valle.example")


def test_a_sender_over_the_limit_is_recorded_and_not_answered() -> None:
    plan = flow.route(request(), society(), flow.Facts(NOW, sender_allowed=False))
    assert names(plan) == [("rate-limit", True)] and plan.outcome == flow.OutcomeKind.RATE_LIMITED
    assert plan.effects == (flow.Record("rate-limited"),)


def test_a_held_request_notifies_the_moderators_and_says_so() -> None:
    plan = flow.route(request(), society(rule("bail waits", RelayAction.HOLD, template=("bail",))),
                      flow.RequestFacts(NOW, number=1, update_key="k"))
    assert kinds(plan) == [flow.Issue, flow.NotifyModerators, flow.Answer]
    assert plan.destinations == () and plan.decided_by == "rules (bail waits)"
    notify, answer = plan.effects[1], plan.effects[2]
    assert isinstance(notify, flow.NotifyModerators) and notify.rule == "bail waits"
    assert isinstance(answer, flow.Answer) and "waits for a moderator" in answer.body


def test_a_dropped_request_is_told_it_was_not_posted() -> None:
    plan = flow.route(request(), society(rule("no", RelayAction.DROP)),
                      flow.RequestFacts(NOW, number=1, update_key="k"))
    answer = plan.effects[-1]
    assert isinstance(answer, flow.Answer) and answer.subject == "Your request was not posted"
    assert plan.destinations == ()


def test_a_dry_run_counts_nothing() -> None:
    plan = flow.route(request(), society(), flow.RequestFacts(NOW, sender_allowed=False,
                                                                dry_run=True, number=3))
    assert plan.steps[0].why == "not counted in a dry run"
    assert plan.outcome == flow.OutcomeKind.REQUEST


# --- updates --------------------------------------------------------------------------------

def test_an_update_is_routed_as_an_update_of_the_originals_template() -> None:
    verdict = verdict_of(update_mail())
    assert isinstance(verdict, classify.Update) and verdict.refers_to == "ANYTOWN-2026-0001"
    rules = (rule("updates wait", RelayAction.HOLD, kind="update"),
             rule("bail local", RelayAction.RELAY, ("local",), template=("bail",)))
    plan = flow.route(verdict, society(*rules), flow.UpdateFacts(NOW, original=original()))
    assert names(plan) == [("rate-limit", False), ("authorise", False), ("revise", False),
                           ("rules", False), ("issue", True)]
    assert plan.outcome == flow.OutcomeKind.UPDATE and plan.decided_by == "rules (updates wait)"
    assert kinds(plan) == [flow.Issue, flow.NotifyModerators, flow.Answer]
    issue = plan.effects[0]
    assert isinstance(issue, flow.Issue) and issue.appeal.revision == 2
    assert issue.appeal.status == "funded" and issue.key_hash == flow.key_hash_of("Zq3-Y8_kLm2NpR5sTu7VwX9a")
    # Without the hold rule, the original's template (bail) decides, not "update".
    plan = flow.route(verdict, society(rules[1]), flow.UpdateFacts(NOW, original=original()))
    assert plan.decided_by == "rules (bail local)"
    assert plan.destinations == ("members@anytown.example",)


@pytest.mark.parametrize("record", [None, "wrong key"])
def test_an_update_with_an_unknown_appeal_or_a_wrong_key_gets_one_answer(record) -> None:
    facts = flow.UpdateFacts(NOW, original=None if record is None else original("Aa3-Y8_kLm2NpR5sTu7VwX9a"))
    plan = flow.route(verdict_of(update_mail()), society(), facts)
    assert plan.decided_by == "authorise" and plan.outcome == flow.OutcomeKind.INVALID
    answer = plan.effects[-1]
    assert isinstance(answer, flow.Answer) and "No appeal ANYTOWN-2026-0001" in answer.body


# --- partner posts --------------------------------------------------------------------------

KEY = KeyInfo(RIVER, ("Riverside <mas@riverside.example>",), 0, None, False)


def partner_post(revision: int = 1, path: tuple[str, ...] = (ORIGIN, RIVER),
                 issued: str = "2026-11-20T12:00:00Z", expires: str = "2026-12-20",
                 partner: Partner = RIVERSIDE) -> verify.Accepted:
    text = (f"Appeal-ID: ORIGIN-2026-0004\nRevision: {revision}\nSociety: Origin MAS\n"
            f"Issued: {issued}\nExpires: {expires}\nStatus: open\nTemplate: bail\n"
            "Language: en\nTitle: Bail for R.\n")
    record = RelayRecord(ORIGIN, "Origin MAS", "ORIGIN-2026-0004", revision, path)
    check = verify.PostCheck(RIVER, KEY, ORIGIN, KEY, text, "(clearsigned)", "(key)", record)
    return verify.Accepted(partner, check)


def route_partner(accepted: verify.Accepted | verify.Refused, *rules: Rule,
                  newest: int | None = None) -> flow.Plan:
    return flow.route(classify.PartnerPost("a partner's post"), society(*rules),
                      flow.PartnerFacts(NOW, verified=accepted, newest=newest))


def test_a_partner_post_is_relayed_off_its_path_and_never_back() -> None:
    plan = route_partner(partner_post(path=(ORIGIN, VALLE, RIVER)))
    assert [s.step for s in plan.steps][-1] == "relay" and plan.steps[-1].hit
    assert plan.outcome == flow.OutcomeKind.PARTNER_POST
    assert plan.destinations == ("members@anytown.example",), \
        "not back to riverside (it came from there), not to valle (on the path)"
    assert kinds(plan) == [flow.Relay]


def test_a_refused_post_is_recorded_and_never_answered() -> None:
    plan = route_partner(verify.Refused(verify.Reason.UNSIGNED, "the mail is not signed"))
    assert plan.decided_by == "verify" and plan.outcome == flow.OutcomeKind.REFUSED
    assert plan.effects == (flow.Record("refused"),)


@pytest.mark.parametrize("accepted,newest,step,why", [
    (partner_post(path=(ORIGIN, OWN, RIVER)), None, "loop", "already on the post's path"),
    (partner_post(path=(OWN, RIVER)), None, "loop", "already on the post's path"),
    (partner_post(revision=2), 2, "loop", "already relayed"),
    (partner_post(path=tuple("E" * 39 + str(i) for i in range(8))), None, "loop", "hop limit"),
    (partner_post(revision=1), 2, "forward-only", "older than revision 2"),
    (partner_post(expires="2026-11-01"), None, "freshness", "stale"),
    (partner_post(issued="2026-11-24T12:00:00Z"), None, "freshness", "future-dated"),
])
def test_a_post_that_must_go_no_further_says_why(accepted, newest, step, why) -> None:
    plan = route_partner(accepted, newest=newest)
    assert plan.decided_by == step and why in plan.reason, plan.reason
    assert plan.outcome == flow.OutcomeKind.NOT_RELAYED
    assert plan.effects == (flow.Record("not-relayed"),)


def test_a_newer_revision_goes_on_and_a_held_one_is_shown_to_moderators() -> None:
    plan = route_partner(partner_post(revision=3), rule("partners wait", RelayAction.HOLD,
                                                        origin="partner"), newest=2)
    assert plan.steps[2].why == "newer than revision 2"
    assert kinds(plan) == [flow.Relay, flow.NotifyModerators]
    assert plan.decided_by == "rules (partners wait)" and plan.destinations == ()


# --- moderator commands ---------------------------------------------------------------------

def command_verdict() -> classify.Verdict:
    verdict = verdict_of(b"From: jo@example.org\r\nSubject: x\r\n\r\nModeration: approve\r\n"
                         b"Society: ANYTOWN\r\nAppeal-ID: ANYTOWN-2026-0001\r\nRevision: 1\r\n")
    assert isinstance(verdict, classify.ModeratorCommand)
    return verdict


def held(partner_record: str = "") -> AppealRecord:
    record = original()
    return AppealRecord(**{**record.__dict__, "action": "hold", "record": partner_record,
                           "signed_text": "Title: Held\n"})


APPROVE = Command("approve", "ANYTOWN-2026-0001", 1, "F" * 40, "d" * 64)


@pytest.mark.parametrize("facts,step,why", [
    (flow.CommandFacts(NOW, command="it is not signed by a moderator's key"), "verify",
     "not signed by a moderator"),
    (flow.CommandFacts(NOW, command=APPROVE, held=None), "held", "not held"),
    (flow.CommandFacts(NOW, command=APPROVE, held=held(), used=True), "replay", "used before"),
])
def test_a_command_that_fails_a_check_is_refused_with_the_reason(facts, step, why) -> None:
    plan = flow.route(command_verdict(), society(), facts)
    assert plan.decided_by == step and plan.outcome == flow.OutcomeKind.REFUSED
    answer = plan.effects[-1]
    assert isinstance(answer, flow.Answer) and why in answer.body


def test_approval_relays_to_the_lists_off_the_path_and_rejection_relays_nothing() -> None:
    partner_record = RelayRecord(ORIGIN, "Origin MAS", "ANYTOWN-2026-0001", 1,
                                 (ORIGIN, RIVER)).text()
    facts = flow.CommandFacts(NOW, command=APPROVE, held=held(partner_record))
    plan = flow.route(command_verdict(), society(), facts)
    moderate = plan.effects[0]
    assert isinstance(moderate, flow.Moderate) and moderate.relay.path == (ORIGIN, RIVER, OWN)
    assert plan.destinations == ("members@anytown.example", "red@lists.valle.example")
    reject = Command("reject", "ANYTOWN-2026-0001", 1, "F" * 40, "e" * 64)
    plan = flow.route(command_verdict(), society(),
                      flow.CommandFacts(NOW, command=reject, held=held()))
    moderate = plan.effects[0]
    assert isinstance(moderate, flow.Moderate) and moderate.action == "rejected"
    assert plan.destinations == ()


# --- replies and the tables themselves ------------------------------------------------------

@pytest.mark.parametrize("raw,kind,answered", [
    (b"From: a@example.net\r\nSubject: help\r\n\r\nhelp\r\n", "help", True),
    (b"From: a@example.net\r\nSubject: hi\r\n\r\nJust saying hello.\r\n", "not-a-request", True),
    (b"From: a@example.net\r\nAuto-Submitted: auto-replied\r\nSubject: away\r\n\r\nAway.\r\n",
     "automatic", False),
])
def test_replies_are_recorded_and_answered_when_they_should_be(raw, kind, answered) -> None:
    plan = flow.route(verdict_of(raw), society(), flow.Facts(NOW))
    assert plan.outcome == kind and plan.decided_by == "reply"
    assert kinds(plan) == [flow.Record] + ([flow.Answer] if answered else [])


def test_every_verdict_has_a_route_whose_last_step_always_decides() -> None:
    for verdict_class in (classify.PartnerPost, classify.Automatic, classify.Unreadable,
                          classify.ModeratorCommand, classify.Help, classify.BlankForm,
                          classify.NotARequest, classify.ReaderReply, classify.Invalid,
                          classify.Request,
                          classify.Update):
        assert verdict_class.kind  # every class names its kind
    assert set(flow.ROUTES) == {"partner-post", "request", "update", "moderation", "reply"}
    text = flow.describe()
    for name, steps in flow.ROUTES.items():
        assert f"route {name}:" in text
        assert all(f"  {step.name}: " in text for step in steps)
