"""OpenPGP helpers: throwaway GnuPG homes and *independent* signature verifiers.

* :class:`GpgHome` -- a short-lived ``GNUPGHOME`` (``mkdtemp(prefix="mb-g-")`` under
  ``/tmp``; the path must stay short because gpg-agent puts its sockets there when
  ``/run/user/$UID`` does not exist) with key generation/export/signing through the
  ``gpg`` CLI, and agent shutdown on :meth:`GpgHome.close`.
* Verifiers that do not use the society's keyring: :func:`sqop_verify`,
  :func:`sqop_inline_verify` (Sequoia), :func:`gosop_verify` (GopenPGP; it has no
  ``inline-verify``), :func:`gpg_verify_detached` / :func:`gpg_verify_inline` (GnuPG in
  a fresh home holding only the given certificate).
* :func:`extract_signed` -- split an RFC 3156 ``multipart/signed`` message into the
  exact signed bytes and the signature, by cutting the raw bytes at the boundary
  delimiters (never by re-serialising with :mod:`email`).

SOP exit codes: 0 = at least one good signature, 3 = no acceptable signature
(``No acceptable signatures found``); anything else is a usage/data error.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import email.utils
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

GPG = "gpg"
SQOP = "sqop"
GOSOP = "gosop"
#: Debian packages providing the tools (for error messages).
PACKAGES = {GPG: "gnupg", SQOP: "sqop", GOSOP: "gosop", "gpgconf": "gnupg"}

Certs = bytes | Iterable[bytes]


class OpenPGPHarnessError(RuntimeError):
    """A tool failed in a way that is a harness problem, not a verification result."""


def require_tool(name: str) -> str:
    """Return the path of *name* or raise, naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        pkg = PACKAGES.get(name, name)
        raise OpenPGPHarnessError(f"{name} not found: apt-get install -y {pkg}")
    return path


def normalize_fpr(fpr: str) -> str:
    """Upper-case hex fingerprint without spaces (``0x`` prefix removed)."""
    fpr = fpr.replace(" ", "").upper()
    return fpr[2:] if fpr.startswith("0X") else fpr


# --------------------------------------------------------------------------- results
@dataclass
class Verification:
    """Outcome of one verifier run.  Truthy iff :attr:`ok`.

    :attr:`signers` are the fingerprints of the keys that made good signatures (the
    signing subkey if one was used), :attr:`primaries` the matching primary-key
    fingerprints, both upper-case hex.  :attr:`text` is the recovered message for
    inline (clearsigned) verification.
    """

    tool: str
    ok: bool
    signers: list[str] = field(default_factory=list)
    primaries: list[str] = field(default_factory=list)
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    text: bytes | None = None

    @property
    def signer(self) -> str | None:
        """The first good signer's fingerprint, or ``None``."""
        return self.signers[0] if self.signers else None

    def signed_by(self, fpr: str) -> bool:
        """``True`` if a good signature was made by *fpr* (primary or subkey)."""
        want = normalize_fpr(fpr)
        return self.ok and (want in self.signers or want in self.primaries)

    def __bool__(self) -> bool:
        return self.ok

    def describe(self) -> str:
        """A one-paragraph summary for assertion messages."""
        return (
            f"{self.tool}: ok={self.ok} rc={self.returncode} signers={self.signers} "
            f"stdout={self.stdout.strip()!r} stderr={self.stderr.strip()!r}"
        )


@dataclass
class InlineVerification(Verification):
    """Result of :func:`sqop_inline_verify`; also unpacks as ``ok, text, signer``."""

    def __iter__(self) -> Iterator[object]:
        return iter((self.ok, self.text, self.signer))


# --------------------------------------------------------------------------- helpers
def _as_list(certs: Certs) -> list[bytes]:
    if isinstance(certs, (bytes, bytearray, memoryview)):
        return [bytes(certs)]
    return [bytes(c) for c in certs]


