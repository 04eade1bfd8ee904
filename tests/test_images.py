"""Images published with `attachments.images: keep`: re-encoded so no metadata survives,
bound to the origin's signed appeal by SHA-256, relayed only where partners keep images."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image, PngImagePlugin

from federation import Federation, Router
from harness.openpgp import extract_signed, sqop_verify
from masbot.appeal import images
from masbot.post import build as post
from masbot.post import verify
from masbot.signing.keyring import Keyring
from masbot.signing.signer import Signer, init_key
from support import bail_request, until

MARKERS = (b"SECRET-EXIF-DESCRIPTION", b"SECRET-ARTIST", b"SECRET-COMMENT", b"SECRET-XMP",
           b"SECRET-ICC", b"jane-doe-arrest")
GPS = {1: "N", 2: (45.0, 31.0, 12.5), 3: "W", 4: (122.0, 40.0, 55.1)}


def phone_photo(width: int = 80, height: int = 60, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS, artist, orientation; XMP; ICC; a comment."""
    image = Image.new("RGB", (width, height), (30, 120, 200))
    image.paste((250, 250, 0), (0, 0, width // 2, height // 2))  # a corner, to see rotation
    exif = Image.Exif()
    exif[0x010E] = MARKERS[0].decode()
    exif[0x013B] = MARKERS[1].decode()
    exif[0x0112] = orientation
    exif[0x8825] = GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=MARKERS[2],
               xmp=b"<x:xmpmeta>" + MARKERS[3] + b"</x:xmpmeta>", icc_profile=MARKERS[4] * 20)
    return out.getvalue()


def png_with_chunks() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", MARKERS[1].decode())
    info.add_itxt("XML:com.adobe.xmp", MARKERS[3].decode())
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (1, 2, 3, 128)).save(out, "PNG", pnginfo=info,
                                                    icc_profile=MARKERS[4] * 20)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def assert_no_metadata(data: bytes) -> Image.Image:
    for marker in MARKERS:
        assert marker not in data, marker
    opened = Image.open(io.BytesIO(data))
    assert not opened.getexif(), "no EXIF (and so no GPS) survives"
    assert set(opened.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}, \
        opened.info
    return opened


# --- the pure module ---------------------------------------------------------------------------

def test_a_phone_photo_loses_exif_gps_xmp_icc_and_comment_but_keeps_its_orientation():
    original = phone_photo()
    for marker in MARKERS[:5]:
        assert marker in original  # the sample really carries what we strip
    result = images.clean(original, 1)
    assert isinstance(result, images.CleanImage)
    assert (result.name, result.content_type) == ("image-1.jpg", "image/jpeg")
    opened = assert_no_metadata(result.data)
    assert opened.format == "JPEG"
    # Orientation 6 (rotate 90 degrees clockwise) is applied to the pixels, then forgotten.
    assert opened.size == (60, 80) == (result.width, result.height)
    assert images.is_clean(result.data)
    assert not images.is_clean(original)
    assert result.listing() == f"image-1.jpg sha256:{result.sha256}"


def test_png_text_xmp_and_icc_chunks_are_gone_and_transparency_kept():
    original = png_with_chunks()
    assert MARKERS[1] in original and MARKERS[3] in original
    result = images.clean(original, 2)
    assert isinstance(result, images.CleanImage)
    assert (result.name, result.content_type) == ("image-2.png", "image/png")
    opened = assert_no_metadata(result.data)
    assert opened.mode == "RGBA" and opened.getpixel((0, 0)) == (1, 2, 3, 128)
    assert images.is_clean(result.data) and not images.is_clean(original)


@pytest.mark.parametrize("kind", ["GIF", "WEBP"])
def test_gif_and_webp_become_png_of_the_first_frame(kind):
    out = io.BytesIO()
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(out, kind, save_all=True, append_images=frames[1:], comment=b"SECRET-COMMENT")
    result = images.clean(out.getvalue(), 3)
    assert isinstance(result, images.CleanImage) and result.name == "image-3.png"
    opened = assert_no_metadata(result.data)
    assert opened.format == "PNG" and getattr(opened, "n_frames", 1) == 1
    assert opened.convert("RGB").getpixel((8, 8))[0] > 200  # red: the first frame


