"""The society's OpenPGP key, through python-gnupg over the system gpg.

Decisions are taken from python-gnupg's parsed fields (status, fingerprint, hash algorithm),
never from gpg's human-readable output.
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

    def _sign(self, data: bytes, **kwargs) -> gnupg.Sign:
        result = self.gpg.sign(data, keyid=self.fingerprint, passphrase=self._passphrase,
                               extra_args=["--digest-algo", DIGEST], **kwargs)
        if result.status != "signature created" or result.fingerprint != self.fingerprint:
            raise SignerError(f"gpg did not sign (status {result.status!r}): "
                              f"{(result.stderr or '').strip()[-300:]}")
        return result

    def clearsign(self, text: str) -> str:
        """``text`` clearsigned; ``text`` must be UTF-8 text without trailing whitespace."""
        return self._sign(text.encode("utf-8"), clearsign=True).data.decode("utf-8")

    def detach_sign(self, data: bytes) -> Signature:
        """An armored binary-mode detached signature over exactly ``data``."""
        result = self._sign(data, detach=True, clearsign=False, binary=False)
        return Signature(data=result.data, hash_algo=str(result.hash_algo))

    def export_public(self) -> str:
        """The society's public key, ASCII-armored."""
        key = self.gpg.export_keys(self.fingerprint, minimal=True)
        if not key:
            raise SignerError(f"could not export {self.fingerprint}")
        return key