class _Scratch:
    """A temporary directory for files handed to a verifier."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mb-v-", dir="/tmp"))
        self._n = 0

    def file(self, data: bytes, suffix: str = "") -> str:
        self._n += 1
        path = self.dir / f"{self._n}{suffix}"
        path.write_bytes(data)
        return str(path)

    def __enter__(self) -> "_Scratch":
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _parse_sop_verifications(text: str) -> tuple[list[str], list[str]]:
    """Parse SOP ``VERIFICATIONS`` lines: ``DATE SIGNER-FPR PRIMARY-FPR [extra...]``."""
    signers, primaries = [], []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and re.fullmatch(r"[0-9A-Fa-f]{32,64}", parts[1]):
            signers.append(normalize_fpr(parts[1]))
            primaries.append(normalize_fpr(parts[2]))
    return signers, primaries


def _sop_verify(tool: str, sig: bytes, data: bytes, cert: Certs, timeout: float) -> Verification:
    exe = require_tool(tool)
    with _Scratch() as s:
        args = [exe, "verify", s.file(sig, ".sig")] + [s.file(c, ".cert") for c in _as_list(cert)]
        proc = subprocess.run(args, input=data, capture_output=True, timeout=timeout)
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    signers, primaries = _parse_sop_verifications(out)
    return Verification(
        tool=tool,
        ok=proc.returncode == 0 and bool(signers),
        signers=signers,
        primaries=primaries,
        returncode=proc.returncode,
        stdout=out,
        stderr=err,
    )


# --------------------------------------------------------------------------- verifiers
def sqop_verify(sig: bytes, data: bytes, cert: Certs, *, timeout: float = 30.0) -> Verification:
    """``sqop verify SIG CERT... < DATA`` (detached signature, Sequoia)."""
    return _sop_verify(SQOP, sig, data, cert, timeout)


def gosop_verify(sig: bytes, data: bytes, cert: Certs, *, timeout: float = 30.0) -> Verification:
    """``gosop verify SIG CERT... < DATA`` (detached signature, GopenPGP)."""
    return _sop_verify(GOSOP, sig, data, cert, timeout)


def sqop_inline_verify(clearsigned: bytes, cert: Certs, *, timeout: float = 30.0) -> InlineVerification:
    """``sqop inline-verify --verifications-out F CERT... < CLEARSIGNED``.

    The result unpacks as ``ok, text, signer`` (``text`` is the recovered message as
    sqop prints it; clearsigning drops trailing whitespace on each line).
    """
    exe = require_tool(SQOP)
    with _Scratch() as s:
        vout = s.dir / "verifications"
        args = [exe, "inline-verify", "--verifications-out", str(vout)]
        args += [s.file(c, ".cert") for c in _as_list(cert)]
        proc = subprocess.run(args, input=clearsigned, capture_output=True, timeout=timeout)
        vtext = vout.read_text(errors="replace") if vout.exists() else ""
    signers, primaries = _parse_sop_verifications(vtext)
    return InlineVerification(
        tool="sqop inline-verify",
        ok=proc.returncode == 0 and bool(signers),
        signers=signers,
        primaries=primaries,
        returncode=proc.returncode,
        stdout=vtext,
        stderr=proc.stderr.decode(errors="replace"),
        text=proc.stdout,
    )


def _gpg_verify(cert: Certs, args_for: Callable[[_Scratch], list[str]], tool: str,
                timeout: float) -> Verification:
    """Run gpg (``--status-fd 2`` + ``args_for(scratch)``) in a brand-new home that
    holds only *cert*, and judge the result from VALIDSIG/BADSIG/ERRSIG status lines."""
    exe = require_tool(GPG)
    with _Scratch() as s:
        home = s.dir / "h"
        home.mkdir(mode=0o700)
        base = [exe, "--homedir", str(home), "--batch", "--no-tty", "--no-autostart",
                "--no-auto-key-retrieve", "--trust-model", "always"]
        for c in _as_list(cert):
            imp = subprocess.run(base + ["--import", s.file(c, ".cert")],
                                 capture_output=True, timeout=timeout)
            if imp.returncode != 0:
                raise OpenPGPHarnessError(
                    f"gpg --import of the certificate failed: {imp.stderr.decode(errors='replace')}")
        proc = subprocess.run(base + ["--status-fd", "2"] + args_for(s),
                              capture_output=True, timeout=timeout)
        subprocess.run([require_tool("gpgconf"), "--homedir", str(home), "--kill", "all"],
                       capture_output=True, timeout=timeout)
    err = proc.stderr.decode(errors="replace")
    signers, primaries, bad = [], [], False
    for line in err.splitlines():
        parts = line.split()
        if parts[:2] == ["[GNUPG:]", "VALIDSIG"] and len(parts) >= 3:
            signers.append(normalize_fpr(parts[2]))
            primaries.append(normalize_fpr(parts[-1]))
        elif parts[:2] in (["[GNUPG:]", "BADSIG"], ["[GNUPG:]", "ERRSIG"]):
            bad = True
    return Verification(
        tool=tool,
        ok=proc.returncode == 0 and bool(signers) and not bad,
        signers=signers,
        primaries=primaries,
        returncode=proc.returncode,
        stdout=proc.stdout.decode(errors="replace"),
        stderr=err,
        text=proc.stdout if "inline" in tool else None,
    )


def gpg_verify_detached(sig: bytes, data: bytes, cert: Certs, *, timeout: float = 30.0) -> Verification:
    """``gpg --verify SIG DATA`` in a fresh throwaway home into which only *cert* is
    imported (so the signer's own keyring is not the judge)."""
    return _gpg_verify(cert, lambda s: ["--verify", s.file(sig, ".sig"), s.file(data, ".dat")],
                       "gpg --verify", timeout)


def gpg_verify_inline(clearsigned: bytes, cert: Certs, *, timeout: float = 30.0) -> Verification:
    """Verify a clearsigned/inline-signed message with gpg in a fresh home; the
    recovered text is in :attr:`Verification.text`."""
    return _gpg_verify(cert, lambda s: ["--output", "-", "--decrypt", s.file(clearsigned, ".asc")],
                       "gpg --decrypt (inline)", timeout)


# --------------------------------------------------------------------------- GnuPG home
class GpgHome:
    """A throwaway ``GNUPGHOME`` driven through the ``gpg`` CLI.

    ``path`` (also ``str(home)``) is what to hand to the product, e.g.
    ``gnupg.GPG(gnupghome=home.path)``.  Call :meth:`close` (or use ``with``) to kill
    the gpg-agent it auto-started and remove the directory.
    """

    def __init__(self) -> None:
        self.gpg = require_tool(GPG)
        self.path: str = tempfile.mkdtemp(prefix="mb-g-", dir="/tmp")
        os.chmod(self.path, 0o700)
        self._closed = False

    def __str__(self) -> str:
        return self.path

    def __fspath__(self) -> str:
        return self.path

    @property
    def env(self) -> dict[str, str]:
        """``os.environ`` with ``GNUPGHOME`` pointing here (for subprocesses)."""
        return {**os.environ, "GNUPGHOME": self.path}

    def run(self, *args: str, input: bytes | None = None, check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
        """Run ``gpg --homedir HOME --batch --no-tty ARGS`` and return the result."""
        cmd = [self.gpg, "--homedir", self.path, "--batch", "--no-tty", *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise OpenPGPHarnessError(
                f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
        return proc

    def gen_key(self, uid: str, *, algo: str = "ed25519", usage: str = "sign",
                expire: str = "never") -> str:
        """Create a key without passphrase and return its fingerprint.

        Default: an Ed25519 sign-only primary key that never expires.
        """
        proc = self.run("--status-fd", "2", "--pinentry-mode", "loopback", "--passphrase", "",
                        "--quick-gen-key", uid, algo, usage, expire)
        m = re.search(r"^\[GNUPG:\] KEY_CREATED \S+ ([0-9A-F]{40,64})", proc.stderr.decode(), re.M)
        if m is None:
            raise OpenPGPHarnessError(f"no KEY_CREATED from gpg: {proc.stderr.decode(errors='replace')}")
        return m.group(1)

    def export(self, fpr: str) -> bytes:
        """The armored public certificate of *fpr*."""
        out = self.run("--armor", "--export", fpr).stdout
        if not out:
            raise OpenPGPHarnessError(f"no public key {fpr} in {self.path}")
        return out

    def export_secret(self, fpr: str) -> bytes:
        """The armored secret key of *fpr* (no passphrase)."""
        return self.run("--pinentry-mode", "loopback", "--passphrase", "",
                        "--armor", "--export-secret-keys", fpr).stdout

    def import_key(self, data: bytes) -> list[str]:
        """Import keys; return the fingerprints gpg reports as imported."""
        proc = self.run("--status-fd", "2", "--import", input=data)
        return re.findall(r"^\[GNUPG:\] IMPORT_OK \d+ ([0-9A-F]+)", proc.stderr.decode(), re.M)

    def fingerprints(self, secret: bool = True) -> list[str]:
        """Fingerprints of the primary keys in this home."""
        listing = "--list-secret-keys" if secret else "--list-keys"
        out = self.run(listing, "--with-colons", check=False).stdout.decode()
        fprs, want = [], False
        for line in out.splitlines():
            kind = line.split(":", 1)[0]
            if kind in ("sec", "pub"):
                want = True
            elif kind == "fpr" and want:
                fprs.append(line.split(":")[9])
                want = False
            elif kind in ("ssb", "sub"):
                want = False
        return fprs

    def sign_detached(self, data: bytes, fpr: str, *, armor: bool = True, textmode: bool = False,
                      digest_algo: str | None = None) -> bytes:
        """A detached signature over *data* (binary mode unless *textmode*)."""
        args = ["--pinentry-mode", "loopback", "--passphrase", "", "-u", fpr, "--detach-sign"]
        if armor:
            args.append("--armor")
        if textmode:
            args.append("--textmode")
        if digest_algo:
            args += ["--digest-algo", digest_algo]
        return self.run(*args, "--output", "-", input=data).stdout

    def clearsign(self, data: bytes, fpr: str, *, digest_algo: str | None = None) -> bytes:
        """A cleartext-signed version of *data*."""
        args = ["--pinentry-mode", "loopback", "--passphrase", "", "-u", fpr, "--clearsign"]
        if digest_algo:
            args += ["--digest-algo", digest_algo]
        return self.run(*args, "--output", "-", input=data).stdout

    def kill_agent(self) -> None:
        """Stop the gpg-agent (and any other daemons) started for this home."""
        subprocess.run(["gpgconf", "--homedir", self.path, "--kill", "all"],
                       capture_output=True, timeout=30)

    def close(self) -> None:
        """Kill the agent and remove the home (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.kill_agent()
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> "GpgHome":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GpgHome({self.path!r})"


# --------------------------------------------------------------------------- PGP/MIME
def to_crlf(raw: bytes) -> bytes:
    """Convert an LF-only file to CRLF.  Data that already contains a CRLF is returned
    unchanged, so mixed line endings produced by a buggy generator stay visible."""
    if b"\r\n" in raw:
        return raw
    return raw.replace(b"\n", b"\r\n")


def _split_header_body(raw: bytes) -> tuple[bytes, bytes]:
    if raw.startswith(b"\r\n"):
        return b"", raw[2:]
    idx = raw.find(b"\r\n\r\n")
    if idx < 0:
        raise ValueError("no end of header section (blank line) found")
    return raw[: idx + 2], raw[idx + 4:]


def multipart_signed_params(raw: bytes) -> dict[str, str]:
    """Content-Type parameters of a top-level ``multipart/signed`` message (lower-case
    names: ``boundary``, ``protocol``, ``micalg``, ...).  Raises ``ValueError`` otherwise."""
    headers, _ = _split_header_body(to_crlf(raw))
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(headers)
    if msg.get_content_type() != "multipart/signed":
        raise ValueError(f"not multipart/signed but {msg.get_content_type()}")
    params: dict[str, str] = {}
    for key, value in msg.get_params(header="content-type", unquote=True)[1:]:
        params[key.lower()] = email.utils.collapse_rfc2231_value(value)
    if not params.get("boundary"):
        raise ValueError("multipart/signed without boundary parameter")
    return params


def _delimiters(body: bytes, boundary: bytes) -> list[tuple[int, int, bool]]:
    """Find boundary delimiter lines in CRLF + *body*.

    Returns ``(start, end, is_close)`` where ``start`` is the index of the CRLF that
    precedes ``--boundary`` (the CRLF belongs to the delimiter, RFC 2046 5.1.1) and
    ``end`` the index just after the line's own CRLF.
    """
    buf = b"\r\n" + body
    dash = b"\r\n--" + boundary
    found: list[tuple[int, int, bool]] = []
    pos = 0
    while True:
        pos = buf.find(dash, pos)
        if pos < 0:
            break
        line_end = buf.find(b"\r\n", pos + len(dash))
        rest_end = len(buf) if line_end < 0 else line_end
        rest = buf[pos + len(dash): rest_end]
        close = rest.startswith(b"--")
        tail = rest[2:] if close else rest
        if tail.strip(b" \t") == b"":  # only transport padding may follow
            end = len(buf) if line_end < 0 else line_end + 2
            found.append((pos, end, close))
            if close:
                break
            pos = end
        else:
            pos += len(dash)
    # indices refer to buf = CRLF + body; shift back to body coordinates
    return [(s - 2, e - 2, c) for s, e, c in found]


def extract_signed(raw: bytes) -> tuple[bytes, bytes]:
    """Split an RFC 3156 ``multipart/signed`` message into ``(signed, signature)``.

    ``signed`` is the first body part's bytes exactly as on the wire: from just after
    the first delimiter line's CRLF up to (not including) the CRLF that precedes the
    second delimiter.  This is what the signature must cover.  ``signature`` is the
    decoded payload of the second (``application/pgp-signature``) part, normally an
    ASCII-armored signature.  LF-only input is converted to CRLF first.

    Raises ``ValueError`` if the structure is not two parts closed by a close-delimiter.
    """
    raw = to_crlf(raw)
    params = multipart_signed_params(raw)
    _, body = _split_header_body(raw)
    boundary = params["boundary"].encode("ascii")
    delims = _delimiters(body, boundary)
    if not delims or not delims[-1][2]:
        raise ValueError("multipart/signed has no close-delimiter")
    opens = [d for d in delims if not d[2]]
    if len(opens) != 2:
        raise ValueError(f"multipart/signed must have exactly 2 parts, found {len(opens)}")
    (_, first_end, _), (second_start, second_end, _), (close_start, _, _) = delims
    signed = body[first_end:second_start]
    sig_part = body[second_end:close_start]
    part = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(sig_part)
    if part.get_content_type() != "application/pgp-signature":
        raise ValueError(f"second part is {part.get_content_type()}, not application/pgp-signature")
    signature = part.get_payload(decode=True)
    if not isinstance(signature, bytes) or not signature.strip():
        raise ValueError("empty signature part")
    return signed, signature
