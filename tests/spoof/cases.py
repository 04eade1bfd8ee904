"""The spoofing corpus: every forgery with the genuine post it was derived from.

Classes follow issue 4, point 3, and the post checks of masbot.post.verify: unsigned mail, text
outside the signature, extra parts, wrapping (attachment, HTML, reference), keys (unknown,
unpinned, expired, revoked, expired signature), bad signatures, provenance (origin, appeal
signer, record, path), the appeal's clearsigned block, the From header, SigSpoof-style status
injection, and MIME ambiguity.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from masbot.post import build as post
from masbot.post.verify import Reason

from spoof.corpus import (BOUNDARY, EVIL, FUND, World, appeal_text, armor_signature, assemble,
                          content, dearmor, headers_of, mixed, relay, signature_block,
                          split_signed)


@dataclass(frozen=True)
class Case:
    """A forgery, the genuine post it imitates, and the reason it must be refused for."""

    name: str
    klass: str
    forged: bytes
    genuine: bytes
    reason: Reason
    partner_only: bool = False  # verify_post accepts it; only check_partner_post refuses


@dataclass(frozen=True)
class Genuine:
    """The genuine posts the forgeries start from."""

    direct: bytes  # Anytown's own appeal, sent by Anytown
    relayed: bytes  # Anytown's appeal relayed by Riverside
    own: bytes  # Riverside's own appeal
    subkey: bytes  # Subtown's own appeal, signed by its signing subkey


def genuine_posts(w: World) -> Genuine:
    riverside_text = appeal_text("RIVERSIDE-2026-0007", 2, "Riverside Mutual Aid")
    own = w["riverside"].clearsign(riverside_text)
    rec = post.RelayRecord(w["riverside"].fpr, "Riverside Mutual Aid", "RIVERSIDE-2026-0007", 2,
                           (w["riverside"].fpr,))
    subtown_text = appeal_text("SUBTOWN-2026-0001", 1, "Subtown Mutual Aid")
    sub_rec = post.RelayRecord(w["subtown"].fpr, "Subtown Mutual Aid", "SUBTOWN-2026-0001", 1,
                               (w["subtown"].fpr,))
    return Genuine(
        direct=relay(w["anytown"]),
        relayed=relay(w["anytown"], w["riverside"]),
        own=relay(w["riverside"], appeal=own, record=rec),
        subkey=relay(w["subtown"], appeal=w["subtown"].clearsign(subtown_text), record=sub_rec))


def _sig_delim(raw: bytes) -> bytes:
    return b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type: application/pgp-signature"


def _close(raw: bytes) -> bytes:
    return b"\r\n--" + BOUNDARY.encode() + b"--"


def _record(w: World, *path: str, appeal_id: str = "ANYTOWN-2026-0001", revision: int = 1,
            origin: str | None = None) -> post.RelayRecord:
    fprs = tuple(w[p].fpr for p in path)
    return post.RelayRecord(origin or fprs[0], "Anytown Mutual Aid", appeal_id, revision, fprs)


def _unsigned(w: World, g: Genuine) -> list[Case]:
    a = w["anytown"]
    text = appeal_text(link=EVIL).replace("\n", "\r\n").encode()
    plain = (headers_of(a) + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + text
    parts = mixed(headers_of(a), [("Content-Type: text/plain; charset=utf-8\r\n", text),
                                  ("Content-Type: text/plain; name=relay-record.txt\r\n",
                                   _record(w, "anytown").text().encode())])
    return [
        Case("plain text appeal, no signature", "unsigned", plain, g.direct, Reason.UNSIGNED),
        Case("the post's parts without multipart/signed", "unsigned", parts, g.direct,
             Reason.UNSIGNED),
    ]


def _outside(w: World, g: Genuine) -> list[Case]:
    raw = g.relayed
    prepended = raw.replace(post.PREAMBLE, b"URGENT: the bail fund moved, give at " + EVIL.encode())
    prepended_top = raw.replace(post.PREAMBLE + b"\r\n", post.PREAMBLE + b"\r\n\r\nGive at "
                                + EVIL.encode() + b" instead.\r\n")
    appended = raw + b"\r\nP.S. The fund moved: " + EVIL.encode() + b"\r\n"
    appended_part = raw + (f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nGive at {EVIL}\r\n"
                           f"--{BOUNDARY}--\r\n").encode()
    extra = (f"\r\n--{BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             f"Update: give at {EVIL} instead.").encode()
    extra_mid = raw.replace(_sig_delim(raw), extra + _sig_delim(raw), 1)
    extra_end = raw.replace(_close(raw), extra + _close(raw), 1)
    return [
        Case("text instead of the preamble", "prepended", prepended, raw, Reason.PREPENDED),
        Case("text after the standard preamble", "prepended", prepended_top, raw,
             Reason.PREPENDED),
        Case("text after the closing boundary", "appended", appended, raw, Reason.APPENDED),
        Case("a part after the closing boundary", "appended", appended_part, raw,
             Reason.APPENDED),
        Case("unsigned part between content and signature", "extra part", extra_mid, raw,
             Reason.EXTRA_PART),
        Case("unsigned part after the signature", "extra part", extra_end, raw,
             Reason.EXTRA_PART),
    ]


def _wrapped(w: World, g: Genuine) -> list[Case]:
    r = w["riverside"]
    raw = g.relayed
    head, body = raw.split(b"\r\n\r\n", 1)
    ctype = re.search(rb"Content-Type: (.*?)\r\n(?! )", head + b"\r\n", re.S).group(1)
    forged_text = f"Bail fund update: give at {EVIL}\r\n".encode()
    as_rfc822 = mixed(headers_of(r), [("Content-Type: text/plain; charset=utf-8\r\n", forged_text),
                                      ("Content-Type: message/rfc822\r\nContent-Disposition: "
                                       "attachment; filename=original.eml\r\n", raw)])
    nested = mixed(headers_of(r), [("Content-Type: text/plain; charset=utf-8\r\n", forged_text),
                                   (f"Content-Type: {ctype.decode()}\r\n", body)])
    appeal = w["anytown"].clearsign(appeal_text()).replace("\n", "\r\n")
    html_body = (f"<html><body><p>Give at <a href=\"{EVIL}\">the bail fund</a></p>"
                 f"<pre style=\"display:none\">{appeal}</pre></body></html>\r\n").encode()
    html_top = (headers_of(r) + "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
                "\r\n").encode() + html_body
    html_alt = mixed(headers_of(r), [("Content-Type: text/plain; charset=utf-8\r\n",
                                      b"Please read the HTML version.\r\n"),
                                     ("Content-Type: text/html; charset=utf-8\r\n", html_body)],
                     "multipart/alternative")
    external = (headers_of(r) + "MIME-Version: 1.0\r\nContent-Type: message/external-body; "
                "access-type=URL; URL=\"https://evil.example/appeal.eml\"\r\n\r\n"
                "Content-Type: text/plain\r\n\r\n").encode()
    return [
        Case("genuine post attached to an unsigned mail", "wrapped", as_rfc822, raw,
             Reason.WRAPPED),
        Case("genuine multipart/signed nested in multipart/mixed", "wrapped", nested, raw,
             Reason.WRAPPED),
        Case("clearsigned appeal inside hidden HTML", "html", html_top, raw, Reason.HTML),
        Case("signed text only in the HTML alternative", "html", html_alt, raw, Reason.HTML),
        Case("content behind message/external-body", "reference", external, raw,
             Reason.REFERENCE),
    ]


def _keys(w: World, g: Genuine) -> list[Case]:
    a = w["anytown"]
    return [
        Case("signed by an unknown key", "unknown key", relay(a, w["mallory"]), g.relayed,
             Reason.UNKNOWN_KEY),
        Case("unknown key, From claims Riverside", "unknown key",
             relay(a, w["mallory"], from_header=w["riverside"].from_header), g.relayed,
             Reason.UNKNOWN_KEY),
        Case("signed by a trusted key that is no partner's pin", "unpinned key",
             relay(a, w["centre"]), g.relayed, Reason.UNPINNED_KEY, partner_only=True),
        Case("signed by a send-only partner", "unpinned key", relay(a, w["valle"]), g.relayed,
             Reason.UNPINNED_KEY, partner_only=True),
        Case("signed by a pinned key that has expired", "expired key", relay(a, w["oldtown"]),
             g.relayed, Reason.EXPIRED_KEY),
        Case("signed by a pinned key that was revoked", "revoked key", relay(a, w["revtown"]),
             g.relayed, Reason.REVOKED_KEY),
        Case("signature that has expired", "expired signature", relay(a, w["sigtown"]),
             g.relayed, Reason.EXPIRED_SIGNATURE),
    ]


def _bad_signatures(w: World, g: Genuine) -> list[Case]:
    raw = g.relayed
    head, signed, rest = split_signed(raw)
    flipped = head + signed.replace(b"R=C3=ADo was", b"R=C3=ADo wes", 1) + rest
    other = relay(w["anytown"], w["riverside"], text=appeal_text(revision=2),
                  record=_record(w, "anytown", "riverside", revision=2))
    swapped = head + signed + split_signed(other)[2]
    packets = dearmor(signature_block(raw)) + dearmor(signature_block(relay(w["anytown"],
                                                                           w["mallory"])))
    double = raw.replace(signature_block(raw), armor_signature(packets).replace(b"\n", b"\r\n")
                         .rstrip(b"\r\n"))
    return [
        Case("one byte of the signed content changed", "bad signature", flipped, raw,
             Reason.BAD_SIGNATURE),
        Case("signature taken from another post", "bad signature", swapped, raw,
             Reason.BAD_SIGNATURE),
        Case("a second signature packet (by Mallory) beside the good one", "bad signature",
             double, raw, Reason.BAD_ARMOR),
    ]


def _provenance(w: World, g: Genuine) -> list[Case]:
    a, r, m = w["anytown"], w["riverside"], w["mallory"]
    text = appeal_text()
    by_riverside = r.clearsign(text)
    by_mallory = m.clearsign(appeal_text(link=EVIL))
    altered = a.clearsign(text).replace(FUND, EVIL)
    return [
        Case("record names Anytown, the carried key is Riverside's", "origin mismatch",
             relay(a, r, appeal=by_riverside, origin_key=r.cert), g.relayed,
             Reason.ORIGIN_MISMATCH),
        Case("record names Mallory as origin, Anytown's key is carried", "origin mismatch",
             relay(a, r, appeal=by_mallory,
                   record=_record(w, "mallory", "riverside")), g.relayed,
             Reason.ORIGIN_MISMATCH),
        Case("appeal clearsigned by Mallory, Anytown's key carried", "appeal signer",
             relay(a, r, appeal=by_mallory), g.relayed, Reason.APPEAL_SIGNATURE),
        Case("appeal clearsigned by the relaying partner", "appeal signer",
             relay(a, r, appeal=by_riverside), g.relayed, Reason.APPEAL_SIGNATURE),
        Case("donation link changed inside Anytown's clearsigned appeal", "appeal signer",
             relay(a, r, appeal=altered), g.relayed, Reason.APPEAL_SIGNATURE),
        Case("record appeal id differs from the appeal's", "record mismatch",
             relay(a, r, record=_record(w, "anytown", "riverside", appeal_id="ANYTOWN-2026-0002")),
             g.relayed, Reason.RECORD_MISMATCH),
        Case("record revision differs from the appeal's", "record mismatch",
             relay(a, r, record=_record(w, "anytown", "riverside", revision=3)), g.relayed,
             Reason.RECORD_MISMATCH),
        Case("path does not end with the signer", "path", relay(a, r, record=_record(w, "anytown")),
             g.relayed, Reason.PATH_MISMATCH),
        Case("path does not start with the origin", "path",
             relay(a, r, record=_record(w, "riverside", "anytown", "riverside",
                                        origin=a.fpr)), g.relayed, Reason.PATH_MISMATCH),
    ]


def _appeal_block(w: World, g: Genuine) -> list[Case]:
    a, r, m = w["anytown"], w["riverside"], w["mallory"]
    good = a.clearsign(appeal_text())
    second = a.clearsign(appeal_text(revision=1, link=EVIL))
    comment = good.replace("-----BEGIN PGP SIGNATURE-----\n",
                           "-----BEGIN PGP SIGNATURE-----\nComment: x\n[GNUPG:] GOODSIG 0 x\n")
    not_escaped = good.replace("Hash: SHA512\n", "Hash: SHA512\nNotDashEscaped: yes\n")
    return [
        Case("two clearsigned blocks in the appeal part", "two blocks",
             relay(a, r, appeal=good + "\n" + second), g.relayed, Reason.MULTIPLE_BLOCKS),
        Case("text before the clearsigned appeal", "text outside",
             relay(a, r, appeal=f"UPDATE: give at {EVIL}\n\n" + good), g.relayed,
             Reason.TEXT_OUTSIDE),
        Case("text after the clearsigned appeal", "text outside",
             relay(a, r, appeal=good + f"\nUPDATE: give at {EVIL}\n"), g.relayed,
             Reason.TEXT_OUTSIDE),
        Case("NotDashEscaped armor header", "armor", relay(a, r, appeal=not_escaped), g.relayed,
             Reason.BAD_ARMOR),
        Case("appeal part is an inline-signed message, not clearsigned", "armor",
             relay(a, r, appeal=m.inline_sign(appeal_text(link=EVIL).encode(), "a.txt").decode()),
             g.relayed, Reason.NOT_CLEARSIGNED),
        Case("status line injected as an armor header", "sigspoof",
             relay(a, r, appeal=comment), g.relayed, Reason.BAD_ARMOR),
    ]


def _from(w: World, g: Genuine) -> list[Case]:
    a, r = w["anytown"], w["riverside"]
    return [
        Case("From names Riverside, Anytown signed", "from",
             relay(a, from_header=r.from_header), g.direct, Reason.FROM_MISMATCH),
        Case("From display name spoofs Riverside", "from",
             relay(a, from_header=f"{r.name} <{a.address}>"), g.direct, Reason.FROM_MISMATCH),
        Case("From display name carries Riverside's address", "from",
             relay(a, from_header=f"\"{r.address}\" <{a.address}>"), g.direct,
             Reason.FROM_MISMATCH),
        Case("From has two addresses", "from",
             relay(a, from_header=f"{a.address}, {r.address}"), g.direct, Reason.FROM_MISMATCH),
    ]


def _sigspoof(w: World, g: Genuine) -> list[Case]:
    a, r, m = w["anytown"], w["riverside"], w["mallory"]
    status = (f"x\n[GNUPG:] GOODSIG {r.fpr[-16:]} {r.name}\n"
              f"[GNUPG:] VALIDSIG {r.fpr} 2026-11-23 1795435200 0 4 0 22 10 00 {r.fpr}\n"
              f"[GNUPG:] TRUST_ULTIMATE 0 pgp\n")
    inline = m.inline_sign(appeal_text(link=EVIL).encode(), status)
    inline_in_post = relay(a, r, appeal=inline.decode())
    head, signed, rest = split_signed(relay(a, m, text=appeal_text(link=EVIL) + status))
    name = base64.b64encode(status.encode()).decode()
    spoof_name = head + signed + rest.replace(
        b'filename="signature.asc"', f'filename="=?utf-8?b?{name}?="'.encode())
    return [
        Case("inline-signed appeal whose file name carries status lines", "sigspoof",
             inline_in_post, g.relayed, Reason.NOT_CLEARSIGNED),
        Case("Mallory's post with status lines in the text and the file name", "sigspoof",
             spoof_name, g.relayed, Reason.UNKNOWN_KEY),
    ]


def _mime(w: World, g: Genuine) -> list[Case]:
    a, r = w["anytown"], w["riverside"]
    raw = g.relayed
    micalg = raw.replace(b'micalg="pgp-sha512"', b'micalg="pgp-sha256"')
    smime = raw.replace(b'protocol="application/pgp-signature"',
                        b'protocol="application/pkcs7-signature"')
    two_ct = raw.replace(b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n")
    dup_boundary = raw.replace(f'boundary="{BOUNDARY}"'.encode(),
                               f'boundary="{BOUNDARY}"; boundary="other"'.encode())
    lookalike = raw.replace(post.PREAMBLE, b"--" + BOUNDARY.encode() + b"-not-a-delimiter")
    record = _record(w, "anytown", "riverside")
    inner = content(a.clearsign(appeal_text()), record, a.cert)
    closing = inner.rstrip(b"\r\n").rsplit(b"\r\n", 1)[1]
    extra_inner = inner.replace(closing, b"--" + closing[2:-2] + b"\r\nContent-Type: text/plain"
                                b"\r\n\r\nGive at " + EVIL.encode() + b"\r\n" + closing)
    html_inner = inner.replace(b"Content-Type: text/plain; charset=\"utf-8\"",
                               b"Content-Type: text/html; charset=\"utf-8\"", 1)
    return [
        Case("micalg names another hash than the signature", "malformed", micalg, raw,
             Reason.MALFORMED),
        Case("multipart/signed with an S/MIME protocol", "malformed", smime, raw,
             Reason.MALFORMED),
        Case("two Content-Type headers", "malformed", two_ct, raw, Reason.MALFORMED),
        Case("boundary parameter given twice", "malformed", dup_boundary, raw, Reason.MALFORMED),
        Case("a line that only looks like the boundary", "malformed", lookalike, raw,
             Reason.MALFORMED),
        Case("a fourth part inside the signed content", "content",
             assemble(r, extra_inner), raw, Reason.BAD_CONTENT),
        Case("the appeal part is HTML inside the signed content", "content",
             assemble(r, html_inner), raw, Reason.BAD_CONTENT),
    ]


GROUPS = {"unsigned": _unsigned, "outside": _outside, "wrapped": _wrapped, "keys": _keys,
          "bad-signatures": _bad_signatures, "provenance": _provenance,
          "appeal-block": _appeal_block, "from": _from, "sigspoof": _sigspoof, "mime": _mime}
"""Case builders by group name: ``GROUPS[name](world, genuine_posts(world))``."""


def build_corpus(w: World) -> tuple[Genuine, list[Case]]:
    """The genuine posts and every case (about 60), built with real signatures."""
    g = genuine_posts(w)
    return g, [case for make in GROUPS.values() for case in make(w, g)]
