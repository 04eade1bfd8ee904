"""Reading inbound mail (:func:`masbot.intake.message.read`) from real MIME bytes.

Every message here is written out as the bytes a mail server would hand over, so the
tests exercise the same parser, charsets and transfer encodings as production.
"""

from __future__ import annotations

import base64
import quopri

import pytest

from masbot.intake import message as intake

FROM = "Jo <jo.q.2024@example.com>"


def mail(body: bytes | str, *, headers: str = "", content_type: str = "text/plain; charset=utf-8",
         cte: str | None = None, sender: str | None = FROM, subject: str = "[bail] Sam") -> bytes:
    """A complete message: common headers, ``headers`` (one per line), then the body."""
    head = []
    if sender is not None:
        head.append(f"From: {sender}")
    head += ["To: mas@anytown.example", f"Subject: {subject}",
             "Message-ID: <m1@example.com>", "Date: Mon, 23 Nov 2026 10:00:00 +0000",
             "MIME-Version: 1.0", f"Content-Type: {content_type}"]
    if cte:
        head.append(f"Content-Transfer-Encoding: {cte}")
    head += [h for h in headers.split("\n") if h]
    raw_body = body if isinstance(body, bytes) else body.encode("utf-8")
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + raw_body.replace(b"\n", b"\r\n")


def multipart(subtype: str, *parts: str, boundary: str = "BOUNDARY", **kwargs) -> bytes:
    """A multipart message whose ``parts`` are complete part texts (headers, blank line, body)."""
    body = "".join(f"--{boundary}\n{p}\n" for p in parts) + f"--{boundary}--\n"
    return mail(body, content_type=f'multipart/{subtype}; boundary="{boundary}"', **kwargs)


# --- bodies ----------------------------------------------------------------------------


def test_plain_text() -> None:
    msg = intake.read(mail("Title: Sam\nFiled-By: self\n"))
    assert msg.problem is None and msg.automatic is None
    assert msg.body == "Title: Sam\nFiled-By: self\n"
    assert msg.subject == "[bail] Sam"
    assert msg.answer_to == "jo.q.2024@example.com"
    assert msg.in_reply_to == "<m1@example.com>"
    assert msg.attachments == 0
    assert not msg.signed
    assert len(msg.digest) == 64 and msg.ref == msg.digest[:12]


def test_digest_ignores_line_end_style() -> None:
    raw = mail("Title: Sam\n")
    assert intake.read(raw).digest == intake.read(raw.replace(b"\r\n", b"\n")).digest
    assert intake.read(raw).digest != intake.read(mail("Title: Kim\n")).digest


def test_html_only_is_converted_to_lines() -> None:
    html = ("<html><head><title>x</title><style>p {color: red}</style></head><body>"
            "<div dir=\"ltr\">Title: Sam&nbsp;needs &amp; bail</div>"
            "<div>Filed-By: self</div><div><br></div>"
            "<div>Story:</div><p>First   paragraph\nwraps here.</p><p>Second.</p>"
            "<div>Funds-Use:</div><ul><li>bail</li><li>rides</li></ul>"
            "<script>alert('x')</script>"
            "<div>How-To-Help:<br>Give<br>Share</div></body></html>")
    msg = intake.read(mail(html, content_type="text/html; charset=utf-8"))
    assert msg.body == (
        "Title: Sam needs & bail\n"
        "Filed-By: self\n"
        "\n"
        "Story:\n"
        "\n"
        "First paragraph wraps here.\n"
        "\n"
        "Second.\n"
        "\n"
        "Funds-Use:\n"
        "- bail\n"
        "- rides\n"
        "How-To-Help:\n"
        "Give\n"
        "Share\n"
    )


def test_html_blockquote_is_the_quoted_original_and_is_dropped() -> None:
    html = ("<div>Title: Mine</div><div class=\"gmail_quote\">On Monday the society wrote:"
            "<blockquote><div>Template: bail</div><div>Title:</div></blockquote></div>")
    msg = intake.read(mail(html, content_type="text/html; charset=utf-8"))
    assert "Template" not in msg.body
    assert msg.body.startswith("Title: Mine\n")


