"""A store holding a small public history, signed with real keys, for the site's tests.

Our society ("Anytown") has an open bail appeal with a long donation link, a hardship appeal
updated to "funded" with a funds report, an expired appeal and one held for moderation (never
public); a partner ("Riverside") has an appeal we relayed, signed with its own key.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from masbot.appeal import canonical
from masbot.appeal.canonical import Appeal
from masbot.post.build import RelayRecord
from masbot.publish.site import Site, SiteSettings
from masbot.signing.signer import Signer, init_key
from masbot.store import AppealRecord, Store

TODAY = date(2026, 11, 29)
BASE = "https://anytown.example/"
LONG_LINK = "https://bailfund.example/give/" + "river-" * 12 + "end"


@dataclass
class Society:
    home: Path
    signer: Signer

    @property
    def fingerprint(self) -> str:
        return self.signer.fingerprint

    def close(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"],
                       capture_output=True, check=False)
        shutil.rmtree(self.home, ignore_errors=True)


def society(name: str, address: str) -> Society:
    home = Path(tempfile.mkdtemp(prefix="mb-s-", dir="/tmp"))
    init_key(home, name, address)
    return Society(home, Signer(home))


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc)


def _bail() -> Appeal:
    return Appeal("ANYTOWN-2026-0001", 1, "Anytown Mutual Aid", _at(23), date(2026, 12, 23),
                  "open", "mas@anytown.example", (
                      ("Template", "bail"), ("Title", "Bond for River, held since the march"),
                      ("Filed-By", "self"), ("Name-To-Publish", "River"),
                      ("Location", "Anytown, OR"), ("Bail", "1500 USD"),
                      ("Bail-Return", "fund"), ("Goal", "1500 USD"),
                      ("Needed-By", "2026-12-05"), ("Donate", (LONG_LINK,)),
                      ("Story", "I was arrested at the Saturday march with eleven others.\n"
                                "Everyone else is out, but my bail was set higher.\n\n"
                                "- I am a nursing student\n- my exams are next week"),
                      ("Funds-Use", ("1500 USD bond posted by the fund",
                                     "anything over the goal stays with the fund")),
                      ("How-To-Help", "Give at the link & share this appeal <please>."),
                      ("Tags", ("bail", "march"))))


def _hardship() -> list[Appeal]:
    first = Appeal("ANYTOWN-2026-0002", 1, "Anytown Mutual Aid", _at(20), date(2026, 12, 20),
                   "open", "mas@anytown.example", (
                       ("Template", "hardship"), ("Title", "Rent after the fire"),
                       ("Filed-By", "self"), ("Location", "Anytown, OR"), ("Goal", "900 USD"),
                       ("Donate", ("https://give.example/fire",)),
                       ("Story", "Our kitchen burned. We need rent for December."),
                       ("How-To-Help", "Give at the link.")))
    funded = canonical.revise(first, {"Status": "funded", "Stop-Sharing": "yes",
                                      "Note": "Thank you all: the rent is paid.",
                                      "Funds-Report": "* 900 USD rent paid to the landlord"},
                              issued=_at(26), appeal_days=30)
    return [first, funded]


def _expired() -> Appeal:
    return Appeal("ANYTOWN-2026-0003", 1, "Anytown Mutual Aid", _at(1), date(2026, 11, 15),
                  "open", "mas@anytown.example", (
                      ("Template", "hardship"), ("Title", "Bus fare to the hearing"),
                      ("Filed-By", "self"), ("Location", "Anytown, OR"), ("Goal", "60 USD"),
                      ("Donate", ("https://give.example/bus",)),
                      ("Story", "A bus ticket to the hearing."), ("How-To-Help", "Give.")))


def _partner() -> Appeal:
    return Appeal("RIVER-2026-0007", 1, "Riverside Solidarity", _at(25), date(2026, 12, 25),
                  "open", "help@riverside.example", (
                      ("Template", "hardship"), ("Title", "Wheelchair repair for Ana"),
                      ("Filed-By", "self"), ("Location", "Riverside, CA"), ("Goal", "400 USD"),
                      ("Donate", ("https://give.example/ana",)),
                      ("Story", "Ana's chair broke; the repair shop needs 400 USD.\n"
                                "Note: the shop waits until Friday."),
                      ("How-To-Help", "Give at the link.")))


def record(appeal: Appeal, signer: Signer, *, action: str = "relay", partner: bool = False,
           origin_key: str = "") -> AppealRecord:
    text = signer.clearsign(appeal.canonical_text())
    relay = (RelayRecord(signer.fingerprint, appeal.society, appeal.appeal_id, appeal.revision,
                         (signer.fingerprint,)).text() if partner else "")
    return AppealRecord(
        appeal_id=appeal.appeal_id, revision=appeal.revision, origin=signer.fingerprint,
        template=appeal.template, status=appeal.status, issued=appeal.issued.isoformat(),
        expires=appeal.expires.isoformat(), digest=appeal.digest(), update_key_hash=None,
        action=action, signed_text=text,
        fields="[]" if partner else canonical.fields_json(appeal), record=relay,
        origin_key=origin_key)


@dataclass
class History:
    store: Store
    own: Society
    partner: Society
    settings: SiteSettings

    def site(self) -> Site:
        return Site(self.settings, self.store, today=lambda: TODAY)

    def close(self) -> None:
        self.store.close()
        self.own.close()
        self.partner.close()


def history(tmp: Path, *, base_url: str | None = BASE) -> History:
    """The store described in the module docstring, and settings for a site under tmp/site."""
    own = society("Anytown Mutual Aid", "mas@anytown.example")
    partner = society("Riverside Solidarity", "help@riverside.example")
    store = Store(tmp / "masbot.sqlite3")
    digest = 0
    for appeal in [_bail(), *_hardship(), _expired()]:
        digest += 1
        store.record(f"d{digest}", "accepted", appeal=record(appeal, own.signer))
    held = canonical.revise(_bail(), {"Status": "update", "Note": "NOT-YET-APPROVED"}, issued=_at(27),
                            appeal_days=30)
    store.record("held", "accepted", appeal=record(held, own.signer, action="hold"))
    store.record("partner", "relayed", appeal=record(
        _partner(), partner.signer, partner=True, origin_key=partner.signer.export_public()))
    settings = SiteSettings(dir=tmp / "site", society="Anytown Mutual Aid", society_id="ANYTOWN",
                            fingerprint=own.fingerprint, public_key=own.signer.export_public(),
                            base_url=base_url, contact="people@anytown.example")
    return History(store, own, partner, settings)
