"""The public site in a real browser: Debian's chromium, headless, driven by selenium through
chromium-driver, at a 360 px phone width.

Each page is served from 127.0.0.1 so that any request to another host (a font, a CDN, a
counter) shows in the browser's network log. Screenshots go to the test's directory, and to
docs/screenshots/ with MASBOT_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lang_support import assert_no_english, fianza, spanish_module, vigilia  # noqa: F401
from site_support import history, record

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="apt-get install chromium chromium-driver")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WIDTH = 360


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("site")
    h = history(tmp)
    h.site().rebuild()
    handler = functools.partial(_Quiet, directory=str(h.settings.dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", h, tmp
    server.shutdown()
    h.close()


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="mb-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", f"--window-size={WIDTH},800"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WIDTH, "height": 780, "deviceScaleFactor": 1, "mobile": True})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _screenshot(driver, path: Path) -> None:
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    import base64
    path.write_bytes(base64.b64decode(shot["data"]))


PAGES = [("index", "index.html"), ("appeal", "appeals/ANYTOWN-2026-0001/index.html"),
         ("funded", "appeals/ANYTOWN-2026-0002/index.html"),
         ("partner", None), ("check", "check.html")]


@pytest.mark.parametrize("name,path", PAGES)
def test_page_at_360px(served, browser, name: str, path: str | None) -> None:
    base, h, tmp = served
    if path is None:  # the partner's appeal lives under its id and fingerprint
        slug = f"RIVER-2026-0007.{h.partner.fingerprint[-16:].lower()}"
        path = f"appeals/{slug}/index.html"
    browser.get_log("performance")
    browser.get_log("browser")
    browser.get(base + path)
    assert browser.execute_script("return document.readyState") == "complete"
    # No sideways scrolling at 360 px.
    width = browser.execute_script("return document.documentElement.scrollWidth")
    inner = browser.execute_script("return window.innerWidth")
    assert inner == WIDTH
    assert width <= inner, f"{path}: {width} px wide at {inner} px"
    # Nothing from another host.
    origin = urlsplit(base).netloc
    for url in _requests(browser):
        assert url.startswith("data:") or urlsplit(url).netloc == origin, url
    # No console error (a missing resource would be one).
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    # Semantic headings and a language.
    assert browser.execute_script("return document.documentElement.lang") == "en"
    assert len(browser.find_elements("tag name", "h1")) == 1
    target = tmp / f"site-{name}-360.png"
    _screenshot(browser, target)
    shots = [target]
    if name == "appeal":  # the whole page too: check, earlier revisions, kit
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": True})
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        shots.append(tmp / f"site-{name}-360-full.png")
        _screenshot(browser, shots[-1])
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": 780, "deviceScaleFactor": 1, "mobile": True})
    if os.environ.get("MASBOT_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        for shot in shots:
            shutil.copyfile(shot, DOCS / shot.name)


def test_no_script_anywhere(served) -> None:
    _, h, _ = served
    for page in h.settings.dir.rglob("*.html"):
        text = page.read_text().lower()
        assert "<script" not in text and " on" + "load=" not in text, page


@pytest.fixture(scope="module")
def served_es(tmp_path_factory: pytest.TempPathFactory, spanish_module):
    """A Spanish-speaking society's site with two Spanish appeals besides the English ones."""
    from dataclasses import replace
    tmp = tmp_path_factory.mktemp("site-es")
    h = history(tmp)
    for appeal in (fianza(), vigilia()):
        h.store.record(appeal.appeal_id, "accepted", appeal=record(appeal, h.own.signer))
    h.settings = replace(h.settings, language="es")
    h.site().rebuild()
    handler = functools.partial(_Quiet, directory=str(h.settings.dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", h, tmp
    server.shutdown()
    h.close()


@pytest.mark.parametrize("name,path", [("es-appeal", "appeals/ANYTOWN-2026-0005/index.html"),
                                       ("es-gathering", "appeals/ANYTOWN-2026-0006/index.html"),
                                       ("es-index", "index.html")])
def test_spanish_page_at_360px(served_es, browser, name: str, path: str) -> None:
    """A Spanish society's pages on a phone: Spanish from top to bottom (no English sentence
    of masbot's), nothing sideways, a language the browser can tell."""
    base, h, tmp = served_es
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WIDTH, "height": 780, "deviceScaleFactor": 1, "mobile": True})
    browser.get(base + path)
    assert browser.execute_script("return document.documentElement.lang") == "es"
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    text = browser.execute_script(
        "document.querySelectorAll('details').forEach(d => d.remove());"
        "return document.body.innerText")
    assert_no_english(text)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": True})
    target = tmp / f"site-{name}-360-full.png"
    _screenshot(browser, target)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WIDTH, "height": 780, "deviceScaleFactor": 1, "mobile": True})
    if os.environ.get("MASBOT_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS / target.name)
