"""The repost kit keeps its proof: every piece says which appeal, revision, status, expiry,
permalink and key it is; the HTML and Markdown carry the clearsigned text, which still
verifies (sqop) after the Markdown went through CommonMark (markdown-it-py), Python-Markdown
and, where Debian's ruby-kramdown is installed, kramdown (Jekyll, GitHub Pages)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

from harness.openpgp import sqop_inline_verify
from masbot.appeal import render
from site_support import _bail, _hardship, society

URL = "https://anytown.example/appeals/ANYTOWN-2026-0001/"
CHECK = "https://anytown.example/check.html"
NASTY = "Give at the link & share <please> | a~b ~~~ `x` =5 *not bold* \\ end"


@pytest.fixture(scope="module")
def signed():
    s = society("Anytown Mutual Aid", "mas@anytown.example")
    appeal = _bail()
    appeal = type(appeal)(**{**appeal.__dict__, "fields": tuple(
        (k, NASTY if k == "How-To-Help" else v) for k, v in appeal.fields)})
    text = s.signer.clearsign(appeal.canonical_text())
    proof = render.Proof(text, s.fingerprint, "Anytown Mutual Aid", CHECK)
    yield appeal, proof, s.signer.export_public().encode(), render.kit(appeal, url=URL,
                                                                     proof=proof)
    s.close()


def _pre(rendered: str) -> str:
    blocks = re.findall(r"<pre[^>]*>(?:<code[^>]*>)?(.*?)(?:</code>)?</pre>", rendered, re.S)
    assert len(blocks) == 1, rendered
    return html.unescape(blocks[0])


def _commonmark(text: str) -> str:
    from markdown_it import MarkdownIt
    return MarkdownIt("commonmark").render(text)


def _python_markdown(text: str) -> str:
    import markdown
    return markdown.markdown(text, extensions=["fenced_code"])


def _kramdown(text: str) -> str:
    if not shutil.which("ruby"):
        pytest.skip("apt-get install ruby-kramdown")
    out = subprocess.run(["ruby", "-e", "require 'kramdown'; "
                          "print Kramdown::Document.new(STDIN.read).to_html"],
                         input=text, capture_output=True, text=True, timeout=60)
    if out.returncode != 0 and "kramdown" in out.stderr:
        pytest.skip("apt-get install ruby-kramdown")
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_every_piece_carries_the_proof(signed) -> None:
    appeal, proof, _, kit = signed
    spaced = render.spaced(proof.fingerprint)
    for name in ("appeal.md", "appeal.html", "share.txt"):
        text = kit[name]
        for needle in ("ANYTOWN-2026-0001", "Revision", "Status", "open", "Expires",
                       "December 23, 2026", URL, spaced):
            assert needle in text, (name, needle)
    first = kit["share.txt"].split("\n\n")[0]
    assert len(first) <= render.SHARE_MAX


@pytest.mark.parametrize("renderer", [_commonmark, _python_markdown, _kramdown])
def test_markdown_renders_cleanly_and_the_signed_text_still_verifies(signed, renderer) -> None:
    _, proof, cert, kit = signed
    out = renderer(kit["appeal.md"])
    pre = _pre(out)
    assert pre.rstrip("\n") == proof.signed_text.rstrip("\n")
    assert sqop_inline_verify(pre.encode(), cert).ok
    prose = html.unescape(re.sub(r"<[^>]+>", "", out.split("<pre")[0]))
    assert not re.search(r"\\[&~|<=]", prose), prose   # no stray backslashes
    assert not re.search(r"(?m)\\$", prose), prose
    assert NASTY.replace("\\ end", "") in prose.replace("\\ end", ""), prose
    assert "<h3" in out and "<li>" in out
    assert "<strong>Appeal-ID:</strong>" in out


def test_html_carries_the_signed_text_in_pre(signed) -> None:
    _, proof, cert, kit = signed
    pre = _pre(kit["appeal.html"])
    assert pre == proof.signed_text
    assert sqop_inline_verify(pre.encode(), cert).ok
    assert "<script" not in kit["appeal.html"]


def test_hard_wrapped_lines_are_joined(signed) -> None:
    _, _, _, kit = signed
    assert "eleven others. Everyone else is out" in kit["appeal.md"]
    assert "eleven others. Everyone else is out" in kit["appeal.html"]


def test_readable_labels() -> None:
    md = render.markdown(_bail(), url=URL)
    assert "Bail return" not in md and "Returned bail stays with the fund" in md


def test_funded_revision_kit_says_so(signed) -> None:
    funded = _hardship()[1]
    kit = render.kit(funded, url=URL)
    assert "Status: funded" in kit["share.txt"] and "**Status:** funded" in kit["appeal.md"]


@pytest.mark.parametrize("appeal", [_bail(), *_hardship()], ids=lambda a: a.appeal_id)
@pytest.mark.parametrize("url", [URL, None])
def test_the_proof_put_into_a_rendered_article_gives_the_whole_render(appeal, url) -> None:
    """The kit's HTML reuses the post's article and renders only its footer: byte for byte
    what rendering the whole article with the proof gives, in English and in Spanish."""
    from masbot import lang
    proof = render.Proof("-----BEGIN PGP SIGNED MESSAGE-----\n<b>&</b>\n", "AB" * 20,
                         "Anytown Mutual Aid", CHECK)
    for tr in (lang.get("en"), lang.get("es")):
        spliced = render.html(appeal, url=url, proof=proof, tr=tr)
        whole = render._whole_html(appeal, url, None, proof, tr)
        assert spliced == whole
        assert "&lt;b&gt;&amp;&lt;/b&gt;" in spliced and render._SIGNED not in spliced


def test_a_story_holding_the_marker_keeps_it_and_the_footer_gets_the_signed_text() -> None:
    appeal = _bail()
    appeal = type(appeal)(**{**appeal.__dict__, "fields": tuple(
        (k, f"{v} {render._SIGNED}" if k == "Story" else v) for k, v in appeal.fields)})
    proof = render.Proof("SIGNED-TEXT-HERE\n", "AB" * 20, "Anytown Mutual Aid", CHECK)
    for out in (render.html(appeal, url=URL, proof=proof),
                render._whole_html(appeal, URL, None, proof, render.formats.language_of(appeal))):
        assert out.count("SIGNED-TEXT-HERE") == 1
        assert out.index(render._SIGNED) < out.index("SIGNED-TEXT-HERE")