def test_multipart_alternative_prefers_plain() -> None:
    raw = multipart(
        "alternative",
        "Content-Type: text/plain; charset=utf-8\n\nTitle: from the plain part\n",
        "Content-Type: text/html; charset=utf-8\n\n<div>Title: from the html part</div>\n",
    )
    msg = intake.read(raw)
    assert msg.body == "Title: from the plain part\n"
    assert msg.attachments == 0


def test_multipart_alternative_html_first_still_prefers_plain() -> None:
    raw = multipart(
        "alternative",
        "Content-Type: text/html; charset=utf-8\n\n<div>Title: html</div>\n",
        "Content-Type: text/plain; charset=utf-8\n\nTitle: plain\n",
    )
    assert intake.read(raw).body == "Title: plain\n"


def test_format_flowed_with_delsp() -> None:
    body = "Story:\nSam cooks at our food share every we\nek and is held.\n-- \nJo\n"
    flowed = body.replace("we\n", "we \n")
    msg = intake.read(mail(flowed, content_type="text/plain; charset=utf-8; format=flowed; delsp=yes"))
    assert msg.body == "Story:\nSam cooks at our food share every week and is held.\n-- \nJo\n"


def test_format_flowed_without_delsp_keeps_the_space() -> None:
    flowed = "Title: Get Sam home \nbefore Monday\nFiled-By: self\n"
    msg = intake.read(mail(flowed, content_type="text/plain; charset=utf-8; format=flowed"))
    assert msg.body == "Title: Get Sam home before Monday\nFiled-By: self\n"


def test_format_flowed_space_stuffing_and_quote_depth() -> None:
    flowed = (" From the start of a line\n"
              "> a quoted flowed line \n"
              "Title: not part of the quote\n")
    msg = intake.read(mail(flowed, content_type="text/plain; charset=utf-8; format=flowed"))
    assert msg.body.split("\n")[:3] == [
        "From the start of a line", "> a quoted flowed line ", "Title: not part of the quote"]


def test_iso_8859_1_quoted_printable() -> None:
    text = "Location: San José, Nuevo León\nTitle: ¡Ayuda para Mía!\n"
    raw = mail(quopri.encodestring(text.encode("iso-8859-1")),
               content_type="text/plain; charset=ISO-8859-1", cte="quoted-printable")
    assert intake.read(raw).body == text


def test_windows_1252_eight_bit() -> None:
    text = "Story: Sam\u2019s bail \u2013 \u201cnow\u201d \u20ac500\n"
    raw = mail(text.encode("cp1252"), content_type="text/plain; charset=windows-1252", cte="8bit")
    assert intake.read(raw).body == text


def test_windows_1252_declared_as_latin_1() -> None:
    """Many phones say ISO-8859-1 and send windows-1252 quotes: read them as 1252."""
    text = "Story: Sam\u2019s bail \u2013 now\n"
    raw = mail(text.encode("cp1252"), content_type="text/plain; charset=iso-8859-1", cte="8bit")
    assert intake.read(raw).body == text


def test_base64_utf8() -> None:
    text = "Title: Ayuda para Mía 🙏\nLocation: Oaxaca, MX\n"
    raw = mail(base64.encodebytes(text.encode("utf-8")), cte="base64")
    assert intake.read(raw).body == text


def test_unknown_charset_is_read_as_utf8_with_replacements() -> None:
    raw = mail("Title: caf\u00e9\n".encode("utf-8"), content_type="text/plain; charset=x-klingon")
    msg = intake.read(raw)
    assert msg.problem is None
    assert msg.body.startswith("Title: caf")


def test_undecodable_bytes_do_not_stop_the_reading() -> None:
    raw = mail(b"Title: \xff\xfe broken\n", content_type="text/plain; charset=utf-8", cte="8bit")
    msg = intake.read(raw)
    assert msg.problem is None
    assert msg.body.startswith("Title: ")
    assert "broken" in msg.body


