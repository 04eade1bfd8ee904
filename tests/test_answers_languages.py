"""Answers and notices in the reader's language (issue 17): every kind of answer a member gets
and every notice and answer a moderator gets, rendered in Spanish, holds no English sentence
of masbot's; a member who sends a Spanish answer back is not held to the bot's lines in it;
moderators may reply with their own language's word.

Real components throughout: mail bytes through intake and classification, the route, the
catalogs as shipped, and (for the moderators) real keys, a real store and SMTP.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from masbot import flow, lang, moderation
from masbot.appeal import canonical as appeals
from masbot.config.settings import load_config
from masbot.daemon import store_path
from masbot.intake import classify
from masbot.intake import message as intake
from masbot.lang import catalogs
from masbot.lang.sentence import Sentence, say
from masbot.moderation import Command
from masbot.relay.partners import Action, RelayAction, Rule, RuleMatch, RuleTable
from masbot.relay.smtp import SmtpTransport
from masbot.signing.keyring import from_config
from masbot.signing.signer import Signer, init_key
from masbot.society import Society
from masbot.store import AppealRecord, Store
from masbot.story import answers
from masbot.story import form as story
from masbot.story import templates
from support import write_config

ES = lang.get("es")
EN = lang.get()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
CATALOGUE = templates.builtin()
SOCIETY_NAME = "Anytown Mutual Aid Society"
CTX = classify.Context(CATALOGUE, SOCIETY_NAME, NOW, society_id="ANYTOWN",
                       contact="personas@anytown.example", site_url="https://anytown.example/",
                       language="es")
OWN = "A" * 40
MY_FILES = ("masbot/story/answers.py", "masbot/intake/classify.py", "masbot/flow.py",
            "masbot/moderation.py", "masbot/story/form.py", "masbot/story/templates.py",
            "masbot/intake/message.py")
ENGLISH_WORDS = (" the ", " your ", " please ", " you ", " and ", " is ", " to ", " of ",
                 " for ", " this ", " not ", " was ", " with ")


def _catalog_sentences() -> list[tuple[str, str]]:
    """(English piece, its Spanish sentence) for every sentence marked in the files of the
    answers: the literal pieces between {placeholders} that are long enough to be English
    prose rather than a machine word."""
    es = ES.translations
    out = []
    for message in catalogs.extract():
        if not message.id or not any(where.startswith(MY_FILES) for where, _ in
                                     message.locations):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        spanish = " ".join(es.ngettext(ids[0], ids[1], n) for n in (1, 2)) \
            if len(ids) > 1 else es.gettext(ids[0])
        for english in ids:
            for piece in re.split(r"\{\w*\}", english):
                if len(piece.strip()) >= 12 and " " in piece.strip():
                    out.append((piece.strip(), spanish))
    return out


SENTENCES = _catalog_sentences()


def _vocabulary_not_yet_spanish() -> list[str]:
    """Template words the Spanish field file does not give (yet): the template files'
    English is used for them, and their completeness is the catalog check's business."""
    words, out = ES.words, []
    for tpl in CATALOGUE.templates.values():
        if not words.template_title(tpl.name, ""):
            out.append(tpl.title)
        if tpl.example and not (words.templates.get(tpl.name) and
                                words.templates[tpl.name].example):
            out += [line for line in tpl.example.split("\n") if line.strip()]
        for spec in tpl.fields:
            if spec.help and not words.help(spec.name, "", tpl.name):
                out.append(spec.help)
                out += [part.split(": ", 1)[-1] for part in spec.help.split("; ")]
    return sorted(set(out), key=len, reverse=True)


UNTRANSLATED_VOCABULARY = _vocabulary_not_yet_spanish()


def assert_spanish(text: str, *, own: str = "") -> None:
    """No English sentence of masbot's in ``text``: none of the catalog's English pieces, and
    none of the common English words outside ``own`` (the member's own text or the published
    appeal, echoed as they wrote it), the validation notes (another part's sentences: the
    lines marked ! or ?) and template words the field file does not give yet."""
    for english, spanish in SENTENCES:
        assert english not in text or english in spanish, (english, text)
    rest = text
    for piece in sorted({line.strip() for line in own.split("\n") if line.strip()},
                        key=len, reverse=True) + UNTRANSLATED_VOCABULARY:
        rest = rest.replace(piece, " ")
    lines = [line for line in rest.split("\n")
             if not re.match(r"^\s*(?:\(línea \d+\)\s*)?[!?] ", line)]
    prose = " " + " ".join(lines).casefold() + " "
    for word in ENGLISH_WORDS:
        assert word not in prose, (word, text)


