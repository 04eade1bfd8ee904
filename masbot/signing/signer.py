"""The society's OpenPGP key, over the system gpg.

Keys are made, listed and exported through python-gnupg. Signatures, two for every appeal,
are asked of gpg-agent directly when the key allows it (:mod:`masbot.signing.agent`): a gpg
started per signature costs the machine about ten times the agent's work. The first signature
of each kind that way is verified by gpg before the way is trusted; when the agent cannot be
used, gpg signs (:func:`run_sign`, one ``subprocess.run``: python-gnupg's threads and debug
line cost three times as much, ``docs/benchmarks.md``). Decisions are taken from gpg's
machine-readable status lines (``SIG_CREATED``, ``VALIDSIG``), never from its human-readable
output.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gnupg

from masbot.signing import packets
from masbot.signing.agent import Agent, AgentError, AgentKey, AgentUnusable, agent_key
from masbot.signing.armor import armor_signature, clearsigned_block
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
RECHECK = 600.0  # seconds between listings of the key while the agent signs with it
GIVE_UP_AFTER = 5  # the agent's failures in a row before gpg signs for good


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
    """Signs with one secret key; safe to share between threads.

    ``use_agent=False`` always starts gpg (the reference the agent's signatures are held to).
    """

    def __init__(self, gnupghome: Path, fingerprint: str | None = None,
                 passphrase: str | None = None, *, use_agent: bool = True) -> None:
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
        # A passphrase gpg cannot be given is refused at each signature, by run_sign.
        use_agent = use_agent and not (passphrase and ("\n" in passphrase or "\r" in passphrase))
        self._agent_key: AgentKey | None = (agent_key(self._gpg_binary, self._home, fingerprint)
                                            if use_agent else None)
        self._agent = Agent(self._home, passphrase) if self._agent_key else None
        self._verified: set[int] = set()  # signature types the agent's way was checked for
        self._checked_at = time.monotonic()  # when the key was last listed
        self._failures = 0  # the agent's failures in a row
        self._said: set[str] = set()
        self._lock = threading.Lock()

    @property
    def through_agent(self) -> bool:
        """Whether signatures are asked of gpg-agent (False: gpg is started for each)."""
        return self._agent_key is not None

    def _sign(self, data: bytes, mode: str) -> tuple[bytes, str]:
        return run_sign(self._gpg_binary, self._home, self.fingerprint, mode, data,
                        self._passphrase)

    # -- the agent's way ---------------------------------------------------------------------
    def _off(self, why: str) -> None:
        """Sign through gpg from now on, and say why (once)."""
        if self._agent_key is not None:
            self._agent_key = None
            log.error("signing: %s; gpg signs every appeal from now on", why)

    def _due_check(self) -> bool:
        key = self._agent_key
        return key is not None and (key.expired(time.time())
                                    or time.monotonic() - self._checked_at > RECHECK)

    def _check_key(self) -> None:
        """List the key again: the agent signs with an expired or revoked key, gpg does not."""
        self._checked_at = time.monotonic()
        fresh = agent_key(self._gpg_binary, self._home, self.fingerprint)
        if fresh is None or fresh.expired(time.time()):
            self._off("the key can no longer sign through gpg-agent (expired, revoked or "
                      "changed)")
        elif self._agent_key is not None:
            self._agent_key = fresh

    def _failed(self, exc: AgentError) -> None:
        if isinstance(exc, AgentUnusable):
            self._off(str(exc))
            return
        self._failures += 1
        if self._failures >= GIVE_UP_AFTER:
            self._off(f"gpg-agent failed {self._failures} times in a row (last: {exc})")
        else:
            self._say_once(f"{exc}; gpg signs instead")

    def _hashed(self, key: AgentKey, signed: bytes, sig_type: int) -> tuple[bytes, bytes, bytes]:
        """(fingerprint, hashed part, digest) of a new signature over ``signed``."""
        fingerprint = bytes.fromhex(key.fingerprint)
        hashed = packets.hashed_part(sig_type, key.pk_algo, int(time.time()), fingerprint)
        return fingerprint, hashed, packets.digest(signed, hashed)

    def _agent_packet(self, signed: bytes, sig_type: int, shown: str | None = None) -> bytes | None:
        """The signature packet over ``signed`` made by the agent, or None when gpg must sign
        (no agent way for this key, the agent failed, or its first signature of this type did
        not verify). ``shown`` is a cleartext signature's text, checked with it."""
        if self._due_check():
            self._check_key()
        key, agent = self._agent_key, self._agent
        if key is None or agent is None:
            return None
        fingerprint, hashed, digest = self._hashed(key, signed, sig_type)
        try:
            values = agent.sign(key, digest)
        except AgentError as exc:
            self._failed(exc)
            return None
        self._failures = 0
        packet = packets.packet(hashed, digest, values, fingerprint)
        if sig_type not in self._verified:
            problem = self._gpg_verifies(packet, signed, shown)
            if problem:
                self._off(f"a signature made through gpg-agent did not verify ({problem})")
                return None
            self._verified.add(sig_type)
        return packet

    async def _agent_packet_async(self, signed: bytes, sig_type: int,
                                  shown: str | None = None) -> bytes | None:
        """:meth:`_agent_packet` on the event loop. What runs gpg (the first signature of a
        type, checked; the key listed again now and then) runs in a thread."""
        if sig_type not in self._verified or self._due_check():
            return await asyncio.to_thread(self._agent_packet, signed, sig_type, shown)
        key, agent = self._agent_key, self._agent
        if key is None or agent is None:
            return None
        fingerprint, hashed, digest = self._hashed(key, signed, sig_type)
        try:
            values = await agent.asign(key, digest)
        except AgentError as exc:
            self._failed(exc)
            return None
        self._failures = 0
        return packets.packet(hashed, digest, values, fingerprint)

    def _gpg_verifies(self, packet: bytes, signed: bytes, shown: str | None) -> str | None:
        """None when gpg says ``packet`` is a good signature by this key over ``signed`` (and,
        for a cleartext signature, that the block masbot builds around it shows exactly
        ``shown``); else what is wrong."""
        # Nothing is written to disk: the text comes on stdin, a detached signature through a
        # pipe of its own (gpg's "-&FD"; a packet is far smaller than a pipe's buffer).
        read_end, write_end = os.pipe()
        try:
            if shown is None:
                os.write(write_end, packet)
                args = ["--enable-special-filenames", "--verify", "--", f"-&{read_end}", "-"]
                stdin = signed
            else:
                args = ["--output", "-", "--decrypt"]
                stdin = clearsigned_block(shown, DIGEST, packet, escape_from=True).encode("utf-8")
            os.close(write_end)
            write_end = -1
            done = subprocess.run([self._gpg_binary, "--homedir", self._home, "--batch",
                                   "--no-tty", "--status-fd", "2", *args],
                                  input=stdin, capture_output=True, timeout=SIGN_TIMEOUT,
                                  check=False, pass_fds=(read_end,))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"gpg could not check it: {exc}"
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
        if shown is not None and done.stdout != shown.encode("utf-8"):
            return "the cleartext block does not show the signed text"
        for line in done.stderr.splitlines():
            fields = line.split()
            if fields[:2] == [b"[GNUPG:]", b"VALIDSIG"] and len(fields) > 11 and (
                    fields[11].decode("ascii", "replace") == self.fingerprint):
                return None
        errors = b"\n".join(line for line in done.stderr.splitlines()
                            if not line.startswith(b"[GNUPG:]"))
        return errors.decode("utf-8", "replace").strip()[-300:] or "no VALIDSIG"

    def _say_once(self, text: str) -> None:
        with self._lock:
            if text in self._said:
                return
            self._said.add(text)
        log.warning("signing: %s", text)

    # -- what callers use ----------------------------------------------------------------------
    def clearsign(self, text: str) -> str:
        """``text`` clearsigned; ``text`` must be UTF-8 text without trailing whitespace."""
        try:
            shown, signed = packets.cleartext(text)
        except ValueError:
            packet = None
        else:
            packet = self._agent_packet(signed, packets.SIG_TEXT, shown)
        if packet is not None:
            return clearsigned_block(shown, DIGEST, packet, escape_from=True)
        return self._sign(text.encode("utf-8"), "--clearsign")[0].decode("utf-8")

    def detach_sign(self, data: bytes) -> Signature:
        """An armored binary-mode detached signature over exactly ``data``."""
        packet = self._agent_packet(data, packets.SIG_BINARY)
        if packet is not None:
            return Signature(armor_signature(packet).encode("ascii"), str(packets.HASH_SHA512))
        armored, hash_algo = self._sign(data, "--detach-sign")
        return Signature(data=armored, hash_algo=hash_algo)

    async def aclearsign(self, text: str) -> str:
        """:meth:`clearsign` for the event loop: through the agent without a thread."""
        try:
            shown, signed = packets.cleartext(text)
        except ValueError:
            packet = None
        else:
            packet = await self._agent_packet_async(signed, packets.SIG_TEXT, shown)
        if packet is not None:
            return clearsigned_block(shown, DIGEST, packet, escape_from=True)
        return (await asyncio.to_thread(self._sign, text.encode("utf-8"),
                                        "--clearsign"))[0].decode("utf-8")

    async def adetach_sign(self, data: bytes) -> Signature:
        """:meth:`detach_sign` for the event loop: through the agent without a thread."""
        packet = await self._agent_packet_async(data, packets.SIG_BINARY)
        if packet is not None:
            return Signature(armor_signature(packet).encode("ascii"), str(packets.HASH_SHA512))
        armored, hash_algo = await asyncio.to_thread(self._sign, data, "--detach-sign")
        return Signature(data=armored, hash_algo=hash_algo)

    def close(self) -> None:
        """Close the connections kept open to gpg-agent."""
        if self._agent is not None:
            self._agent.close()

    def export_public(self) -> str:
        """The society's public key, ASCII-armored."""
        key = self.gpg.export_keys(self.fingerprint, minimal=True)
        if not key:
            raise SignerError(f"could not export {self.fingerprint}")
        return key