def test_encoded_subject() -> None:
    raw = mail("x\n", subject="=?utf-8?q?=5Bbail=5D_Ayuda_para_M=C3=ADa?=")
    assert intake.read(raw).subject == "[bail] Ayuda para Mía"


def test_images_are_set_aside_and_other_attachments_counted() -> None:
    raw = multipart(
        "mixed",
        "Content-Type: text/plain; charset=utf-8\n\nTitle: Sam\n",
        "Content-Type: image/jpeg\nContent-Disposition: attachment; filename=\"id.jpg\"\n"
        "Content-Transfer-Encoding: base64\n\n/9j/4AAQ\n",
        "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"a.pdf\"\n"
        "Content-Transfer-Encoding: base64\n\nJVBERi0=\n",
    )
    msg = intake.read(raw)
    assert msg.body == "Title: Sam\n"
    assert msg.attachments == 1  # the PDF
    assert msg.images == [b"\xff\xd8\xff\xe0\x00\x10"]  # the JPEG's bytes, not yet decoded


def test_images_of_an_html_body_are_not_taken_but_attached_or_named_ones_are() -> None:
    related = (
        'Content-Type: multipart/related; boundary="REL"\n\n'
        "--REL\nContent-Type: text/html; charset=utf-8\n\n<p>Title: Sam</p><img src=cid:logo>\n"
        "--REL\nContent-Type: image/png\nContent-ID: <logo>\nContent-Disposition: inline; "
        'filename="logo.png"\nContent-Transfer-Encoding: base64\n\niVBORw0K\n'
        "--REL\nContent-Type: image/png\nContent-Disposition: attachment; "
        'filename="flyer.png"\nContent-Transfer-Encoding: base64\n\niVBORw0K\n'
        "--REL--\n")
    raw = multipart(
        "mixed", related,
        'Content-Type: image/jpeg\nContent-Disposition: inline; filename="IMG_0001.jpg"\n'
        "Content-Transfer-Encoding: base64\n\n/9j/4AAQ\n",
        "Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh\n",
    )
    msg = intake.read(raw)
    assert msg.images == [b"\x89PNG\r\n", b"\xff\xd8\xff\xe0\x00\x10"], \
        "the attached flyer and the named photo, not the logo"
    assert msg.attachments == 1, "the unnamed inline GIF is dropped and counted"


def test_a_text_attachment_is_not_the_body() -> None:
    raw = multipart(
        "mixed",
        "Content-Type: text/plain; charset=utf-8\n\nTitle: the body\n",
        "Content-Type: text/plain; charset=utf-8\nContent-Disposition: attachment; "
        "filename=\"notes.txt\"\n\nTitle: the attachment\n",
    )
    msg = intake.read(raw)
    assert msg.body == "Title: the body\n"
    assert msg.attachments == 1


def test_signed_post_is_marked() -> None:
    raw = mail(
        "--B\nContent-Type: text/plain\n\nAppeal-ID: X\n--B\nContent-Type: application/pgp-signature"
        "\n\nsig\n--B--\n",
        content_type='multipart/signed; boundary="B"; protocol="application/pgp-signature"; '
                     'micalg=pgp-sha256')
    assert intake.read(raw).signed


# --- limits ----------------------------------------------------------------------------


def test_oversize_message() -> None:
    raw = mail("Story:\n" + "word " * 3000)
    msg = intake.read(raw, intake.Limits(max_message_bytes=10_000))
    assert msg.problem == "the message is larger than 10 kB"
    assert msg.body == ""


def test_oversize_message_still_knows_whom_to_answer() -> None:
    raw = mail("Story:\n" + "word " * 3000)
    msg = intake.read(raw, intake.Limits(max_message_bytes=10_000))
    assert msg.answer_to == "jo.q.2024@example.com"
    assert msg.subject == "[bail] Sam"


def test_too_many_parts() -> None:
    parts = ["Content-Type: text/plain\n\npart\n"] * 60
    msg = intake.read(multipart("mixed", *parts))
    assert msg.problem == "the message has too many MIME parts (61; at most 50)"