def test_a_large_image_is_scaled_down_to_max_side():
    out = io.BytesIO()
    Image.new("RGB", (3000, 1000), (9, 9, 9)).save(out, "PNG")
    result = images.clean(out.getvalue(), 1)
    assert isinstance(result, images.CleanImage)
    assert (result.width, result.height) == (images.MAX_SIDE, 533)
    assert Image.open(io.BytesIO(result.data)).size == (images.MAX_SIDE, 533)


def test_an_opaque_photo_sent_as_png_is_published_as_the_smaller_jpeg():
    import random

    rng = random.Random(3)
    noise = Image.frombytes("RGB", (100, 75), bytes(rng.randrange(256) for _ in range(22_500)))
    out = io.BytesIO()
    noise.resize((1000, 750), Image.Resampling.BICUBIC).save(out, "PNG")
    assert len(out.getvalue()) > images.PNG_JPEG_THRESHOLD
    result = images.clean(out.getvalue(), 5)
    assert isinstance(result, images.CleanImage)
    assert (result.name, result.content_type) == ("image-5.jpg", "image/jpeg")
    assert len(result.data) < len(out.getvalue()) // 3 and images.is_clean(result.data)


@pytest.mark.parametrize("data, reason", [
    (b"%PDF-1.4 not an image", "not an image"),
    (b"", "not an image"),
    (phone_photo()[:300], "not an image"),
    (phone_photo()[:-100], "could not be decoded"),
])
def test_what_is_not_a_readable_image_is_refused_with_a_reason(data, reason):
    result = images.clean(data, 1)
    assert isinstance(result, images.Refused) and reason in result.reason


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded():
    # A PNG header claiming 60000 x 60000 pixels (3.6 billion) with almost no data.
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + png_chunk(b"IEND", b""))
    result = images.clean(bomb, 1)
    assert isinstance(result, images.Refused) and "pixels" in result.reason
    small = io.BytesIO()
    Image.new("RGB", (2000, 1000)).save(small, "PNG")
    assert isinstance(images.clean(small.getvalue(), 1, max_pixels=1_000_000), images.Refused)


def test_is_clean_refuses_private_chunks_and_bytes_after_the_end():
    clean = images.clean(png_with_chunks(), 1)
    assert isinstance(clean, images.CleanImage)
    iend = clean.data.rindex(b"IEND") - 4
    private = clean.data[:iend] + png_chunk(b"prVt", b"SECRET") + clean.data[iend:]
    assert not images.is_clean(private)
    assert not images.is_clean(clean.data + b"hidden after the end")
    photo = images.clean(phone_photo(), 1)
    assert not images.is_clean(photo.data + b"trailing")
    assert not images.is_clean(b"GIF89a....")


def _png_with(clean: bytes, chunk: bytes, *, before: bytes = b"IDAT") -> bytes:
    at = clean.index(before) - 4
    return clean[:at] + chunk + clean[at:]


