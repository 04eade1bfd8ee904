"""The society's OpenPGP key, over the system gpg.

Keys are made, listed and exported through python-gnupg. Signatures, made for every appeal,
are asked of gpg directly (:func:`run_sign`): python-gnupg starts three threads and formats a
debug line per call, which cost 0.85 ms of the daemon's CPU per signature against 0.3 ms for
one ``subprocess.run`` (``docs/benchmarks.md``). Decisions are taken from gpg's machine-readable
status lines (``SIG_CREATED``: type, hash algorithm, fingerprint), never from its
human-readable output.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import gnupg

from masbot.signing.fingerprints import normalise

log = logging.getLogger(__name__)
DIGEST = "SHA512"


class SignerError(Exception):
    """The key is missing, ambiguous or cannot sign; the message says which and what to do."""


@dataclass(frozen=True)
class Signature:
    """A detached signature and the hash algorithm gpg reported for it."""

    data: bytes  # ASCII-armored
    hash_algo: str  # OpenPGP hash algorithm id, e.g. "10" for SHA512


def require_gpg() -> str:
    """The path of the gpg binary, or SignerError naming the Debian package."""
    path = shutil.which("gpg")
    if not path:
        raise SignerError("gpg is not installed: install the Debian package gnupg")
    return path


def open_home(gnupghome: Path) -> gnupg.GPG:
    """A python-gnupg handle on ``gnupghome`` (created 0700 when missing)."""
    require_gpg()
    gnupghome = Path(gnupghome)
    gnupghome.mkdir(mode=0o700, parents=True, exist_ok=True)
    if len(str(gnupghome.resolve())) > 80 and not os.environ.get("XDG_RUNTIME_DIR"):
        log.warning("GNUPGHOME path is long (%d chars): gpg-agent's socket may not fit; "
                    "prefer a short path", len(str(gnupghome)))
    gpg = gnupg.GPG(gnupghome=str(gnupghome))
    gpg.encoding = "utf-8"
    return gpg


def stop_agent(gnupghome: Path) -> None:
    """Stop the gpg-agent (and any other gpg daemon) that work in ``gnupghome`` started.

    For one-shot commands (``keys init``, ``check-config``): they leave nothing running.
    """
    gpgconf = shutil.which("gpgconf")
    if gpgconf and Path(gnupghome).is_dir():
        subprocess.run([gpgconf, "--homedir", str(gnupghome), "--kill", "all"],
                       capture_output=True, timeout=30, check=False)


def init_key(gnupghome: Path, name: str, address: str, passphrase: str | None = None) -> str:
    """Create the society's Ed25519 signing key in ``gnupghome``; return its fingerprint.

    Refuses when a secret key is already there, so a key is never replaced by accident.
    """
    gpg = open_home(gnupghome)
    if gpg.list_keys(secret=True):
        raise SignerError(f"{gnupghome} already holds a secret key; refusing to create another")
    params: dict[str, object] = dict(key_type="EDDSA", key_curve="ed25519", key_usage="sign",
                  name_real=name, name_email=address, expire_date="2y")
    if passphrase:
        params["passphrase"] = passphrase
    else:
        params["no_protection"] = True
    result = gpg.gen_key(gpg.gen_key_input(**params))
    if not result.fingerprint:
        raise SignerError(f"gpg could not create the key: {result.stderr.strip()[-300:]}")
    return str(result.fingerprint)


SIGN_TIMEOUT = 60.0  # seconds; gpg-agent answers in milliseconds when it is up


def run_sign(gpg_binary: str, home: str, fingerprint: str, mode: str, data: bytes,
             passphrase: str | None = None) -> tuple[bytes, str]:
    """``data`` signed by ``fingerprint`` in ``home``, ASCII-armored, in ``mode``
    (``--clearsign`` or ``--detach-sign``), with the hash algorithm id gpg reported.

    Raises SignerError unless gpg's status says it made that signature with that key: a
    missing or locked key, a wrong passphrase, a dead agent or a gpg that hangs (after
    :data:`SIGN_TIMEOUT`) are all an error, never an unsigned post.
    """
    cmd = [gpg_binary, "--status-fd", "2", "--no-tty", "--no-verbose", "--batch",
           "--homedir", home, "--default-key", fingerprint, "--digest-algo", DIGEST,
           "--armor", "--sign", mode]
    stdin = data
    if passphrase is not None:
        if "\n" in passphrase or "\r" in passphrase:
            raise SignerError("the passphrase holds a line break, which gpg cannot be given")
        cmd[1:1] = ["--pinentry-mode", "loopback"]
        cmd += ["--passphrase-fd", "0"]
        stdin = passphrase.encode("utf-8") + b"\n" + data
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=SIGN_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        raise SignerError(f"gpg did not sign within {SIGN_TIMEOUT:.0f} s") from None
    except OSError as e:
        raise SignerError(f"gpg could not be started: {e}") from None
    created = None
    for line in done.stderr.splitlines():
        if line.startswith(b"[GNUPG:] SIG_CREATED "):
            created = line.split()[2:]
    # SIG_CREATED <type> <pk algo> <hash algo> <class> <timestamp> <fingerprint>
    if (done.returncode != 0 or created is None or len(created) != 6
            or created[5].decode("ascii", "replace") != fingerprint or not done.stdout):
        status = " ".join(line.split()[1].decode("ascii", "replace")
                          for line in done.stderr.splitlines()
                          if line.startswith(b"[GNUPG:] ") and len(line.split()) > 1)
        errors = b"\n".join(line for line in done.stderr.splitlines()
                            if not line.startswith(b"[GNUPG:]")).decode("utf-8", "replace")
        raise SignerError(f"gpg did not sign (exit {done.returncode}, status {status!r}): "
                          f"{errors.strip()[-300:]}")
    return done.stdout, created[2].decode("ascii")


class Signer:
    """Signs with one secret key; safe to share between threads."""

    def __init__(self, gnupghome: Path, fingerprint: str | None = None,
                 passphrase: str | None = None) -> None:
        self.gpg = open_home(gnupghome)
        secret = self.gpg.list_keys(secret=True)
        fprs = [k["fingerprint"] for k in secret]
        if fingerprint:
            fingerprint = normalise(fingerprint)
            if fingerprint not in fprs:
                raise SignerError(f"no secret key {fingerprint} in {gnupghome}")
        elif len(fprs) == 1:
            fingerprint = fprs[0]
        elif not fprs:
            raise SignerError(f"no secret key in {gnupghome}: run 'masbot keys init -c CONFIG'")
        else:
            raise SignerError(f"{gnupghome} holds {len(fprs)} secret keys: set society.key "
                              "to the fingerprint of the one to sign with")
        self.fingerprint: str = fingerprint
        self._passphrase = passphrase

        self._gpg_binary = require_gpg()
        self._home = str(Path(gnupghome))

    def _sign(self, data: bytes, mode: str) -> tuple[bytes, str]:
        return run_sign(self._gpg_binary, self._home, self.fingerprint, mode, data,
                        self._passphrase)

    def clearsign(self, text: str) -> str:
        """``text`` clearsigned; ``text`` must be UTF-8 text without trailing whitespace."""
        return self._sign(text.encode("utf-8"), "--clearsign")[0].decode("utf-8")

    def detach_sign(self, data: bytes) -> Signature:
        """An armored binary-mode detached signature over exactly ``data``."""
        armored, hash_algo = self._sign(data, "--detach-sign")
        return Signature(data=armored, hash_algo=hash_algo)

    def export_public(self) -> str:
        """The society's public key, ASCII-armored."""
        key = self.gpg.export_keys(self.fingerprint, minimal=True)
        if not key:
            raise SignerError(f"could not export {self.fingerprint}")
        return key