def _nested(depth: int) -> bytes:
    inner = "Content-Type: text/plain\n\nTitle: deep\n"
    for level in range(depth - 1):
        b = f"b{level}"
        inner = f'Content-Type: multipart/mixed; boundary="{b}"\n\n--{b}\n{inner}\n--{b}--\n'
    return mail(inner.split("\n\n", 1)[1], content_type=inner.split("\n", 1)[0].split(": ", 1)[1])


def test_too_deep() -> None:
    msg = intake.read(_nested(12))
    assert msg.problem == "the message's MIME parts are nested more than 10 levels deep"
    assert msg.answer_to == "jo.q.2024@example.com"


def test_absurdly_deep_mime_is_refused_without_recursing() -> None:
    msg = intake.read(_nested(3000), intake.Limits(max_message_bytes=10_000_000))
    assert msg.problem == "the message's MIME parts are nested more than 10 levels deep"
    assert msg.answer_to == "jo.q.2024@example.com"


def test_just_deep_enough_is_fine() -> None:
    msg = intake.read(_nested(10))
    assert msg.problem is None
    assert msg.body == "Title: deep\n"


def test_bytes_that_are_no_mail_at_all() -> None:
    msg = intake.read(b"\x00\xff\xfe garbage \x80\x81")
    assert msg.answer_to is None
    assert isinstance(msg.body, str)


# --- automatic mail (RFC 3834) -------------------------------------------------------------


@pytest.mark.parametrize("headers,reason", [
    ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
    ("Auto-Submitted: auto-generated; owner-email=x@example.com", "Auto-Submitted: auto-generated"),
    ("Auto-Submitted: Auto-Notified", "Auto-Submitted: auto-notified"),
    ("Precedence: bulk", "Precedence: bulk"),
    ("Precedence: list", "Precedence: list"),
    ("Precedence: junk", "Precedence: junk"),
    ("List-Id: <members.anytown.example>", "List-Id header"),
    ("List-Unsubscribe: <mailto:leave@lists.example>", "List-Unsubscribe header"),
    ("X-Autoreply: yes", "X-Autoreply header"),
    ("Return-Path: <>", "null Return-Path (a bounce)"),
    ("Return-Path: < >", "null Return-Path (a bounce)"),
])
def test_automatic_mail_gets_no_answer(headers: str, reason: str) -> None:
    msg = intake.read(mail("Title: x\n", headers=headers))
    assert msg.automatic == reason
    assert msg.answer_to is None


def test_auto_submitted_no_is_a_person() -> None:
    msg = intake.read(mail("Title: x\n", headers="Auto-Submitted: no"))
    assert msg.automatic is None
    assert msg.answer_to == "jo.q.2024@example.com"


def test_a_bounce_report() -> None:
    raw = multipart(
        "report",
        "Content-Type: text/plain\n\nYour message could not be delivered.\n",
        "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
        "Final-Recipient: rfc822; x@example.com\nAction: failed\nStatus: 5.1.1\n",
        sender="Mail Delivery System <MAILER-DAEMON@mx.example>",
    )
    msg = intake.read(raw.replace(b"multipart/report;", b"multipart/report; report-type=delivery-status;"))
    assert msg.automatic == "delivery report"
    assert msg.answer_to is None


@pytest.mark.parametrize("sender", [
    "MAILER-DAEMON@mx.example", "Mail Delivery System <mailer-daemon@mx.example>",
    "postmaster@example.org", "noreply@bank.example", "No Reply <no-reply@shop.example>",
    "do-not-reply@x.example", "donotreply@x.example", "do_not_reply@x.example",
    "noreply+abc123@x.example", "members-bounces@lists.example", "owner-members@lists.example",
    "members-request@lists.example",
])
def test_system_senders_are_automatic(sender: str) -> None:
    msg = intake.read(mail("Title: x\n", sender=sender))
    assert msg.automatic == "sent from a no-reply or system address"
    assert msg.answer_to is None