def test_is_clean_leaves_no_room_in_allowed_chunks_and_segments():
    """The hiding places a review found: a long JFIF header, a second APP0, text in a display
    chunk, a repeated chunk, a junk IDAT after the image data, a bad CRC."""
    png = images.clean(png_with_chunks(), 1).data
    jpeg = images.clean(phone_photo(), 1).data
    assert images.is_clean(png) and images.is_clean(jpeg)
    secret = b"SECRET-" * 4
    assert not images.is_clean(_png_with(png, png_chunk(b"bKGD", secret)))
    assert not images.is_clean(_png_with(png, png_chunk(b"gAMA", secret)))
    assert not images.is_clean(_png_with(png, png_chunk(b"gAMA", b"\0\0\xb1\x8f") * 2))
    assert not images.is_clean(_png_with(png, png_chunk(b"IDAT", secret), before=b"IEND"))
    assert images.is_clean(_png_with(png, png_chunk(b"gAMA", b"\0\0\xb1\x8f")))
    bad_crc = bytearray(_png_with(png, png_chunk(b"gAMA", b"\0\0\xb1\x8f")))
    bad_crc[bad_crc.index(b"gAMA") + 8] ^= 1
    assert not images.is_clean(bytes(bad_crc))
    # JPEG: APP0 is 16 bytes exactly; a second APP0 or a longer one can carry anything.
    app0_end = 2 + 2 + 16
    longer = jpeg[:4] + (16 + len(secret)).to_bytes(2, "big") + jpeg[6:app0_end] + secret \
        + jpeg[app0_end:]
    assert not images.is_clean(longer)
    second = jpeg[:app0_end] + b"\xff\xe0" + (2 + len(secret)).to_bytes(2, "big") + secret \
        + jpeg[app0_end:]
    assert not images.is_clean(second)
    comment = jpeg[:app0_end] + b"\xff\xfe" + (2 + len(secret)).to_bytes(2, "big") + secret \
        + jpeg[app0_end:]
    assert not images.is_clean(comment)
    # A marker inside the scan data that is not a restart or a stuffed byte.
    sos = jpeg.index(b"\xff\xda")
    in_scan = jpeg[:sos + 20] + b"\xff\xfe\x00\x06SECR" + jpeg[sos + 20:]
    assert not images.is_clean(in_scan)


def test_tiny_images_are_logos_or_tracking_pixels_and_refused():
    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, "GIF")
    result = images.clean(out.getvalue(), 1)
    assert isinstance(result, images.Refused) and "too small" in result.reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hostile_bytes_never_raise(data):
    """Random bytes and mutated real images: a CleanImage or a Refused, never an exception."""
    seeds = [phone_photo(), png_with_chunks(), b""]
    base = bytearray(data.draw(st.sampled_from(seeds)))
    for _ in range(data.draw(st.integers(0, 8))):
        if not base:
            break
        at = data.draw(st.integers(0, len(base) - 1))
        base[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        base = base[:data.draw(st.integers(0, len(base)))]
    raw = bytes(base) + data.draw(st.binary(max_size=64))
    result = images.clean(raw, 1)
    assert isinstance(result, (images.CleanImage, images.Refused))
    if isinstance(result, images.CleanImage):
        assert images.is_clean(result.data)
    images.is_clean(raw)  # must not raise either


# --- posts that carry images ----------------------------------------------------------------

@pytest.fixture
def society(gpg_home):
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", "mas@anytown.example")
    return Signer(Path(home.path))


HEAD = ("Appeal-ID: ANYTOWN-2026-0001\nRevision: 1\nSociety: Anytown\n"
        "Issued: 2026-11-23T12:00:00Z\nExpires: 2026-12-23\nStatus: open\n"
        "Updates-To: mas@anytown.example\n")


def post_with(signer: Signer, listed: list[images.CleanImage],
              carried: list[post.PostImage], *, late: bool = False) -> bytes:
    head = HEAD
    listing = f"Images: {', '.join(i.listing() for i in listed)}\n" if listed else ""
    head = head + ("Title: Sam\n" + listing if late else listing + "Title: Sam\n")
    record = post.RelayRecord(signer.fingerprint, "Anytown", "ANYTOWN-2026-0001", 1,
                              (signer.fingerprint,))
    content = post.signed_content(signer.clearsign(head), record,
                                  signer.export_public(), carried)
    sig = signer.detach_sign(content)
    envelope = post.Envelope("Anytown", "mas@anytown.example", ("members@anytown.example",),
                             "[ANYTOWN-2026-0001] Sam",
                             datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc), "<a@b.example>")
    return post.assemble(content, sig.data, sig.hash_algo, envelope, "=-b-1")


