"""The public site and its feed, written from a store of real signed revisions.

Every clearsigned file is checked with sqop (an implementation independent of masbot and
gpg), on the site and on a copy made with ``wget --mirror`` from a local web server.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import feedparser
import pytest

from harness.openpgp import sqop_inline_verify
from masbot.publish.files import write_atomic
from site_support import BASE, LONG_LINK, TODAY, history

PUBLIC = {("ANYTOWN-2026-0001", 1), ("ANYTOWN-2026-0002", 1), ("ANYTOWN-2026-0002", 2),
          ("ANYTOWN-2026-0003", 1), ("RIVER-2026-0007", 1)}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("site")
    h = history(tmp)
    h.site().rebuild()
    yield h
    h.close()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _key_for(txt: Path, root: Path) -> bytes:
    own = txt.parent / "origin-key.asc"
    return (own if own.exists() else root / "society.asc").read_bytes()


def _check_all_signed(root: Path, expected: int) -> None:
    texts = sorted(root.rglob("revision-*.txt"))
    assert len(texts) == expected
    for txt in texts:
        result = sqop_inline_verify(txt.read_bytes(), _key_for(txt, root))
        assert result.ok, (txt, result.describe())


def test_layout_and_only_public_revisions(built) -> None:
    root = built.settings.dir
    slug = f"RIVER-2026-0007.{built.partner.fingerprint[-16:].lower()}"
    for name in ("index.html", "check.html", "society.asc", "feed.atom",
                 "appeals/ANYTOWN-2026-0001/index.html", "appeals/ANYTOWN-2026-0001/revision-1.txt",
                 "appeals/ANYTOWN-2026-0002/revision-2.txt", f"appeals/{slug}/origin-key.asc",
                 "appeals/ANYTOWN-2026-0001/kit/appeal.md"):
        assert (root / name).is_file(), name
    # The held revision 2 of the bail appeal is nowhere.
    assert not (root / "appeals/ANYTOWN-2026-0001/revision-2.txt").exists()
    assert "NOT-YET-APPROVED" not in (root / "appeals/ANYTOWN-2026-0001/index.html").read_text()
    assert not list(root.rglob(".*.tmp"))


def test_every_signed_text_verifies_with_sqop(built) -> None:
    _check_all_signed(built.settings.dir, len(PUBLIC))


def test_a_mirror_verifies_offline(built, tmp_path: Path) -> None:
    """``wget --mirror`` from a local server, then every revision checks with the keys on
    the mirror alone."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(built.settings.dir))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        if shutil.which("wget"):
            subprocess.run(["wget", "--mirror", "--no-host-directories", "--quiet",
                            "--no-proxy", "-P", str(tmp_path / "mirror"),
                            f"http://127.0.0.1:{server.server_address[1]}/index.html"],
                           check=False, timeout=120)
            mirror = tmp_path / "mirror"
        else:
            mirror = Path(shutil.copytree(built.settings.dir, tmp_path / "mirror"))
    finally:
        server.shutdown()
    # Everything a reader needs is reachable by links from the index.
    assert (mirror / "check.html").exists() and (mirror / "society.asc").exists()
    _check_all_signed(mirror, len(PUBLIC))


def test_rebuild_gives_the_same_bytes(built, tmp_path: Path) -> None:
    before = _tree(built.settings.dir)
    assert built.site().rebuild() == []  # nothing changed, nothing rewritten
    shutil.rmtree(built.settings.dir / "appeals")
    built.site().rebuild()
    assert _tree(built.settings.dir) == before


def test_publish_one_appeal_converges_to_the_rebuild(built, tmp_path: Path) -> None:
    from dataclasses import replace
    from masbot.publish.site import Site
    settings = replace(built.settings, dir=tmp_path / "fresh")
    site = Site(settings, built.store, today=lambda: TODAY)
    for appeal_id in ("ANYTOWN-2026-0001", "ANYTOWN-2026-0002", "ANYTOWN-2026-0003",
                      "RIVER-2026-0007"):
        site.publish(appeal_id)
    assert site.publish("ANYTOWN-2026-0001") == []
    assert _tree(settings.dir) == _tree(built.settings.dir)


def test_pages_a_power_cut_left_empty_are_written_again_by_the_rebuild(built) -> None:
    """The daemon's passes write without fsync; the rebuild every start runs is what makes a
    page a power cut left empty (or old) whole again."""
    before = _tree(built.settings.dir)
    page = built.settings.dir / "appeals" / "ANYTOWN-2026-0001" / "index.html"
    kit = next((page.parent / "kit").iterdir())
    page.write_bytes(b"")
    kit.write_bytes(kit.read_bytes()[:10])
    assert sorted(built.site().rebuild()) == sorted([page, kit])
    assert _tree(built.settings.dir) == before