def run(raw: bytes) -> classify.Verdict:
    return classify.run(intake.read(raw), CTX)


def mail(body: str, subject: str = "hola") -> bytes:
    return (f"From: Ana <ana@example.net>\r\nTo: mas@anytown.example\r\nSubject: {subject}\r\n"
            "Message-ID: <a1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + body.replace("\n", "\r\n")).encode("utf-8")


def in_spanish(form: str) -> str:
    """A form written with the canonical keys, as a Spanish speaker writes it: the field
    file's field names, template names and choice values."""
    words, out = ES.words, []
    for line in form.split("\n"):
        key, sep, value = line.partition(": ")
        if not sep and line.endswith(":") and " " not in line:
            key, sep, value = line[:-1], ":", ""
        if sep and CATALOGUE.canonical_key(key) == key:
            if key == "Template":
                value = words.template_name(value)
            elif value:
                value = words.value(key, value)
            line = f"{words.field_name(key)}:{' ' if value else ''}{value}"
        out.append(line)
    return "\n".join(out)


NEEDED = (NOW + timedelta(days=20)).date().isoformat()
SOLICITUD = in_spanish(f"""Template: bail
Title: Que Sam vuelva a casa antes del lunes
Filed-By: champion
Relation: compañera de casa
Consent: prior
Name-To-Publish: Sam R.
Location: Anytown, OR
Held-At: Cárcel del condado de Anytown
Bail: 2500 USD
Goal: 2500 USD
Needed-By: {NEEDED}
Posted-By: Fondo Comunitario de Fianzas de Anytown
Bail-Return: fund
Funds-Holder: El Fondo Comunitario de Fianzas de Anytown paga la fianza directamente
Donate: https://bailfund.example/give/sam
Story:
Sam cocina cada semana en nuestra comida compartida. Lo detuvieron el viernes en una protesta
pacífica contra los desalojos y sigue en la cárcel porque no puede pagar la fianza fijada.
Funds-Use:
- 2500 USD para la fianza
How-To-Help: Done en el enlace y comparta este llamado.
""")


def request_verdict() -> classify.Request:
    verdict = run(mail(SOLICITUD, "[bail] Que Sam vuelva a casa"))
    assert isinstance(verdict, classify.Request), verdict.answer_body
    assert verdict.language == "es"
    return verdict


def society(*rules: Rule) -> flow.Society:
    table = RuleTable("members@anytown.example", ("mods@anytown.example",), (), rules,
                      Action(RelayAction.RELAY, ("local",)))
    return flow.Society("ANYTOWN", SOCIETY_NAME, "mas@anytown.example", "es", 30, OWN, table,
                        CATALOGUE)


HOLD = Rule("todo espera", RuleMatch(), Action(RelayAction.HOLD, ()), 1)
DROP = Rule("nada", RuleMatch(), Action(RelayAction.DROP, ()), 1)


def answer_of(plan: flow.Plan) -> flow.Answer:
    (answer,) = [e for e in plan.effects if isinstance(e, flow.Answer)]
    return answer


# --- the answers classification gives --------------------------------------------------------

@pytest.mark.parametrize("body", ["ayuda", "Plantilla", "plantilla nada", "hola, ¿qué tal?"])
def test_help_and_not_a_request_in_spanish(body):
    verdict = run(mail(body))
    assert verdict.answer_body and verdict.answer_subject
    assert "plantilla NOMBRE" in verdict.answer_body, verdict.answer_body
    assert_spanish(verdict.answer_subject + "\n" + verdict.answer_body, own=body)


def test_a_command_in_english_is_answered_in_english_in_a_spanish_society():
    verdict = run(mail("help"))
    assert verdict.language == "en"
    assert verdict.answer_subject == f"How to ask {SOCIETY_NAME} for help"


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_blank_forms_and_examples_in_spanish(name):
    spanish = ES.words.template_name(name)
    blank = run(mail(f"plantilla {spanish}"))
    example = run(mail(f"plantilla {spanish} ejemplo"))
    assert isinstance(blank, classify.BlankForm) and isinstance(example, classify.BlankForm)
    for verdict in (blank, example):
        assert_spanish(verdict.answer_subject + "\n" + verdict.answer_body)
    assert ES._(story.BLANK_HEADER) in blank.answer_body
    if CATALOGUE.template(name).fields[1:]:
        assert "(obligatorio" in blank.answer_body or "(opcional" in blank.answer_body


def test_a_blank_form_shows_the_languages_words():
    """Keys, template name, title and help come from the field file (whatever it holds);
    what a form prints, the parser reads back (lead's part: the keys in Spanish)."""
    tpl = CATALOGUE.template("update")
    text = templates.blank_form(tpl, ES)
    words = ES.words
    assert text.startswith(f"{words.field_name('Template')}: {words.template_name('update')}\n")
    for spec in tpl.fields[1:]:
        assert f"\n{words.field_name(spec.name)}:" in text
        assert words.help(spec.name, spec.help, "update") in text
    assert words.template_title("update", tpl.title) in text
    assert "obligatorio si " + templates.condition("Status", ("funded",), ES) in text


def test_an_unreadable_message_is_answered_in_spanish():
    verdict = run(mail("x" * 100) + b"y" * 3_000_000)
    assert isinstance(verdict, classify.Unreadable)
    assert "pesa más de" in verdict.answer_body
    assert_spanish(verdict.answer_subject + "\n" + verdict.answer_body)
    assert "larger than" in verdict.reason, "the log keeps English"


@pytest.mark.parametrize("subject", ["Re: [ANYTOWN-2026-0003] Que Sam vuelva",
                                     "Re: [RIVERSIDE-2026-0009] Otra"])
def test_a_readers_reply_in_spanish(subject):
    verdict = run(mail("¡Qué buena causa! ¿Cómo puedo ayudar?", subject))
    assert isinstance(verdict, classify.ReaderReply)
    assert "personas@anytown.example" in verdict.answer_body
    assert_spanish(verdict.answer_body, own="¡Qué buena causa! ¿Cómo puedo ayudar?")


def test_an_annotated_answer_in_spanish_with_every_part():
    """Loose problems, marks under lines, a text too long to repeat whole, marks of lines not
    repeated (with their line numbers) and more problems than one answer lists."""
    long_title = "Que Sam vuelva a casa " * 1200
    unknown = "".join(f"Clave{n}: algo\n" for n in range(80))
    body = in_spanish(f"Template: bail\nTitle: {long_title}\n") + unknown
    verdict = run(mail(body, "[bail] Sam"))
    assert isinstance(verdict, classify.Invalid)
    text = verdict.answer_body
    assert "[el resto de su texto, desde la línea 2, no se repite aquí]" in text
    assert re.search(r"^\(línea \d+\) [!?] ", text, re.M)
    assert re.search(r"^\[\d+ problemas más sin mostrar", text, re.M)
    assert verdict.answer_subject == "Re: [bail] Sam"
    assert_spanish(text, own=body)


def test_a_duplicate_key_and_a_misspelt_one_are_noted_in_both_languages():
    form = story.parse("Template: bail\nTitle: Uno\nTitle: Dos\nTittle: Tres\n", "", CATALOGUE)
    notes = {note.line: note for note in form.notes}
    assert notes[3].message == "Title is given twice (first on line 2); only the first is used"
    assert notes[3].text(EN) == notes[3].message
    assert notes[3].text(ES) == ("Title aparece dos veces (la primera en la línea 2); solo se "
                                 "usa la primera").replace("Title", ES.words.field_name("Title"))
    assert "¿quiso decir" in notes[4].text(ES) and "did you mean Title?" in notes[4].message


# --- the answers the route gives -------------------------------------------------------------

@pytest.mark.parametrize("rules", [(), (HOLD,), (DROP,)], ids=["posted", "held", "dropped"])
def test_a_requests_answer_in_spanish(rules):
    verdict = request_verdict()
    plan = flow.route(verdict, society(*rules), flow.RequestFacts(NOW, number=7,
                                                                  update_key="k3y-k3y-k3y"))
    answer = answer_of(plan)
    public = ""
    if RelayAction.DROP not in [r.action.action for r in rules]:
        assert "k3y-k3y-k3y" in answer.body
        stop = ES._(story.ANSWER_STOP)
        assert stop in answer.body
        public = answer.body.split(stop, 1)[1]
    assert_spanish(answer.subject + "\n" + answer.body, own=public + "\n" + SOLICITUD)


def _original(key: str) -> AppealRecord:
    verdict = request_verdict()
    appeal = appeals.build(verdict.validation, appeal_id="ANYTOWN-2026-0001",
                           society=SOCIETY_NAME, updates_to="mas@anytown.example", issued=NOW,
                           appeal_days=30)
    return AppealRecord(appeal.appeal_id, 1, OWN, appeal.template, appeal.status,
                        appeal.issued.isoformat(), appeal.expires.isoformat(), appeal.digest(),
                        flow.key_hash_of(key), "relay", "(signed)", appeals.fields_json(appeal))


UPDATE = in_spanish("Template: update\nRefers-To: ANYTOWN-2026-0001\nUpdate-Key: k3y-k3y-k3y\n"
                    "Status: funded\nStop-Sharing: yes\n"
                    "Note: La fianza está pagada. ¡Gracias a todas!\n")


@pytest.mark.parametrize("key, rules", [("k3y-k3y-k3y", ()), ("k3y-k3y-k3y", (HOLD,)),
                                        ("otra-clave", ())], ids=["published", "held", "refused"])
def test_an_updates_answer_in_spanish(key, rules):
    verdict = run(mail(UPDATE, "actualización"))
    assert isinstance(verdict, classify.Update), verdict.answer_body
    plan = flow.route(verdict, society(*rules), flow.UpdateFacts(NOW, original=_original(key)))
    answer = answer_of(plan)
    public = answer.body.split("\n\n", 1)[1] if key == "k3y-k3y-k3y" else ""
    assert_spanish(answer.subject + "\n" + answer.body, own=public)


# --- moderators ------------------------------------------------------------------------------

def _held() -> AppealRecord:
    record = _original("k")
    return AppealRecord(**{**record.__dict__, "action": "hold"})


APPROVE = Command(moderation.Verb.APPROVE, "ANYTOWN-2026-0001", 1, "F" * 40, "d" * 64)
REJECT = Command(moderation.Verb.REJECT, "ANYTOWN-2026-0001", 1, "F" * 40, "e" * 64)
HELD = Command(moderation.Verb.HELD, "", 0, "F" * 40, "f" * 64)
REF = moderation.reference("ANYTOWN", "ANYTOWN-2026-0001", 1, "d" * 64)


@pytest.mark.parametrize("facts", [
    flow.CommandFacts(NOW, command=moderation.read_command("hola\n", "ANYTOWN", "F")),
    flow.CommandFacts(NOW, command=moderation.read_command(f"aprobar\n> {REF}\n", "RIVERSIDE",
                                                           "F")),
    flow.CommandFacts(NOW, command=moderation.read_command("aprobar\n", "ANYTOWN", "F")),
    flow.CommandFacts(NOW, command=APPROVE, held=None),
    flow.CommandFacts(NOW, command=APPROVE, held=_held(), used=True),
    flow.CommandFacts(NOW, command=APPROVE, held=_held()),
    flow.CommandFacts(NOW, command=REJECT, held=_held()),
    flow.CommandFacts(NOW, command=HELD),
    flow.CommandFacts(NOW, command=HELD, waiting=(("ANYTOWN-2026-0001", 1, "Que Sam vuelva",
                                                   "2026-12-23"),)),
], ids=["no-word", "other-society", "no-ref", "not-held", "replayed", "approved", "rejected",
        "none-held", "one-held"])
def test_moderators_are_answered_in_the_societys_language(facts):
    verdict = classify.ModeratorCommand("a moderator's command", language="en")
    plan = flow.route(verdict, society(), facts)
    answer = answer_of(plan)
    assert_spanish(answer.subject + "\n" + answer.body, own="Que Sam vuelva")
    if isinstance(facts.command, str):
        assert str(facts.command) in plan.reason, "the log keeps English"


def test_the_notice_to_moderators_in_spanish():
    text = moderation.notice("ANYTOWN", "ANYTOWN-2026-0001", 2, "d" * 64, "Que Sam vuelva\n",
                             "Llamen a Ana al 555-0100.", "todo espera", "2026-12-23", tr=ES)
    subject = moderation.notice_subject("ANYTOWN-2026-0001", "Que Sam vuelva", ES)
    assert subject == "[retenido] ANYTOWN-2026-0001 Que Sam vuelva"
    assert "    aprobar\n    rechazar " in text and 'Responda "retenidos"' in text
    # The machine parts are the same in every language.
    assert moderation.reference("ANYTOWN", "ANYTOWN-2026-0001", 2, "d" * 64) in text
    assert "Moderation: approve\nSociety: ANYTOWN\nAppeal-ID: ANYTOWN-2026-0001\n" in text
    own = "Que Sam vuelva\nLlamen a Ana al 555-0100.\ntodo espera\n" + text[
        text.index("Moderation: approve"):text.index("Nonce:")]
    assert_spanish(subject + "\n" + text, own=own)


@pytest.mark.parametrize("word, verb", [("aprobar", "approve"), ("Rechazar: repetido", "reject"),
                                        ("approve", "approve"), ("reject", "reject")])
def test_a_moderator_may_reply_with_the_word_of_any_language(word, verb):
    read = moderation.read_command(f"{word}\n\n> {REF}\n", "ANYTOWN", "F")
    assert isinstance(read, Command) and read.verb == verb
    assert moderation.read_command("retenidos\n", "ANYTOWN", "F").verb == "held"
    signed = mail(f"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{word}\n")
    assert isinstance(run(signed), classify.ModeratorCommand)


def test_a_refusal_is_logged_in_english_and_said_in_spanish():
    why = moderation.read_command("hola\n", "ANYTOWN", "F")
    assert isinstance(why, Sentence)
    assert why == ("the signed text does not start with approve, reject or held (only the "
                   "signed part of a mail is read)")
    assert say(why, ES) == ("el texto firmado no empieza con aprobar, rechazar o retenidos "
                            "(solo se lee la parte firmada de un correo)")
    assert say("a member's own words", ES) == "a member's own words"


# --- a Spanish answer sent back --------------------------------------------------------------

def _spanish_annotated() -> tuple[str, str]:
    bail, title = (ES.words.field_name(name) for name in ("Bail", "Title"))
    body = SOLICITUD.replace(f"{bail}: 2500 USD\n", "").replace(f"{title}: ", "Tittle: ")
    verdict = run(mail(body, "[bail] Sam"))
    assert isinstance(verdict, classify.Invalid)
    return body, verdict.answer_body


def test_every_line_the_bot_writes_in_spanish_is_known_as_its_own():
    _, annotated = _spanish_annotated()
    accepted = answer_of(flow.route(request_verdict(), society(HOLD),
                                    flow.RequestFacts(NOW, number=1, update_key="k"))).body
    texts = [annotated, accepted, answers.template_text(CATALOGUE.template("bail"), ES),
             answers.example_text(CATALOGUE.template("bail"), NOW, ES)]
    said = [ES._(story.ANNOTATED_HEADER), ES._(story.HELP_FOOTER, help="ayuda",
                                                template="plantilla"),
            ES._(story.BLANK_HEADER), ES._(story.EXAMPLE_HEADER, template="fianza"),
            ES._(story.UPDATE_HEADER, field="Estado"), ES._(story.STATUS_HEADING, field="Estado"),
            ES._(story.ACCEPTED_HELD, appeal_id="ANYTOWN-2026-0001"),
            ES._(story.ACCEPTED, appeal_id="ANYTOWN-2026-0001"), ES._(story.PLEASE_CHECK),
            ES._(story.ANNOTATED_NOT_REPEATED, line=12), ES._(templates.OPTIONAL_HEADING),
            story.hidden_problems(ES, 1), story.hidden_problems(ES, 7),
            ES._(story.LINE_REF, line=40) + " ! Title: falta", ES._(story.QUOTED_NOT_READ)]
    for line in said:
        assert story.is_bot_line(line), line
    for text in texts:
        for line in text.split("\n"):
            if line.startswith(tuple(s[:25] for s in said)):
                assert story.is_bot_line(line), line
    assert story.is_answer_stop(ES._(story.ANSWER_STOP))
    # A member's own line that starts like none of them is theirs.
    assert not story.is_bot_line("Gracias a todas por la ayuda.")
    assert not story.is_bot_line("Su solicitud de fianza fue negada el lunes.")


def test_a_reply_quoting_a_spanish_annotated_answer_is_read_without_the_marks():
    original, annotated = _spanish_annotated()
    quoted = "".join(f"> {line}\n" for line in annotated.split("\n"))
    reply = "El miércoles, Anytown escribió:\n" + quoted
    form = story.parse(reply, "Re: [bail] Sam", CATALOGUE)
    again = story.parse(original, "[bail] Sam", CATALOGUE)
    assert form.quoted and set(form.entries) == set(again.entries)
    assert [n.line for n in form.notes] == [n.line + _offset(annotated, original)
                                            for n in again.notes]
    # The same answer mailed back unquoted, with the two mistakes corrected.
    title, location, bail = (ES.words.field_name(name) for name in ("Title", "Location", "Bail"))
    fixed = annotated.replace("Tittle: ", f"{title}: ").replace(
        f"{location}: Anytown, OR\n", f"{location}: Anytown, OR\n{bail}: 2500 USD\n")
    verdict = run(mail(fixed, "Re: [bail] Sam"))
    assert isinstance(verdict, classify.Request), verdict.answer_body
    assert verdict.validation.values["Title"] == "Que Sam vuelva a casa antes del lunes"


def _offset(annotated: str, original: str) -> int:
    """How many lines the answer adds above the member's first line."""
    first = original.split("\n", 1)[0]
    return annotated.split("\n").index(first) + 1


def test_a_spanish_update_reply_quoting_the_published_appeal_reads_only_the_update():
    accepted = answer_of(flow.route(request_verdict(), society(),
                                    flow.RequestFacts(NOW, number=1, update_key="k3y-k3y"))).body
    reply = (in_spanish("Status: funded\nStop-Sharing: yes") + "\n\nEl lunes, Anytown escribió:\n"
             + "".join(f"> {line}\n" for line in accepted.split("\n")))
    form = story.parse(reply, "Re: [ANYTOWN-2026-0001] Que Sam vuelva", CATALOGUE)
    assert form.template_name == "update"
    assert set(form.entries) == {"Status", "Stop-Sharing", "Update-Key", "Refers-To"}
    assert form.entries["Update-Key"].value == "k3y-k3y"
    assert not form.notes, form.notes


# --- a Spanish-speaking society's moderators, end to end -------------------------------------

def _signed_reply(signer: Signer, text: str) -> bytes:
    """A reply signed as K-9 Mail signs it: the text/plain part itself."""
    part = ("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + text.replace("\n", "\r\n")).encode("utf-8")
    sig = signer.detach_sign(part)
    return (b"From: Jo Moderator <jo@example.org>\r\nTo: mas@anytown.example\r\n"
            b"Subject: Re: [retenido]\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; "
            b"micalg=pgp-sha512; protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n"
            b"\r\n--sig\r\n" + part + b"\r\n--sig\r\nContent-Type: application/pgp-signature\r\n"
            b"\r\n" + sig.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            + b"\r\n--sig--\r\n")


async def test_a_spanish_society_notifies_and_answers_its_moderators_in_spanish(
        tmp_path, gpg_home, smtp_sink):
    own, mod_home = gpg_home(), gpg_home()
    init_key(Path(own.path), "Anytown", "mas@anytown.example")
    init_key(Path(mod_home.path), "Jo Moderator", "jo@example.org")
    mod = Signer(Path(mod_home.path))
    (tmp_path / "mod.asc").write_text(mod.export_public())
    sink = smtp_sink()
    files = write_config(tmp_path, Path(own.path), smtp_port=sink.port, extra=(
        "rules:\n  - name: todo espera\n    match: {}\n    action: hold\n"
        "moderators: [mods@anytown.example]\nmoderator_keys:\n"
        f"  - fingerprint: {mod.fingerprint}\n    key_file: mod.asc\n"))
    files.config.write_text(files.config.read_text().replace(
        "  id: ANYTOWN\n", "  id: ANYTOWN\n  language: es\n"))
    config = load_config(files.config)
    store = Store(store_path(config))
    keyring = from_config(config)
    try:
        soc = Society(config, store, Signer(config.society.gnupghome),
                      SmtpTransport(config.smtp), keyring=keyring)
        held = await soc.handle(mail(SOLICITUD, "[bail] Que Sam vuelva a casa"))
        assert held.action == "hold"
        (notice_mail,) = [email.message_from_bytes(m.data, policy=email.policy.default)
                          for m in sink.messages if list(m.rcpt_tos) == ["mods@anytown.example"]]
        assert notice_mail["Subject"].startswith("[retenido] ANYTOWN-2026-0001 ")
        notice = notice_mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert "espera a la moderación: lo retiene la regla de reenvío 'todo espera'" in notice
        before = len(sink.messages)
        done = await soc.handle(_signed_reply(mod, "aprobar\n\n" + "".join(
            f"> {line}\n" for line in notice.split("\n"))))
        assert done.kind == "moderation" and done.action == "relay", done.reason
        answer = email.message_from_bytes(sink.messages[before].data,
                                          policy=email.policy.default)
        assert answer["Subject"] == "[ANYTOWN-2026-0001] aprobado"
        assert answer.get_content().startswith("ANYTOWN-2026-0001 revisión 1: aprobado, enviado a")
    finally:
        keyring.close()
        store.close()