def test_a_post_carries_exactly_the_listed_images_or_none(society):
    one = images.clean(phone_photo(), 1)
    two = images.clean(png_with_chunks(), 2)
    forged = images.CleanImage("image-2.png", "image/png", images.clean(
        png_with_chunks(), 2).data + b"x", 1, 1)
    with Keyring.of(society.export_public().encode()) as keyring:
        ok = verify.verify_post(post_with(society, [one, two], [one, two]), keyring)
        assert isinstance(ok, verify.PostCheck), ok
        assert [i.data for i in ok.images] == [one.data, two.data]
        assert any("image: image-1.jpg" in line for line in verify.describe(ok))
        none = verify.verify_post(post_with(society, [one, two], []), keyring)
        assert isinstance(none, verify.PostCheck) and none.images == ()
        for listed, carried in (([one, two], [one]), ([one], [one, two]), ([], [one]),
                                ([one, two], [two, one]), ([one, two], [one, forged])):
            refused = verify.verify_post(post_with(society, listed, carried), keyring)
            assert isinstance(refused, verify.Refused), (listed, carried)
            assert refused.reason == verify.Reason.IMAGE_MISMATCH, refused
        # An Images line anywhere but right after the society's own head fields is not one.
        late = verify.verify_post(post_with(society, [one], [one], late=True), keyring)
        assert isinstance(late, verify.Refused) and late.reason == verify.Reason.IMAGE_MISMATCH


def test_a_part_after_the_key_that_is_not_a_named_image_is_refused(society):
    one = images.clean(phone_photo(), 1)
    odd = images.CleanImage("photo.jpg", "image/jpeg", one.data, 1, 1)
    pdf = images.CleanImage("image-1.jpg", "application/pdf", one.data, 1, 1)
    with Keyring.of(society.export_public().encode()) as keyring:
        for carried in (odd, pdf):
            refused = verify.verify_post(post_with(society, [one], [carried]), keyring)
            assert isinstance(refused, verify.Refused) and refused.reason == verify.Reason.BAD_CONTENT


# --- three societies ---------------------------------------------------------------------------

def request_with_attachments(sender: str) -> bytes:
    """The bail request with a phone photo (named after a person), a PNG and a PDF."""
    text = bail_request(sender).decode().replace("\r\n", "\n")
    head, body = text.split("\n\n", 1)
    head = "\n".join(line for line in head.split("\n") if not line.startswith("Content-Type"))
    msg = email.message_from_string(head + "\n\n", policy=email.policy.default)
    msg.set_content(body)
    msg.add_attachment(phone_photo(), maintype="image", subtype="jpeg",
                       filename="jane-doe-arrest.jpg")
    msg.add_attachment(png_with_chunks(), maintype="image", subtype="png", filename="flyer.png")
    msg.add_attachment(b"%PDF-1.4 SECRET", maintype="application", subtype="pdf",
                       filename="court.pdf")
    return msg.as_bytes(policy=email.policy.SMTP)


def image_parts(raw: bytes) -> list[tuple[str, bytes]]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return [(p.get_filename(), p.get_payload(decode=True)) for p in msg.walk()
            if p.get_content_maintype() == "image"]