def test_index_open_first_by_deadline_then_ended_marked(built) -> None:
    html = (built.settings.dir / "index.html").read_text()
    order = [html.index(t) for t in ("Bond for River", "Wheelchair repair for Ana",
                                      "Funded, closed and ended", "Rent after the fire",
                                      "Bus fare to the hearing")]
    assert order == sorted(order)
    ended = html[html.index("Funded, closed and ended"):]
    assert ">Funded</span>" in ended and ">Expired</span>" in ended
    assert '<html lang="en">' in html


def test_appeal_page(built) -> None:
    root = built.settings.dir
    page = (root / "appeals/ANYTOWN-2026-0002/index.html").read_text()
    assert "Earlier revisions" in page and 'href="revision-1.txt"' in page
    assert "How the money was used" in page and "900 USD rent paid" in page
    assert f'href="{BASE}appeals/ANYTOWN-2026-0002/"' in page
    bail = (root / "appeals/ANYTOWN-2026-0001/index.html").read_text()
    # Escaped member text, readable labels, hard-wrapped lines joined.
    assert "&amp; share this appeal &lt;please&gt;" in bail and "<please>" not in bail
    assert "Bail return" not in bail and "If bail is returned" in bail
    assert "eleven others. Everyone else" in bail
    assert LONG_LINK in bail
    slug = f"RIVER-2026-0007.{built.partner.fingerprint[-16:].lower()}"
    partner = (root / f"appeals/{slug}/index.html").read_text()
    spaced = " ".join(built.partner.fingerprint[i:i + 4] for i in range(0, 40, 4))
    assert "Riverside Solidarity" in partner and spaced in partner
    assert 'href="origin-key.asc"' in partner
    # A partner's "Note: …" story line stays in the story.
    assert "the shop waits until Friday" in partner


def test_check_page(built) -> None:
    page = (built.settings.dir / "check.html").read_text()
    fpr = built.own.fingerprint
    assert " ".join(fpr[i:i + 4] for i in range(0, 40, 4)) in page
    for command in ("gpg --verify", "sqop inline-verify society.asc", "masbot verify"):
        assert command in page
    assert 'href="society.asc"' in page


def test_feed_has_every_revision(built) -> None:
    data = (built.settings.dir / "feed.atom").read_bytes()
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    found = set()
    for entry in feed.entries:
        appeal_id, revision = entry.id.rsplit(":", 2)[-2:]
        found.add((appeal_id, int(revision)))
        related = [link.href for link in entry.links if link.rel == "related"]
        assert related and related[0].startswith(BASE) and related[0].endswith(".txt")
        local = built.settings.dir / related[0].removeprefix(BASE)
        assert local.is_file()
        assert entry.content[0].value.startswith("<article")
    assert found == PUBLIC
    assert len(feed.entries) == len(PUBLIC)


def test_write_atomic_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    assert write_atomic(target, b"one")
    assert not write_atomic(target, b"one")
    assert write_atomic(target, b"two") and target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_relative_links_without_base_url(tmp_path: Path) -> None:
    h = history(tmp_path, base_url=None)
    try:
        h.site().rebuild()
        page = (h.settings.dir / "appeals/ANYTOWN-2026-0001/index.html").read_text()
        assert "Permalink" not in page and "https://anytown" not in page
        assert not feedparser.parse((h.settings.dir / "feed.atom").read_bytes()).bozo
    finally:
        h.close()


def test_masbot_publish_rebuilds_the_same_bytes(tmp_path: Path) -> None:
    """``masbot publish -c CONFIG``: the site from the store, twice the same bytes; a missing
    store or a bad config is a usage error with one plain line."""
    import subprocess
    import sys
    from masbot.config.settings import load_config
    from masbot.daemon import store_path
    from masbot.store import Store
    from site_support import _bail, record, society
    from support import write_config
    own = society("Anytown Mutual Aid Society", "mas@anytown.example")
    try:
        files = write_config(tmp_path, own.home, smtp_port=2525, extra=(
            "publish:\n  base_url: https://anytown.example/aid\n"))
        config = load_config(files.config)

        def publish() -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "masbot", "publish", "-c",
                                   str(files.config)], capture_output=True, text=True,
                                  timeout=120)
        missing = publish()
        assert missing.returncode == 2 and "does not exist" in missing.stderr
        assert "Traceback" not in missing.stderr
        store = Store(store_path(config))
        store.record("d1", "accepted", appeal=record(_bail(), own.signer))
        store.close()
        first = publish()
        assert first.returncode == 0, first.stderr
        site = config.data_dir / "public"
        assert f"open {site / 'index.html'}" in first.stdout
        before = _tree(site)
        page = (site / "appeals/ANYTOWN-2026-0001/index.html").read_text()
        assert "https://anytown.example/aid/appeals/ANYTOWN-2026-0001/" in page
        second = publish()
        assert second.returncode == 0 and "(0 files changed)" in second.stdout
        assert _tree(site) == before
    finally:
        own.close()


