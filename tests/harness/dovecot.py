"""A throwaway Dovecot IMAP server on loopback, for tests.

Works as root and as an unprivileged user (see ``/work/shared/recipes/harness.md``):

* the instance directory is ``tempfile.mkdtemp(prefix="mb-dc-", dir="/tmp")``: short
  (unix sockets in ``base_dir`` must stay under 108 chars) and, as root, chmod 0711 so
  the ``dovecot`` user that runs ``auth``/``imap`` can traverse it (pytest's
  ``tmp_path`` lives under a 0700 dir and does not work);
* chroot is disabled for the login/anvil/ipc/old-stats services so the same config
  works without root;
* the master runs in the foreground (``-F``) in its own session, so :meth:`Dovecot.stop`
  can ``killpg(SIGKILL)`` the whole tree in a few ms instead of a ~1 s SIGTERM shutdown.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

DOVECOT_BINARY = "/usr/sbin/dovecot"
"""Where Debian installs the server (package ``dovecot-imapd``)."""

DEBIAN_PACKAGES = "dovecot-imapd openssl"

#: Dovecot 2.3's built-in post-login capability list without ``IDLE``.  Dovecot 2.3 has
#: no "remove one capability" syntax (``imap_capability`` is either a full replacement
#: or ``+extra``), so ``idle=False`` replaces the list wholesale.  Dovecot itself still
#: The list is the one 2.3.19 advertises after login (verified: with an explicit
#: ``imap_capability`` Dovecot stops appending ``LITERAL+``/``NOTIFY`` by itself, so they
#: are listed; the pre-login greeting then shows this full list too).
CAPABILITIES_WITHOUT_IDLE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY "
    "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL "
    "CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE "
    "QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE "
    "SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY"
)


class DovecotError(RuntimeError):
    """Dovecot could not be started (the message includes its log)."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (tiny race, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Create ``cert.pem``/``key.pem`` (P-256) valid for ``localhost`` and ``127.0.0.1``.

    The SAN carries ``DNS:localhost`` and ``IP:127.0.0.1`` so that a client using the
    cert as its CA file passes hostname checks when connecting to either.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is None:
        raise DovecotError("openssl not found: apt-get install openssl")
    proc = subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        capture_output=True,
        timeout=30,
    )
    if proc.returncode != 0:
        raise DovecotError(f"openssl req failed: {proc.stderr.decode(errors='replace')}")
    return cert, key