async def test_images_are_published_clean_relayed_by_keepers_and_dropped_by_others(
        tmp_path, gpg_home):
    keep = "attachments:\n  images: keep\n"
    fed = Federation(tmp_path)
    for name in ("alpha", "beta", "gamma", "delta"):
        fed.add(name, Path(gpg_home().path))
    fed.router = Router(fed.members)
    fed.router.start()
    fed.write_config("alpha", {"beta": "send", "delta": "send"}, rules=keep)
    fed.write_config("beta", {"alpha": "receive", "gamma": "send"}, rules=keep)
    fed.write_config("gamma", {"beta": "receive"})  # the default: drop
    # delta keeps images, but one per appeal: alpha's two are over its limit.
    fed.write_config("delta", {"alpha": "receive"}, rules=keep + "  max_images: 1\n")
    await fed.start()
    try:
        await fed.inject("alpha", request_with_attachments("member@example.net"))
        await until(lambda: len(fed.router.delivered["gamma"]) == 1
                    and len(fed.router.delivered["delta"]) == 1)
        await asyncio.sleep(0.5)
    finally:
        await fed.stop()
        fed.router.stop()
    at = {name: fed.router.delivered[name] for name in ("alpha", "beta", "gamma", "delta")}
    assert all(len(posts) == 1 for posts in at.values()), {k: len(v) for k, v in at.items()}
    alpha_images = image_parts(at["alpha"][0])
    assert [name for name, _ in alpha_images] == ["image-1.jpg", "image-2.png"]
    for _, data in alpha_images:
        assert_no_metadata(data)
    assert image_parts(at["beta"][0]) == alpha_images, "beta relays the same bytes"
    assert image_parts(at["gamma"][0]) == [], "gamma does not keep images"
    assert image_parts(at["delta"][0]) == [], "two images are over delta's limit: none relayed"
    for name, posts in at.items():
        raw = posts[0]
        for marker in MARKERS + (b"court.pdf", b"flyer.png", b"%PDF"):
            assert marker not in raw, (name, marker)
        signed, signature = extract_signed(raw)
        assert sqop_verify(signature, signed, fed.members[name].key).signed_by(
            fed.members[name].fingerprint)
        path = tmp_path / f"{name}.eml"
        path.write_bytes(raw)
        keyring = tmp_path / f"{name}.asc"
        keyring.write_bytes(fed.members[name].key)
        result = subprocess.run([sys.executable, "-m", "masbot", "verify", "--keyring",
                                 str(keyring), str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Images: image-1.jpg sha256:" in result.stdout
        assert ("image: image-1.jpg" in result.stdout) == (name in ("alpha", "beta"))
    for name in ("alpha", "beta", "gamma", "delta"):
        for _, data in (p for p in _all_files(tmp_path / name / "data")):
            for marker in MARKERS:
                assert marker not in data


def _all_files(root: Path):
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


def noisy_photo(seed: int) -> bytes:
    """A photo that compresses badly (random pixels): about 100 kB as JPEG."""
    import random

    rng = random.Random(seed)
    out = io.BytesIO()
    Image.frombytes("RGB", (300, 300), bytes(rng.randrange(256) for _ in range(270_000))).save(
        out, "JPEG", quality=95)
    return out.getvalue()


async def _post_and_answer(tmp_path: Path, home: Path, rules: str,
                           msg: email.message.EmailMessage, sender: str) -> tuple[bytes, str]:
    """``msg`` sent to one society with these attachment ``rules``: its post to the local
    list, and the text of the answer to ``sender``."""
    fed = Federation(tmp_path)
    fed.add("alpha", home)
    fed.router = Router(fed.members)
    fed.router.start()
    fed.write_config("alpha", {}, rules=rules)
    await fed.start()
    try:
        await fed.inject("alpha", msg.as_bytes(policy=email.policy.SMTP))
        await until(lambda: fed.router.delivered["alpha"] and fed.router.answers)
    finally:
        await fed.stop()
        fed.router.stop()
    (answer,) = fed.router.answers[sender]
    return (fed.router.delivered["alpha"][0],
            email.message_from_bytes(answer, policy=email.policy.default).get_content())


async def test_images_past_the_total_size_are_dropped_and_the_sender_told(tmp_path, gpg_home):
    small = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 0, 0)).save(small, "PNG")
    text = bail_request("member@example.net").decode().replace("\r\n", "\n")
    head, body = text.split("\n\n", 1)
    msg = email.message_from_string(
        "\n".join(h for h in head.split("\n") if not h.startswith("Content-Type")) + "\n\n",
        policy=email.policy.default)
    msg.set_content(body)
    junk = b"not an image at all"
    for data in (junk, noisy_photo(1), noisy_photo(2), small.getvalue(), junk, junk):
        kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
        msg.add_attachment(data, maintype="image", subtype=kind, filename=f"x.{kind}")
    posted, text = await _post_and_answer(
        tmp_path, Path(gpg_home().path),
        "attachments:\n  images: keep\n  max_total_kb: 120\n  max_images: 2\n", msg,
        "member@example.net")
    names = [name for name, _ in image_parts(posted)]
    assert names == ["image-1.jpg", "image-2.png"], "the second noisy photo would pass 120 kB"
    assert "2 images are published" in text
    assert "larger than 120 kB together" in text
    assert "an image was dropped: the attachment is not an image that can be read" in text
    assert "2 more images were dropped: at most 2 are published" in text