async def test_a_site_that_cannot_be_written_is_logged_not_raised(tmp_path: Path, caplog) -> None:
    """The daemon's publisher after a handled message: a directory it cannot write (here a
    file where the site's directory should be) gives one error line, never an exception
    that would make the inbox handle the message again."""
    from dataclasses import replace
    from masbot.publish.site import Publisher
    h = history(tmp_path)
    try:
        blocker = tmp_path / "blocked"
        blocker.write_text("not a directory")
        settings = replace(h.settings, dir=blocker / "site")
        await Publisher(lambda: settings, h.store).publish("ANYTOWN-2026-0001")
        assert any("was not updated for ANYTOWN-2026-0001" in r.getMessage()
                   for r in caplog.records)
        await Publisher(lambda: h.settings, h.store).publish("ANYTOWN-2026-0001")
        assert (h.settings.dir / "appeals/ANYTOWN-2026-0001/index.html").is_file()
    finally:
        h.close()


class _Recording:
    """A Publisher whose passes are recorded (when, which appeals), not written."""

    def __init__(self, **kw: float) -> None:
        import asyncio
        from masbot.publish.site import Activity, Publisher
        self.activity = Activity()
        self.passes: list[tuple[float, tuple[str, ...]]] = []
        outer = self

        class Recorder(Publisher):
            async def publish(self, *appeal_ids: str) -> None:
                outer.passes.append((asyncio.get_running_loop().time(), appeal_ids))

        self.publisher = Recorder(lambda: None, None, activity=self.activity,  # type: ignore[arg-type]
                                  **kw)
        self.loop = asyncio.get_running_loop()
        self.runner = asyncio.create_task(self.publisher.run())  # cancelled by the test


async def test_the_site_waits_while_the_relay_is_busy_then_publishes_in_one_pass() -> None:
    """A burst: messages are in hand for 1 s, appeals marked all along; no pass runs until
    the relay has been quiet, then one pass publishes them all."""
    import asyncio
    rec = _Recording(pace=0.1, delay=0.05, quiet=0.2, max_lag=30.0)
    loop = rec.loop
    began = loop.time()
    for n in range(10):
        rec.activity.begin()
        await asyncio.sleep(0.1)
        rec.publisher.mark(f"A-{n}")
        rec.activity.end()
        rec.activity.begin()  # the next message is already in hand (a backlog)
        rec.activity.end()
    busy_until = loop.time()
    await asyncio.sleep(0.6)
    rec.runner.cancel()
    assert [ids for _, ids in rec.passes] == [tuple(f"A-{n}" for n in range(10))]
    assert rec.passes[0][0] >= busy_until + 0.2 - 0.02  # after the quiet time
    assert busy_until - began >= 0.9


async def test_a_relay_busy_for_longer_than_max_lag_still_gets_its_pages() -> None:
    import asyncio
    rec = _Recording(pace=0.1, delay=0.05, quiet=0.2, max_lag=0.5)
    loop = rec.loop
    rec.activity.begin()  # a message in hand for the whole test: a flood
    marked = loop.time()
    rec.publisher.mark("A-1")
    await asyncio.sleep(1.0)
    rec.runner.cancel()
    assert [ids for _, ids in rec.passes] == [("A-1",)]
    assert 0.5 - 0.02 <= rec.passes[0][0] - marked < 0.8


async def test_a_quiet_relay_publishes_after_the_quiet_time() -> None:
    import asyncio
    rec = _Recording(pace=0.1, delay=0.05, quiet=0.2, max_lag=30.0)
    loop = rec.loop
    await asyncio.sleep(0.3)  # quiet since the start
    marked = loop.time()
    rec.publisher.mark("A-1")
    await asyncio.sleep(0.5)
    rec.runner.cancel()
    assert [ids for _, ids in rec.passes] == [("A-1",)]
    assert 0.2 - 0.02 <= rec.passes[0][0] - marked < 0.35


async def test_posts_and_answers_still_leaving_hold_the_site_too() -> None:
    """The messages are handled, but the outbox's transactions are still in flight (a
    backlog's posts leave after their handling): the pass waits for them."""
    import asyncio
    sending = [True]
    rec = _Recording(pace=0.1, delay=0.05, quiet=0.2, max_lag=30.0)
    rec.activity.others.append(lambda: sending[0])
    loop = rec.loop
    rec.publisher.mark("A-1")
    await asyncio.sleep(0.8)
    assert rec.passes == []
    sending[0] = False
    sent = loop.time()
    await asyncio.sleep(0.5)
    rec.runner.cancel()
    assert [ids for _, ids in rec.passes] == [("A-1",)]
    assert rec.passes[0][0] - sent >= 0.2 - 0.02
