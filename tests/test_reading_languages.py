"""What readers see is in the appeal's language: the reading parts of a post, the repost kit
and its .ics, for a Spanish appeal (English keys, ``Language: es``, Spanish free text); and no
label a reader sees escapes translation.

Spanish comes from :mod:`lang_support` (the shipped catalog and field file, or a stand-in
field file until the shipped one lands), and expectations are written with
``tr.words.label(...)``, ``tr._(...)`` and ``tr.date``/``tr.amount``, so they hold with
either.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import date
from decimal import Decimal

import pytest

from lang_support import DONATE, assert_no_english, fianza, spanish, vigilia  # noqa: F401
from masbot import lang
from masbot.appeal import reading, render, view
from masbot.appeal.canonical import Appeal
from masbot.post import build as post
from masbot.post import verify
from masbot.post.verify import PostCheck
from masbot.signing.keyring import Keyring
from masbot.story.templates import builtin
from site_support import society

SITE = "https://anytown.example/"
CONTACT = "people@anytown.example"


@pytest.fixture(scope="module")
def anytown():
    s = society("Anytown Mutual Aid", "mas@anytown.example")
    yield s
    s.close()


def _post(s, appeal: Appeal, language: str | None = None) -> bytes:
    clearsigned = s.signer.clearsign(appeal.canonical_text())
    record = post.RelayRecord(s.fingerprint, "Anytown Mutual Aid", appeal.appeal_id,
                              appeal.revision, (s.fingerprint,))
    return post.signed_content(clearsigned, record, s.signer.export_public(), site_url=SITE,
                               contact=CONTACT, language=language)


def _leaves(content: bytes) -> dict[str, email.message.EmailMessage]:
    msg = email.message_from_bytes(content, policy=email.policy.default)
    leaves = {}
    for part in msg.walk():
        if part.get_content_type() in ("text/plain", "text/html") and not part.get_filename():
            leaves[part.get_content_type()] = part
    return leaves


def test_spanish_post_reads_in_spanish_with_local_formats(anytown, spanish) -> None:
    tr = spanish
    leaves = _leaves(_post(anytown, fianza()))
    text = leaves["text/plain"].get_content()
    html = leaves["text/html"].get_content()
    for part in leaves.values():
        assert part["Content-Language"] == "es"
    assert '<html lang="es">' in html and 'lang="es"' in html.split("<article", 1)[1][:200]
    screen = "\n".join(text.split("\n")[:10])  # the first screen of a phone
    amount = tr.amount(Decimal("2500"), "USD")
    for line in (f"{tr.words.label('Name-To-Publish')}: Lupe R.",
                 f"{tr.words.label('Goal')}: {amount}",
                 f"{tr.words.label('Needed-By')}: {tr.date(date(2026, 12, 5))}",
                 f"{tr._('How to help')}: Done en el enlace y comparta este llamado.",
                 f"{tr._('Give')}: {DONATE}",
                 tr._("Read it online: {url}", url=f"{SITE}appeals/ANYTOWN-2026-0005/")):
        assert line in screen, (line, screen)
    for line in (f"{tr.words.label('Bail')}: {amount}",
                 f"{tr.words.label('Bail-Return')}: "
                 + tr._("Returned bail stays with the fund for the next person"),
                 f"{tr.words.label('Story')}:", f"{tr.words.label('Funds-Use')}:",
                 tr._("{appeal_id}, revision {revision}", appeal_id="ANYTOWN-2026-0005",
                      revision=1)):
        assert line in text, (line, text)
    assert tr._("To reach the people behind this appeal, reply to this mail: it goes to "
                "{contact}, read by people.", contact=CONTACT) in text
    assert tr._("Filed by a champion ({relation}); consent: {consent}",
                relation="compañera de casa",
                consent=tr.words.value("Consent", "prior")) in html
    assert f"{tr._('Give')}:</strong> <a href=\"{DONATE}\"" in html
    for rendered in (text, html):
        assert_no_english(rendered)
        assert "2026-12-05" not in rendered.split("________")[0]


def test_spanish_post_still_carries_the_neutral_appeal_and_verifies(anytown, spanish) -> None:
    appeal = fianza()
    content = _post(anytown, appeal)
    sig = anytown.signer.detach_sign(content)
    env = post.Envelope("Anytown Mutual Aid", "mas@anytown.example", ("l@anytown.example",),
                        "[x] y", appeal.issued, "<m@anytown.example>")
    raw = post.assemble(content, sig.data, sig.hash_algo, env, "=-b-1")
    with Keyring.of(anytown.signer.export_public().encode()) as keyring:
        result = verify.verify_post(raw, keyring)
    assert isinstance(result, PostCheck), result
    assert result.appeal_text == appeal.canonical_text()
    assert "\nLanguage: es\n" in result.appeal_text and "\nGoal: 2500 USD\n" in result.appeal_text


def test_an_appeal_without_language_reads_in_the_societys(anytown, spanish) -> None:
    """The society's language, handed in, is the reading parts' language when the appeal
    names none; an appeal that names one keeps it."""
    bare = dataclasses.replace(fianza(), fields=tuple(
        (k, v) for k, v in fianza().fields if k != "Language"))
    text = _leaves(_post(anytown, bare, language="es"))["text/plain"]
    assert text["Content-Language"] == "es"
    assert f"{spanish._('How to help')}:" in text.get_content()
    english = _leaves(_post(anytown, bare))["text/plain"]
    assert english["Content-Language"] == "en" and "How to help:" in english.get_content()
    named = _leaves(_post(anytown, fianza(), language="en"))["text/plain"]
    assert named["Content-Language"] == "es"


def test_spanish_kit_and_calendar_event(spanish) -> None:
    tr = spanish
    url = f"{SITE}appeals/ANYTOWN-2026-0006/"
    proof = render.Proof("signed text", "A" * 40, "Anytown Mutual Aid", f"{SITE}check.html")
    kit = render.kit(vigilia(), url=url, proof=proof)
    start = tr.date(date(2026, 12, 5))
    assert f"**{tr.words.label('Start')}:** " in kit["appeal.md"] and start in kit["appeal.md"]
    assert f"<dt>{tr.words.label('Where')}</dt>" in kit["appeal.html"]
    assert tr.words.value("Kind", "vigil") in kit["appeal.html"]
    assert f"### {tr._('Check this appeal')}" in kit["appeal.md"]
    assert tr._("Join us at {place}, {time}.", place="la plaza frente a la cárcel",
                time=view.moment_text(tr, view.when.parse_moment(
                    "2026-12-05 18:00 America/Los_Angeles"))) in kit["share.txt"]
    assert f"{tr._('Status')}: {tr._('open')}" in kit["share.txt"]
    assert f"{tr._('Expires')}: {tr.date(date(2026, 12, 10))}" in kit["share.txt"]
    event = kit["appeal.ics"]
    unfolded = event.replace("\r\n ", "")
    assert "SUMMARY;LANGUAGE=es:Vigilia" in unfolded
    assert f"{tr.words.label('Bring')}: ropa de abrigo\\, agua" in unfolded
    assert "DTSTART:20261206T020000Z" in unfolded  # the times stay exact, in UTC
    for name, rendered in kit.items():
        assert_no_english(rendered.replace("\\,", ","))


def _labels(page: view.Page) -> list[tuple[str, str]]:
    """(field, label) of every label on the page, in order."""
    out = []
    for block in page.update + page.blocks:
        if block.kind == "rows":
            out += [(row.field, row.label) for row in block.rows]
        else:
            out.append((block.field, block.label))
    return out


def _values(page: view.Page) -> list[tuple[str, str]]:
    return [(row.field, "".join(p.text for p in row.parts))
            for block in page.update + page.blocks for row in block.rows]


def _samples() -> list[tuple[str, Appeal]]:
    from test_render import SAMPLES
    return [(f"{template}/{name}", appeal) for template, names in SAMPLES.items()
            for name, (appeal, _) in names.items()]


@pytest.mark.parametrize("name,appeal", _samples())
def test_no_reading_label_escapes_translation(spanish, name: str, appeal: Appeal) -> None:
    """Every label a reader of a Spanish appeal sees, in every template and after every kind
    of update, comes from the field file or the catalog: each differs from the English label
    in its place, or is the field file's own label for that field."""
    es, en = spanish, lang.get("en")
    appeal = dataclasses.replace(appeal, fields=tuple(
        (k, v) for k, v in appeal.fields if k != "Language") + (("Language", "es"),))
    spanish_page, english_page = view.page(appeal, tr=es), view.page(appeal, tr=en)
    pairs = list(zip(_labels(spanish_page), _labels(english_page), strict=True))
    assert pairs, name
    for (field, shown), (_, english) in pairs:
        if field in es.words.fields:
            assert shown == es.words.label(field), (name, field, shown)
        else:
            assert shown != english, (name, field, shown)
    template = builtin().template(appeal.template)
    for (field, shown), (_, english) in zip(_values(spanish_page), _values(english_page)):
        spec = template.field(field) if template is not None else None
        if spec is not None and spec.kind == "choice":
            assert shown != english or shown == es.words.value(field, english), (field, shown)
    summary = reading.summary(appeal, spanish_page)
    english_summary = reading.summary(appeal, english_page)
    for (shown, _), (english, _) in zip(summary, english_summary, strict=True):
        assert shown != english or shown in {es.words.label(f) for f in es.words.fields}, \
            (name, shown)
    for (shown, _), (english, _) in zip(render.proof_rows(appeal, "https://x.example/", None, es),
                                        render.proof_rows(appeal, "https://x.example/", None, en)):
        assert shown != english, (name, shown)
    text = reading.text(appeal, reading.Proof("Anytown", "A" * 40, "https://x.example/c",
                                              CONTACT), tr=es)
    assert_no_english(text)


def test_an_english_appeal_reads_as_before(anytown) -> None:
    """English is the source: its labels are the canonical ones, its dates and amounts as an
    English locale writes them, the currency by its code (the golden files in tests/golden
    hold every template's English renderings byte for byte)."""
    from site_support import _bail
    text = _leaves(_post(anytown, _bail()))["text/plain"].get_content()
    for line in ("Goal: 1,500 USD", "Needed by: December 5, 2026", "How to help: ",
                 "If bail is returned: Returned bail stays with the fund"):
        assert line in text, text
