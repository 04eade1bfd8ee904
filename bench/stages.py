#!/usr/bin/env python3
"""What each stage of handling an appeal costs masbot's process, one stage at a time.

    .venv/bin/python bench/run.py --keep --phases throughput_backlog   # leaves /tmp/mb-bench-throughput_backlog-*
    .venv/bin/python bench/stages.py /tmp/mb-bench-throughput_backlog-XXXX

Reads the store that phase left (its 500 appeals) and times, with ``time.process_time`` in
one thread (so gpg's own processes are not counted), reading requests, classifying them, the
post's reading parts and MIME, the answer, the two signatures (masbot's Signer), and the public site:
an appeal's page and kit, a rebuild, and the parts of a pass that cover every appeal. The
benchmark removed its GnuPG home; a throwaway key is made where the config points, which is
enough to time signing. Figures are ms per appeal (per pass for the last three).
"""

from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests"), str(HERE)]

import mailgen  # noqa: E402
from masbot import society as service  # noqa: E402
from masbot.appeal import formats, render, view  # noqa: E402
from masbot.config.settings import load_config  # noqa: E402
from masbot.intake import classify  # noqa: E402
from masbot.intake import message as intake  # noqa: E402
from masbot.post import build as post  # noqa: E402
from masbot.publish import feed, model, pages  # noqa: E402
from masbot.publish.site import Site, SiteSettings, Snapshot  # noqa: E402
from masbot.signing.signer import Signer, init_key  # noqa: E402
from masbot.store import Store  # noqa: E402
from masbot.story import answers  # noqa: E402
from masbot.story import templates as forms  # noqa: E402


def per(work: Callable[[object], object], items: Iterable[object]) -> float:
    """CPU ms of this process per item."""
    items = list(items)
    started = time.process_time()
    for item in items:
        work(item)
    return (time.process_time() - started) / len(items) * 1000


def forget() -> None:
    """Empty the caches a revision's renderings are kept in, so each stage pays in full."""
    for recent in (render._RENDERED, view._PAGES, model._READ):
        recent._kept.clear()


def main(directory: Path) -> None:
    cfg = load_config(directory / "config.yaml") if (
        Path(_gnupghome(directory)).is_dir()) else _with_key(directory)
    store = Store.open_read_only(cfg.data_dir / "masbot.sqlite3")
    signer = Signer(cfg.society.gnupghome)
    records = store.appeals()
    catalogue = forms.load(cfg.templates_dir)
    now = datetime.now(timezone.utc)
    context = service.classify_context(cfg, catalogue, now, signer.fingerprint)
    requests = mailgen.requests("S", 200, random.Random(18))
    key = signer.export_public()
    sample = records[:200]

    def relay_record(rec: object) -> post.RelayRecord:
        return post.RelayRecord(rec.origin, cfg.society.name, rec.appeal_id,  # type: ignore[attr-defined]
                                rec.revision, (rec.origin,))  # type: ignore[attr-defined]

    out: list[tuple[float, str]] = []
    out.append((per(lambda r: intake.read(r.raw), requests), "reading a request"))
    read = [intake.read(r.raw) for r in requests]
    out.append((per(lambda m: classify.run(m, context), read),
                "classification (form, validation, privacy and name checks)"))
    forget()
    out.append((per(lambda r: post.reading_parts(r.signed_text, relay_record(r)), sample),
                "the post's reading parts (text and HTML)"))
    forget()
    content = post.signed_content(sample[0].signed_text, relay_record(sample[0]), key)
    signature = signer.detach_sign(content)
    envelope = post.Envelope(cfg.society.name, cfg.society.address,
                             ("a@example.org", "b@example.org", "c@example.org"), "[X] title",
                             now, "<a@example.org>")
    out.append((per(lambda _: post.assemble(content, signature.data, signature.hash_algo,
                                            envelope, "=-masbot-0123456789abcdef01234567"),
                    range(200)), "the post's headers around the signed content"))
    sender = answers.Sender(cfg.society.name, cfg.society.address)
    out.append((per(lambda _: answers.build_bytes(sender, "m@example.net", "Re: x", "text\n" * 60,
                                                  in_reply_to=None, now=now,
                                                  message_id="<a@example.org>"), range(200)),
                "the answer, as bytes"))
    text = "Appeal-ID: X\nTitle: y\n" + "words " * 300
    out.append((per(lambda _: signer.clearsign(text), range(50)),
                "clearsign, this process's part (through gpg-agent when it can)"))
    out.append((per(lambda _: signer.detach_sign(content), range(50)),
                "detached signature, this process's part (through gpg-agent when it can)"))
    settings = dataclasses.replace(SiteSettings.of(cfg, signer.fingerprint, key),
                                   dir=Path(tempfile.mkdtemp(prefix="mb-stages-")))
    site = Site(settings, Snapshot(tuple(records)))
    forget()
    entries = site._entries()
    forget()
    out.append((per(lambda e: site._appeal_files(e, site._info(), site.today()), entries[:100]),
                "the site: one appeal's page and kit, rendered"))
    forget()
    started = time.process_time()
    site.rebuild()
    out.append(((time.process_time() - started) / len(entries) * 1000,
                f"the site: rebuilt ({len(entries)} appeals), per appeal (render, write, fsync)"))
    # The daemon's pass after a burst: no fsync, and each revision's view and HTML kept
    # from its post (rendered here first, as the post did).
    forget()
    for entry in entries:
        render.html(entry.current.appeal, url=settings.permalink(entry.slug),
                    tr=formats.language_of(entry.current.appeal, settings.language))
    burst = Site(dataclasses.replace(settings, dir=Path(tempfile.mkdtemp(prefix="mb-stages-"))),
                 Snapshot(tuple(records)))
    started = time.process_time()
    burst.publish(*{e.appeal_id for e in entries})
    out.append(((time.process_time() - started) / len(entries) * 1000,
                f"the site: the daemon's pass after a burst of {len(entries)}, per appeal "
                "(views and HTML kept from the posts, no fsync)"))
    out.append((per(lambda _: site._entries(), range(3)),
                f"per pass at {len(entries)} appeals: reading them (kept from the last pass)"))
    out.append((per(lambda _: feed.atom(society=settings.society, society_id=settings.society_id,
                                        fingerprint=settings.fingerprint, base="",
                                        entries=entries,
                                        permalinks={e.slug: None for e in entries},
                                        catalogue=catalogue), range(3)),
                f"per pass at {len(entries)} appeals: the feed (200 newest, their HTML kept)"))
    out.append((per(lambda _: pages.index(site._info(), entries, site.today()), range(3)),
                f"per pass at {len(entries)} appeals: the index"))
    for ms, what in out:
        print(f"{ms:9.3f}  {what}")


def _gnupghome(directory: Path) -> str:
    for line in (directory / "config.yaml").read_text().splitlines():
        if line.strip().startswith("gnupghome:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit("no gnupghome in the config")


def _with_key(directory: Path):  # noqa: ANN202 - a Config
    home = Path(_gnupghome(directory))
    init_key(home, "Anytown Mutual Aid Society", mailgen.SOCIETY)
    return load_config(directory / "config.yaml")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