def test_held_images_are_deleted_when_the_appeal_expires_undecided(tmp_path):
    from masbot.store import AppealRecord, Store

    store = Store(tmp_path / "s.sqlite3")
    try:
        for n, expires in ((1, "2026-11-20"), (2, "2026-12-20")):
            store.record(f"d{n}", "accepted", appeal=AppealRecord(
                appeal_id=f"ANYTOWN-2026-000{n}", revision=1, origin="F" * 40, template="bail",
                status="open", issued="2026-11-01", expires=expires, digest="x",
                update_key_hash=None, action="hold", signed_text="t"),
                held_images=[post.PostImage("image-1.jpg", "image/jpeg", b"jpeg")])
        assert store.purge_held_images("2026-11-23") == 1, "only the expired one"
        kept = store.held("ANYTOWN-2026-0002", 1)
        assert kept is not None and [i.name for i in store.held_images(kept)] == ["image-1.jpg"]
        assert store.purge_held_images("2026-12-21") == 1
    finally:
        store.close()


def test_an_update_lists_no_images_because_its_post_carries_none():
    from masbot.appeal import canonical as appeals

    first = appeals.Appeal(
        appeal_id="ANYTOWN-2026-0001", revision=1, society="Anytown",
        issued=datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc),
        expires=datetime(2026, 12, 23).date(), status="open", updates_to="mas@anytown.example",
        fields=(("Template", "bail"), ("Title", "Sam"),
                (appeals.IMAGES, ("image-1.jpg sha256:" + "a" * 64,))))
    text = first.canonical_text()
    assert text.split("\n")[7] == "Images: image-1.jpg sha256:" + "a" * 64
    restored = appeals.restore(appeal_id=first.appeal_id, revision=1, society="Anytown",
                               issued=first.issued.isoformat(), expires="2026-12-23",
                               status="open", updates_to="mas@anytown.example",
                               fields=appeals.fields_json(first))
    assert restored.digest() == first.digest(), "the store round trip keeps the listing"
    second = appeals.revise(restored, {"Status": "funded"}, issued=first.issued,
                            appeal_days=30)
    assert second.images == () and "Images:" not in second.canonical_text()
    assert f"Supersedes: {first.digest()}" in second.canonical_text()


async def test_a_spanish_member_is_told_about_attachments_in_spanish(tmp_path, gpg_home):
    """What happened to the attachments is part of the answer: in the member's language."""
    from test_languages_federation import spanish_request
    msg = email.message_from_bytes(spanish_request("ana@example.net"),
                                   policy=email.policy.default)
    body = msg.get_content()
    del msg["Content-Type"], msg["Content-Transfer-Encoding"]
    msg.set_content(body)
    for data in (b"not an image at all", noisy_photo(1)):
        kind = "jpeg" if data.startswith(b"\xff\xd8") else "png"
        msg.add_attachment(data, maintype="image", subtype=kind, filename=f"x.{kind}")
    _, text = await _post_and_answer(tmp_path, Path(gpg_home().path),
                                     "attachments:\n  images: keep\n  max_images: 1\n", msg,
                                     "ana@example.net")
    assert "Se publica 1 imagen con el llamado" in text
    assert "se descartó una imagen: el adjunto no es una imagen que se pueda leer" in text
    for english in ("published with the appeal", "was dropped", "attachment"):
        assert english not in text, english