class Dovecot:
    """A private Dovecot instance listening on 127.0.0.1.

    :param users: ``{username: password}`` for the passwd-file passdb.
    :param tls: also open an implicit-TLS ``imaps`` listener with a self-signed
        certificate; clients verify it with :attr:`cafile`.  (With TLS on, Dovecot
        also advertises STARTTLS on the plain port.)
    :param idle: if ``False`` the post-login CAPABILITY does not advertise ``IDLE``
        (the server would still accept the command; a well-behaved client checks the
        capability), so a client's polling fallback can be exercised.
    :param binary: path to the ``dovecot`` executable.
    :param auth_failure_delay: seconds Dovecot waits before answering a failed login
        (Dovecot's default is 2; 0 keeps wrong-password tests fast).

    Attributes: :attr:`host`, :attr:`port`, :attr:`imaps_port` (``None`` without TLS),
    :attr:`dir` (instance directory), :attr:`cafile` (``None`` without TLS),
    :attr:`users`.  Mail for user *u* lives in ``dir/mail/u/Maildir``.
    """

    def __init__(
        self,
        users: dict[str, str] | None = None,
        *,
        tls: bool = True,
        idle: bool = True,
        binary: str = DOVECOT_BINARY,
        auth_failure_delay: float = 0,
    ) -> None:
        if not os.path.exists(binary):
            raise DovecotError(
                f"{binary} not found: install the Debian package(s) "
                f"'{DEBIAN_PACKAGES}' (apt-get install -y {DEBIAN_PACKAGES})"
            )
        self.binary = binary
        self.users: dict[str, str] = dict(users or {"society": "societypw"})
        self.tls = tls
        self.idle = idle
        self.auth_failure_delay = auth_failure_delay
        self.host = "127.0.0.1"
        self.dir: Path = Path(tempfile.mkdtemp(prefix="mb-dc-", dir="/tmp"))
        self.port: int = free_port()
        self.imaps_port: int | None = free_port() if tls else None
        self.cafile: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._prepare()

    # ------------------------------------------------------------------ setup
    def _prepare(self) -> None:
        d = self.dir
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir()
        if os.geteuid() == 0:
            user, group = "dovecot", "dovecot"
            os.chmod(d, 0o711)
            uid = pwd.getpwnam(user).pw_uid
            gid = grp.getgrnam(group).gr_gid
            os.chown(d / "mail", uid, gid)
        else:
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
        users_file = d / "users"
        lines = []
        for name, password in self.users.items():
            if any(c in name + password for c in ":\n"):
                raise ValueError(f"user/password may not contain ':' or newline: {name!r}")
            lines.append(f"{name}:{{PLAIN}}{password}\n")
        users_file.write_text("".join(lines))
        os.chmod(users_file, 0o644)

        if self.tls:
            cert, key = make_self_signed_cert(d)
            self.cafile = cert
            ssl_lines = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n"
        else:
            ssl_lines = "ssl = no\n"
        imaps_port = self.imaps_port if self.imaps_port is not None else 0
        capability = "" if self.idle else f"imap_capability = {CAPABILITIES_WITHOUT_IDLE}\n"
        conf = f"""\
base_dir = {d}/run
state_dir = {d}/state
instance_name = {d.name}
protocols = imap
listen = 127.0.0.1
log_path = {d}/dovecot.log
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = {int(self.auth_failure_delay * 1000)} msecs
mail_location = maildir:~/Maildir
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
first_valid_gid = 1
{capability}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users_file}
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
service old-stats {{
  chroot =
}}
"""
        (d / "dovecot.conf").write_text(conf)

    # ------------------------------------------------------------ lifecycle
    @property
    def config_path(self) -> Path:
        """The generated ``dovecot.conf``."""
        return self.dir / "dovecot.conf"

    def start(self, timeout: float = 10.0) -> "Dovecot":
        """Start the server and wait for the ``* OK`` greeting on the IMAP port.

        Raises :class:`DovecotError` with the log contents if it does not come up
        within *timeout* seconds.
        """
        if self._closed:
            raise DovecotError("this Dovecot instance was stopped and cleaned up")
        if self.proc is not None and self.proc.poll() is None:
            return self
        # A stale master.pid of a live/zombie process makes Dovecot refuse to start.
        (self.dir / "run" / "master.pid").unlink(missing_ok=True)
        stderr = open(self.dir / "stderr.log", "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        finally:
            stderr.close()
        deadline = time.monotonic() + timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                last_error = f"dovecot exited with status {self.proc.returncode}"
                break
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0) as s:
                    # short reads so that an early exit of dovecot is noticed quickly
                    s.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
                    greeting = s.makefile("rb").readline()
                if greeting.startswith(b"* OK"):
                    return self
                last_error = f"unexpected greeting {greeting!r}"
            except OSError as exc:
                last_error = repr(exc)
            time.sleep(0.01)
        self._kill()
        raise DovecotError(
            f"Dovecot did not greet on {self.host}:{self.port} ({last_error}).\n"
            f"--- log ({self.dir}) ---\n{self.log_text()}"
        )

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - should not happen
            pass

    def stop(self) -> None:
        """Kill the whole process group at once (SIGKILL, a few ms); keep the directory."""
        self._kill()

    def restart(self, timeout: float = 10.0) -> "Dovecot":
        """Stop and start again on the same ports with the same mail directory."""
        self.stop()
        return self.start(timeout=timeout)

    def close(self) -> None:
        """Stop the server and remove its directory (mail included)."""
        self.stop()
        if not self._closed:
            self._closed = True
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        """``True`` while the master process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        """Dovecot's log file plus anything it wrote to stdout/stderr."""
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.dir / name
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                continue
            if text:
                parts.append(f"[{name}]\n{text}")
        return "\n".join(parts)

    def maildir(self, user: str) -> Path:
        """Path of *user*'s Maildir (``INBOX``); other folders are ``.Name`` inside it."""
        return self.dir / "mail" / user / "Maildir"

    # ------------------------------------------------------- context manager
    def __enter__(self) -> "Dovecot":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Dovecot(host={self.host!r}, port={self.port}, imaps_port={self.imaps_port}, "
            f"dir={str(self.dir)!r}, running={self.running})"
        )