def test_a_system_from_with_a_personal_reply_to_is_still_automatic() -> None:
    msg = intake.read(mail("Title: x\n", sender="noreply@forms.example",
                           headers="Reply-To: jo.q.2024@example.com"))
    assert msg.automatic == "sent from a no-reply or system address"
    assert msg.answer_to is None


@pytest.mark.parametrize("sender", ["Rena Plyman <rena@example.org>", "bouncer.fan@example.org",
                                    "daemonia@example.org", "replyguy@example.org"])
def test_people_whose_address_merely_resembles_a_system_one(sender: str) -> None:
    msg = intake.read(mail("Title: x\n", sender=sender))
    assert msg.automatic is None
    assert msg.answer_to is not None


# --- where the one answer goes -------------------------------------------------------------


def test_reply_to_is_preferred_over_from() -> None:
    msg = intake.read(mail("x\n", headers="Reply-To: Other <other.addr@example.net>"))
    assert msg.answer_to == "other.addr@example.net"


def test_a_broken_reply_to_falls_back_to_from() -> None:
    msg = intake.read(mail("x\n", headers="Reply-To: not an address"))
    assert msg.answer_to == "jo.q.2024@example.com"


def test_no_from_at_all() -> None:
    msg = intake.read(mail("Title: x\n", sender=None))
    assert msg.answer_to is None
    assert msg.problem is None
    assert msg.body == "Title: x\n"


@pytest.mark.parametrize("sender", ["undisclosed-recipients:;", "<>", "jo@", "@example.com",
                                    "jo@localhost", "\"jo@example.com\" <>",
                                    "\\a@example.com", "jos\u00e9@example.com", "a..b@example.com"])
def test_unusable_from(sender: str) -> None:
    assert intake.read(mail("x\n", sender=sender)).answer_to is None


def test_an_injected_newline_in_a_header_stays_inside_that_header() -> None:
    # An encoded word that decodes to a line break followed by something header-like.
    raw = mail("Title: x\n", subject="=?utf-8?q?hello=0D=0ABcc=3A_victim=40example=2Eorg?=",
               headers="Reply-To: =?utf-8?q?Jo=0ABcc=3A_victim=40example=2Eorg?= <jo2@example.com>")
    msg = intake.read(raw)
    assert msg.subject == "hello Bcc: victim@example.org"
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert msg.answer_to == "jo2@example.com"


def test_a_bare_cr_in_a_raw_header() -> None:
    raw = mail("Title: x\n", subject="hello\rBcc: victim@example.org")
    msg = intake.read(raw)
    assert "\r" not in msg.subject and "\n" not in msg.subject
    assert msg.answer_to == "jo.q.2024@example.com"


def test_a_folded_message_id_is_usable_for_in_reply_to() -> None:
    raw = mail("x\n").replace(b"Message-ID: <m1@example.com>", b"Message-ID:\r\n <m1@example.com>")
    assert intake.read(raw).in_reply_to == "<m1@example.com>"


def test_a_message_id_that_is_garbage_is_dropped() -> None:
    raw = mail("x\n").replace(b"Message-ID: <m1@example.com>", b"Message-ID: not a message id")
    assert intake.read(raw).in_reply_to is None


def test_the_subject_is_kept_short() -> None:
    msg = intake.read(mail("x\n", subject="[bail] " + "very long " * 100))
    assert len(msg.subject) <= 300


@pytest.mark.parametrize("subject, read", [
    ("[bail]   Sam\r\n\tand   Alex", "[bail] Sam and Alex"),  # folded, spaced: one line
    ("x" * 400, "x" * 300),
    ("=?utf-8?q?=5Bbail=5D?= plain words", "[bail] plain words"),
    ("Caf\u00e9 raw UTF-8", "Caf\u00e9 raw UTF-8"),
])
def test_subjects_plain_or_encoded_read_as_one_line(subject: str, read: str) -> None:
    raw = mail("x\n", subject="PLACEHOLDER").replace(b"PLACEHOLDER", subject.encode("utf-8"))
    assert intake.read(raw).subject == read
