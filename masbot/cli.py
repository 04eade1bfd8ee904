"""The ``masbot`` command line (DESIGN §5). Exit codes: 0 success, 1 a negative answer
(invalid, not verified), 2 a usage or configuration error."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path

from masbot import __version__

OK, NEGATIVE, USAGE = 0, 1, 2


def _load(path: str):
    from masbot.config.settings import ConfigError, load_config
    try:
        return load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    """Check the file; with --connect also log in to the servers and load every key."""
    from masbot.config.settings import check_config, load_config
    from masbot.daemon import inbound_problem, restart_needed, running_pid
    from masbot.signing.signer import Signer, SignerError, stop_agent
    problems = check_config(args.config)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return USAGE
    config = load_config(args.config)
    if no_inbound := inbound_problem(config):
        print(no_inbound, file=sys.stderr)
        return USAGE
    if config.templates_dir is not None:
        from masbot.story.templates import check_directory
        template_problems = check_directory(config.templates_dir)
        for p in template_problems:
            print(p, file=sys.stderr)
        if template_problems:
            return USAGE
    daemon_pid = running_pid(config)
    found: list[str] = []
    try:
        if args.connect:
            from masbot.config.connect import check_connections
            found = [str(f) for f in check_connections(config)]
        else:
            try:
                Signer(config.society.gnupghome, config.society.key)
            except SignerError as exc:
                found = [f"society key: {exc}"]
    finally:
        if daemon_pid is None:  # a running daemon's agent is left alone
            stop_agent(config.society.gnupghome)
    for line in found:
        print(f"{args.config}: {line}", file=sys.stderr)
    if found:
        return USAGE
    if daemon_pid is not None:
        for name in restart_needed(config):
            print(f"{args.config}: {name} differs from what the running daemon uses: "
                  "a reload (SIGHUP) does not change it, restart masbot")
    from masbot import lang
    if lang.supported(config.society.language) is None:
        print(f"{args.config}: society.language {config.society.language}: appeals say so, but "
              f"masbot has no catalog for it, so answers and notices are in English "
              f"(masbot speaks {', '.join(lang.available())}; docs/languages.md says how to "
              "add a language)")
    print(f"{args.config}: ok" + ("" if args.connect else
                                  " (--connect also logs in to the servers and loads the keys)"))
    return OK


def cmd_run(args: argparse.Namespace) -> int:
    from masbot.config.settings import ConfigError
    from masbot.daemon import Daemon, StartError
    from masbot.signing.signer import SignerError
    try:
        return asyncio.run(Daemon(Path(args.config)).run())
    except (ConfigError, StartError) as exc:
        print(exc, file=sys.stderr)
        return USAGE
    except SignerError as exc:
        print(f"masbot: {exc}", file=sys.stderr)
        return USAGE


def cmd_demo(args: argparse.Namespace) -> int:
    from masbot import demo
    return demo.run(Path(args.out))


def _catalogue(args: argparse.Namespace):
    from masbot.story import templates as forms
    if getattr(args, "config", None):
        config = _load(args.config)
        if config is None:
            return None, None
        return forms.load(config.templates_dir), config
    return forms.builtin(), None


def _language_tag(value: str) -> str:
    """--lang: a language masbot speaks."""
    from masbot import lang
    code = lang.supported(value)
    if code is None:
        raise argparse.ArgumentTypeError(
            f"masbot does not speak {value!r}; it speaks {', '.join(lang.available())}")
    return code


def _answer_language(args: argparse.Namespace, config) -> str:
    """--lang, else the configuration's society language, else English."""
    return getattr(args, "lang", None) or (config.society.language if config else "en")


def cmd_template(args: argparse.Namespace) -> int:
    from masbot import lang
    from masbot.story import answers
    from masbot.story import templates as forms
    catalogue, config = _catalogue(args)
    if catalogue is None:
        return USAGE
    tr = lang.get(_answer_language(args, config))
    if not args.name:
        society = config.society.name if config else tr._("The society")
        print(answers.help_text(catalogue, society, tr=tr), end="")
        return OK
    tpl = catalogue.template(args.name)
    if tpl is None:
        print(f"masbot: no template '{args.name}'; known: {', '.join(catalogue.names())}",
              file=sys.stderr)
        return USAGE
    if not getattr(args, "lang", None):  # "masbot template fianza": the name's language
        spelled = catalogue.template_spellings.get(forms.normalise_key(args.name))
        if spelled and len(spelled[1]) == 1:
            tr = lang.get(next(iter(spelled[1])))
    if getattr(args, "example", False):
        print(forms.example_form(tpl, datetime.now(timezone.utc).date(), tr=tr), end="")
        return OK
    print(forms.blank_form(tpl, tr=tr), end="")
    return OK


def _read_input(name: str) -> bytes | None:
    try:
        return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        print(f"masbot: cannot read {name}: {exc.strerror}", file=sys.stderr)
        return None


_MAIL_HEADER = re.compile(rb"^(?:from|to|cc|subject|date|message-id|mime-version|content-type|"
                          rb"received|return-path|delivered-to|reply-to|sender|x-[\w-]+):",
                          re.IGNORECASE)


def _verdict(raw: bytes, catalogue, society: str, language: str = "en"):
    """Run the pipeline on a mail, or on a bare form (a file that starts with no mail header)."""
    from masbot.intake import message as intake
    from masbot.intake import classify as pipeline
    if not _MAIL_HEADER.match(raw.lstrip()):
        raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + raw
    msg = intake.read(raw)
    now = datetime.now(timezone.utc)
    return msg, pipeline.run(msg, pipeline.Context(catalogue, society, now,
                                                   language=language)), now


def cmd_validate(args: argparse.Namespace) -> int:
    from masbot.appeal import canonical as appeal
    catalogue, config = _catalogue(args)
    if catalogue is None:
        return USAGE
    raw = _read_input(args.file)
    if raw is None:
        return USAGE
    society = config.society if config else None
    _, verdict, now = _verdict(raw, catalogue, society.name if society else "The society",
                               _answer_language(args, config))
    if verdict.kind != "request":
        print(verdict.answer_body or f"not a request: {verdict.reason}", end="")
        return NEGATIVE
    values = verdict.validation.values
    if values.get("Template") == "update":  # not an appeal of its own: say what it would do
        print(f"a valid update of {values.get('Refers-To')}: Status {values.get('Status')}")
        for warning in verdict.validation.warnings:
            print(f"? {warning}", file=sys.stderr)
        return OK
    preview = appeal.build(
        verdict.validation,
        appeal_id=appeal.appeal_id(society.id if society else "PREVIEW", now.year, 0),
        society=society.name if society else "(your society)",
        updates_to=society.address if society else "(the society's address)",
        issued=now, appeal_days=society.appeal_days if society else 30)
    print(preview.canonical_text(), end="")
    for warning in verdict.validation.warnings:
        print(f"? {warning}", file=sys.stderr)
    return OK


def cmd_rules_explain(args: argparse.Namespace) -> int:
    from masbot import flow
    from masbot.daemon import store_path
    from masbot.explain import explain, lines
    from masbot.signing.signer import Signer, SignerError
    if args.routes:
        print(flow.describe(), end="")
        return OK
    if not args.file:
        print("masbot: rules explain needs a FILE (or --routes)", file=sys.stderr)
        return USAGE
    config = _load(args.config)
    if config is None:
        return USAGE
    raw = _read_input(args.file)
    if raw is None:
        return USAGE
    try:
        fingerprint = Signer(config.society.gnupghome, config.society.key).fingerprint
    except SignerError as exc:
        # Explaining a member's request needs no key; a partner's post is then checked
        # against the configured fingerprint only, if any.
        fingerprint = config.society.key or ""
        print(f"masbot: warning: {exc}", file=sys.stderr)
    result = explain(config, fingerprint, raw, store_path(config),
                     use_store=not args.without_store)
    for line in lines(result):
        print(line)
    return OK if result.plan is not None and result.plan.decision is not None else NEGATIVE


def cmd_held(args: argparse.Namespace) -> int:
    """``masbot held``: the appeal revisions that wait for a moderator."""
    from masbot.daemon import store_path
    from masbot.store import Store
    config = _load(args.config)
    if config is None:
        return USAGE
    store = Store.reader(store_path(config))
    waiting = store.waiting(datetime.now(timezone.utc).date().isoformat()) if store else ()
    if store is not None:
        store.close()
    if not waiting:
        print("no appeal waits for a moderator")
    for appeal_id, revision, title, expires in waiting:
        print(f"{appeal_id}  revision {revision}  until {expires}  {title}")
    return OK


def cmd_decide(args: argparse.Namespace) -> int:
    """``masbot approve|reject ID``: decide a held appeal with the operator's shell access."""
    from masbot.daemon import store_path
    from masbot.relay.smtp import SmtpTransport
    from masbot.signing.signer import Signer, SignerError
    from masbot.society import Society
    from masbot.store import Store
    config = _load(args.config)
    if config is None:
        return USAGE
    if not store_path(config).is_file():
        print(f"masbot: no store at {store_path(config)}: nothing is held", file=sys.stderr)
        return NEGATIVE
    soc = config.society
    try:
        passphrase = (soc.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
                      if soc.passphrase_file else None)
        signer = Signer(soc.gnupghome, soc.key, passphrase)
    except (OSError, SignerError) as exc:
        print(f"masbot: {exc}", file=sys.stderr)
        return USAGE
    store = Store(store_path(config))
    try:
        society = Society(config, store, signer, SmtpTransport(
            config.smtp, local_hostname=config.society.address.rsplit("@", 1)[1]))
        outcome = asyncio.run(society.decide(args.appeal_id, args.revision,
                                             args.command == "approve"))
    finally:
        store.close()
    if outcome.kind != "moderation":
        print(f"not done: {outcome.reason}")
        return NEGATIVE
    print(f"{outcome.reason}"
          + (f"; queued for {len(outcome.destinations)} list(s), sent by the running daemon "
             "within a minute" if outcome.destinations else ""))
    return OK


def _society_fields(config_path: Path) -> dict | None:
    """The raw ``society:`` mapping of a config, for commands that run before it is complete."""
    import yaml
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    society = data.get("society") if isinstance(data, dict) else None
    return society if isinstance(society, dict) else None


def cmd_keys_init(args: argparse.Namespace) -> int:
    """Create gnupghome (0700) and the society's key; write ``society.key`` into the config.

    Works before the rest of the config is complete (passwords, keys of partners): only the
    society section must be right. The other problems are listed as still to fix.
    """
    from masbot.config.settings import check_config
    from masbot.signing.pinning import set_society_key
    from masbot.signing.signer import SignerError, init_key, stop_agent
    path = Path(args.config)
    problems = check_config(path)
    blocking = [p for p in problems if p.line == 0 or p.message.startswith("invalid YAML")
                or (p.message.startswith("society") and
                    not p.message.startswith(("society.gnupghome: directory", "society.key")))]
    raw = _society_fields(path)
    if blocking or raw is None:
        for problem in blocking or problems:
            print(problem, file=sys.stderr)
        return USAGE
    home = Path(str(raw["gnupghome"])).expanduser()
    home = home if home.is_absolute() else path.resolve().parent / home
    if not home.parent.is_dir():
        print(f"masbot: {home.parent} does not exist: create it, or point society.gnupghome "
              "elsewhere", file=sys.stderr)
        return USAGE
    home.mkdir(mode=0o700, exist_ok=True)
    passphrase = None
    if raw.get("passphrase_file"):
        secret = Path(str(raw["passphrase_file"])).expanduser()
        secret = secret if secret.is_absolute() else path.resolve().parent / secret
        passphrase = secret.read_text(encoding="utf-8").rstrip("\r\n")
    try:
        fpr = init_key(home, str(raw["name"]), str(raw["address"]), passphrase)
    except SignerError as exc:
        print(f"masbot: {exc}", file=sys.stderr)
        return USAGE
    finally:
        stop_agent(home)
    print(fpr)
    old = path.read_text(encoding="utf-8")
    try:
        _replace_text(path, set_society_key(old, fpr))
        print(f"society.key: {fpr} written to {path}", file=sys.stderr)
    except ValueError as exc:
        print(f"masbot: {path}: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"masbot: cannot write {path} ({exc.strerror}): set society.key: \"{fpr}\" in it "
              "by hand", file=sys.stderr)
    print(f"the revocation certificate is {home / 'openpgp-revocs.d' / (fpr + '.rev')}: copy it "
          "somewhere safe, away from this machine; give partners 'masbot keys export'",
          file=sys.stderr)
    rest = [p for p in check_config(path) if not p.message.startswith("society.gnupghome")]
    if rest:
        print("still to fix before masbot can run:", file=sys.stderr)
        for problem in rest:
            print(f"  {problem}", file=sys.stderr)
    return OK


def _replace_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, keeping the file's permissions."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(text, encoding="utf-8")
    try:
        os.chmod(scratch, path.stat().st_mode & 0o7777)
    except OSError:
        pass
    os.replace(scratch, path)


def cmd_keys(args: argparse.Namespace) -> int:
    from masbot.signing.signer import Signer, SignerError
    if args.action == "init":
        return cmd_keys_init(args)
    if args.action == "add-partner":
        return cmd_keys_add_partner(args)
    config = _load(args.config)
    if config is None:
        return USAGE
    soc = config.society
    passphrase = (soc.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
                  if soc.passphrase_file else None)
    try:
        signer = Signer(soc.gnupghome, soc.key, passphrase)
        print(signer.export_public() if args.action == "export" else signer.fingerprint, end=""
              if args.action == "export" else "\n")
        return OK
    except SignerError as exc:
        print(f"masbot: {exc}", file=sys.stderr)
        return USAGE


def _keyring_for(args: argparse.Namespace):
    """The keyring ``verify`` trusts: --keyring FILE and/or the config's keys; None on error."""
    from masbot.signing.keyring import Keyring, KeyringError, from_config
    if not args.keyring and not args.config:
        print("masbot: give --keyring KEYS.asc or -c CONFIG (whose own and pinned partner "
              "keys are then trusted)", file=sys.stderr)
        return None
    config = None
    if args.config:
        config = _load(args.config)
        if config is None:
            return None
    try:
        keyring = from_config(config) if config else Keyring()
        if args.keyring:
            keyring.add(Path(args.keyring).read_bytes())
    except OSError as exc:
        print(f"masbot: cannot read {args.keyring}: {exc.strerror}", file=sys.stderr)
        return None
    except KeyringError as exc:
        print(f"masbot: {args.keyring}: {exc}", file=sys.stderr)
        return None
    for warning in keyring.warnings:
        print(f"masbot: warning: {warning}", file=sys.stderr)
    if not keyring.keys():
        print("masbot: the keyring holds no key", file=sys.stderr)
        keyring.close()
        return None
    return keyring, (config.partners if config else ())


def cmd_verify(args: argparse.Namespace) -> int:
    from masbot.post import verify
    raw = _read_input(args.file)
    if raw is None:
        return USAGE
    found = _keyring_for(args)
    if found is None:
        return USAGE
    keyring, partners = found
    with keyring:
        result = verify.verify_document(raw, keyring, partners)
    for line in verify.describe(result):
        print(line)
    return OK if result.ok else NEGATIVE


def _confirm(question: str) -> bool:
    """Ask on the terminal; no answer (end of input) is no."""
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        print()
        return False


def cmd_keys_add_partner(args: argparse.Namespace) -> int:
    """Pin a partner's key: show it, ask, copy it next to the config, set fingerprint/key_file.

    Works when the config names a key_file that does not exist yet (the key is written there).
    """
    import re
    import time
    from datetime import datetime, timezone
    from masbot.config.settings import RESERVED_NAMES, check_config
    from masbot.signing.keyring import EXPIRY_WARNING_DAYS, Keyring, KeyringError
    from masbot.signing.pinning import partner_key_file, partner_snippet, pin_partner
    name = args.name or ""
    if not args.file or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", name) \
            or name in RESERVED_NAMES:
        print("masbot: usage: masbot keys add-partner FILE --name NAME -c CONFIG [--yes] (NAME: "
              "the partner's name in the config, lower-case letters, digits and hyphens)",
              file=sys.stderr)
        return USAGE
    config_path = Path(args.config)
    try:
        old = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{config_path}:0: cannot read the configuration file: {exc.strerror}",
              file=sys.stderr)
        return USAGE
    material = _read_input(args.file)
    if material is None:
        return USAGE
    with Keyring() as ring:
        keys = ring.scan(material)
        if len(keys) != 1 or keys[0].secret:
            what = ("secret key material" if any(k.secret for k in keys)
                    else f"{len(keys)} keys")
            print(f"masbot: {args.file} holds {what}; give exactly one public key",
                  file=sys.stderr)
            return USAGE
        key = keys[0]
        fpr = key.fingerprint
        print(f"fingerprint: {' '.join(fpr[i:i + 4] for i in range(0, 40, 4))}")
        for uid in key.uids:
            print(f"user id: {uid}")
        print("expires: " + ("never" if key.expires is None else datetime.fromtimestamp(
            key.expires, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
        if key.revoked or key.expired():
            print(f"masbot: refused: the key {fpr} is {'revoked' if key.revoked else 'expired'}",
                  file=sys.stderr)
            return NEGATIVE
        if key.expires is not None and key.expires - time.time() < EXPIRY_WARNING_DAYS * 86400:
            days = int((key.expires - time.time()) // 86400)
            print(f"masbot: warning: the key expires in {days} day(s): ask {name} for its "
                  "renewed key soon", file=sys.stderr)
        try:
            ring.add(material, expect=fpr)
        except KeyringError as exc:
            print(f"masbot: refused: {exc}", file=sys.stderr)
            return NEGATIVE
        exported = ring.export(fpr)
    if not args.yes and not _confirm(
            f"Compare this fingerprint with the one {name} gave you in person or by phone.\n"
            f"Pin this key for partner {name}? [y/N] "):
        print(f"masbot: not pinned (give --yes to pin without asking)", file=sys.stderr)
        return NEGATIVE
    relative = partner_key_file(old, name) or f"partner-keys/{name}.asc"
    target = Path(relative).expanduser()
    target = target if target.is_absolute() else config_path.resolve().parent / target
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(exported)
    print(f"key copied to {target}")
    try:
        new = pin_partner(old, name, fpr, relative)
    except ValueError as exc:
        print(f"masbot: {config_path}: {exc}", file=sys.stderr)
        return USAGE
    if new is None:
        print(f"partner {name} is not in {config_path}; add it (with its list address):\n")
        print(partner_snippet(name, fpr, relative), end="")
        return NEGATIVE
    before = {str(p) for p in check_config(config_path)}
    _replace_text(config_path, new)
    # Only problems this edit brought are a reason to undo it (others were there before).
    if introduced := [p for p in check_config(config_path) if str(p) not in before]:
        _replace_text(config_path, old)
        for problem in introduced:
            print(problem, file=sys.stderr)
        print(f"masbot: {config_path} left unchanged", file=sys.stderr)
        return USAGE
    print(f"pinned partner {name}: fingerprint {fpr}, key_file {relative} in {config_path}")
    return OK


def _ago(at: float) -> str:
    import time
    seconds = max(0, int(time.time() - at))
    return (f"{seconds} s" if seconds < 120 else f"{seconds // 60} min" if seconds < 7200
            else f"{seconds // 3600} h")


def cmd_status(args: argparse.Namespace) -> int:
    """The daemon's liveness and state, and the outbox per destination.

    Exit 0 when the daemon runs and no post has failed; 1 when it does not run or posts failed
    (for monitoring); 2 on a configuration error.
    """
    from masbot.daemon import running_pid, store_path
    from masbot.store import Store
    config = _load(args.config)
    if config is None:
        return USAGE
    try:
        pid = running_pid(config)
        if store_path(config).exists():
            with open(store_path(config), "rb"):
                pass
    except PermissionError:
        print(f"masbot: cannot read {config.data_dir}: permission denied; run status as the user "
              "masbot runs as (e.g. runuser -u masbot -- masbot status -c CONFIG)",
              file=sys.stderr)
        return USAGE
    alive = pid is not None
    print(f"daemon: running (pid {pid})" if alive and pid and pid > 0 else
          "daemon: running" if alive else "daemon: not running")
    if not store_path(config).exists():  # say so rather than create an empty store
        print(f"store: {store_path(config)} does not exist yet: masbot has not run with this "
              "configuration")
        return NEGATIVE
    import sqlite3
    from masbot import runtime
    try:  # read-only: works on a full disk and never checkpoints
        store = Store.open_read_only(store_path(config))
    except sqlite3.Error as exc:
        print(f"store: {store_path(config)} cannot be read: {exc}")
        return NEGATIVE
    try:
        if not store.has_tables():
            print(f"store: {store_path(config)} is empty: the daemon is creating it")
            return NEGATIVE
        print(f"store: {store_path(config)}" + (" (read without its WAL, which cannot be "
                                                 "opened: the latest changes may be missing)"
                                                 if store.without_wal else ""))
        live = runtime.StateFile.read(runtime.state_path(config.data_dir))
        if live is not None and not live.get("stopped"):
            gone = "" if runtime.alive(int(str(live.get("pid", 0)))) else \
                ", a process that is gone"
            print(f"store writes: {live.get('store')} (reported "
                  f"{_ago(int(str(live.get('at', 0))))} ago by pid {live.get('pid')}{gone})")
            if live.get("unrecorded"):
                print(f"deliveries accepted but not yet recorded: {live.get('unrecorded')}")
            if live.get("signing") == "gpg":
                print("signing: through gpg, a process per signature (gpg-agent is not used: "
                      "see the log's 'signing:' lines)")
            elif live.get("signing"):
                print(f"signing: through {live.get('signing')}")
        states = store.states()
        for key, (value, at) in sorted(states.items()):
            if key in ("daemon", "restart-settings", "store-probe"):
                continue
            if alive:
                print(f"{key}: {value} (since {_ago(at)})")
            else:  # what a dead daemon last said is history, not the present
                print(f"{key}: {value} (last reported {_ago(at)} ago, before the daemon stopped)")
        rows = store.queue_summary()
        delivered = store.delivered_counts()
        if not rows:
            print("outbox: empty")
        for destination, pending, oldest, failed, error in rows:
            age = f", oldest {_ago(oldest)}" if oldest else ""
            print(f"{destination}: {pending} pending{age}, {failed} failed"
                  + (f"; last error: {error}" if error else ""))
            print(f"  delivered: {delivered.get(destination, 0)}")
        failures = store.failed_items()
        for item in failures:
            print(f"failed #{item.id}: post {item.post_id} to {item.destination} after "
                  f"{item.attempts} attempt(s): {item.last_error}")
        if failures:
            print(f"{len(failures)} failed: 'masbot retry -c CONFIG --all' sends them again, "
                  "'masbot drop -c CONFIG ID…' gives them up")
        print(f"answers waiting to be sent: {store.answer_count()} (each is deleted once sent)")
        folder = config.imap.quarantine if config.imap else "the quarantine folder"
        print(f"quarantined: {store.quarantined_count()} message(s) moved to {folder} after "
              "failing 3 times")
    except sqlite3.Error as exc:
        print(f"store: {store_path(config)} cannot be read: {exc}")
        return NEGATIVE
    finally:
        store.close()
    return OK if alive and not failures else NEGATIVE


def _nudge(pid: int | None) -> str:
    """Ask the running daemon to look at its outbox now; say what will happen."""
    if pid is None:
        return "; masbot is not running: they are sent when it starts"
    try:
        if pid > 0:
            os.kill(pid, signal.SIGUSR1)
            return f"; the running daemon (pid {pid}) sends them now"
    except OSError:
        pass
    return "; the running daemon sends them within a minute"


def cmd_outbox(args: argparse.Namespace) -> int:
    """``masbot retry`` / ``masbot drop``: failed deliveries back into the queue, or gone."""
    from masbot.daemon import running_pid, store_path
    from masbot.store import Store
    config = _load(args.config)
    if config is None:
        return USAGE
    if bool(args.ids) == bool(args.all):
        print(f"masbot: give the numbers of failed deliveries (from 'masbot status'), or --all",
              file=sys.stderr)
        return USAGE
    if not store_path(config).exists():
        print(f"masbot: {store_path(config)} does not exist yet: nothing has failed",
              file=sys.stderr)
        return USAGE
    store = Store(store_path(config))
    try:
        known = {item.id for item in store.failed_items()}
        missing = [i for i in args.ids if i not in known]
        for number in missing:
            print(f"masbot: #{number} is not a failed delivery ('masbot status' lists them)",
                  file=sys.stderr)
        wanted = None if args.all else [i for i in args.ids if i in known]
        if args.command == "retry":
            count = store.retry_failed(wanted)
            print(f"{count} delivery(ies) queued again" + (_nudge(running_pid(config))
                                                            if count else ""))
        else:
            count = store.drop_failed(wanted)
            print(f"{count} failed delivery(ies) dropped")
    finally:
        store.close()
    return NEGATIVE if missing else OK


def cmd_publish(args: argparse.Namespace) -> int:
    """Rebuild the public site and feed from the store; the same store gives the same bytes."""
    from masbot.daemon import store_path
    from masbot.publish.site import Site, SiteSettings
    from masbot.signing.signer import Signer, SignerError
    from masbot.store import Store
    config = _load(args.config)
    if config is None:
        return USAGE
    if not store_path(config).exists():
        print(f"masbot: {store_path(config)} does not exist yet: nothing to publish",
              file=sys.stderr)
        return USAGE
    try:
        signer = Signer(config.society.gnupghome, config.society.key)
        settings = SiteSettings.of(config, signer.fingerprint, signer.export_public())
    except SignerError as exc:
        print(f"masbot: {exc}", file=sys.stderr)
        return USAGE
    store = Store(store_path(config))
    try:
        written = Site(settings, store).rebuild()
    except OSError as exc:
        print(f"masbot: cannot write the site under {settings.dir}: {exc.strerror}",
              file=sys.stderr)
        return USAGE
    finally:
        store.close()
    print(f"site: {settings.dir} ({len(written)} files changed); open "
          f"{settings.dir / 'index.html'}")
    return OK


def cmd_audit(args: argparse.Namespace) -> int:
    from masbot.audit import scan
    from masbot.daemon import public_addresses
    config = _load(args.config)
    if config is None:
        return USAGE
    roots = [config.data_dir] + ([config.log.file] if config.log.file else [])
    findings = scan([r for r in roots if r.exists()], public_addresses(config))
    for f in findings:
        print(f"{f.path}:{f.offset}: address {f.masked}")
    print(f"audit: {len(findings)} address(es) found outside the configured public ones "
          f"in {', '.join(str(r) for r in roots)}")
    if config.imap is not None and config.imap.after == "move" and config.imap.move_to:
        from masbot.config.connect import folder_count
        count, why = folder_count(config.imap, config.imap.move_to)
        held = f"{count} message(s)" if count is not None else f"an unknown number ({why})"
        print(f"audit: imap.after is move: {held} kept whole, with their senders' addresses, "
              f"in the folder {config.imap.move_to!r} on {config.imap.host}; delete them as "
              "your retention allows, or set after: delete")
    return NEGATIVE if findings else OK


def parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(
        prog="masbot", description="masbot runs the mail inbox of a mutual aid society.",
        epilog="Exit codes: 0 success, 1 a negative answer (invalid, not verified, failed "
               "posts), 2 a usage or configuration error. 'masbot COMMAND --help' tells more; "
               "config.example.yaml documents every setting.")
    p.add_argument("--version", action="version", version=f"masbot {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_: str, config: str | None = "required"):
        sp = sub.add_parser(name, help=help_, description=help_)
        if config == "required":
            sp.add_argument("-c", "--config", required=True, help="the YAML configuration")
        elif config == "optional":
            sp.add_argument("-c", "--config", help="a YAML configuration (for its templates)")
        sp.set_defaults(func=func)
        return sp

    add("run", cmd_run, "run the daemon until SIGTERM; SIGHUP reloads the configuration")
    add("demo", cmd_demo, "a complete run with no outside servers", None).add_argument(
        "--out", required=True, help="an empty or new directory for the results")
    add("check-config", cmd_check_config, "check a configuration; exit 2 with FILE:LINE lines"
        ).add_argument("--connect", action="store_true",
                       help="also log in to IMAP and SMTP and load every key the config names")
    template = add("template", cmd_template, "list the templates, or print NAME's blank form",
                   "optional")
    template.add_argument("name", nargs="?")
    template.add_argument("--example", action="store_true",
                          help="print NAME's form filled in as an example instead")
    validate = add("validate", cmd_validate,
                   "validate a request mail or form (FILE, or - for stdin)", "optional")
    validate.add_argument("file")
    for sp in (template, validate):
        sp.add_argument("--lang", type=_language_tag, metavar="CODE",
                        help="the language to answer in unless the form is written in another "
                             "(en, es, ...; default: the config's society.language, else en)")
    add("publish", cmd_publish, "rebuild the public site and Atom feed from the store")
    add("audit", cmd_audit, "scan the data directory and log for addresses that must not be there")
    add("status", cmd_status, "whether the daemon runs, its state, and per destination: "
        "delivered, pending, failed; exit 1 when it does not run or a post failed")
    for name, what in (("retry", "queue failed deliveries again"),
                       ("drop", "give up failed deliveries for good")):
        sp = add(name, cmd_outbox, f"{what} (numbers as 'masbot status' shows them)")
        sp.add_argument("ids", nargs="*", type=int, metavar="ID")
        sp.add_argument("--all", action="store_true", help="every failed delivery")
    keys = add("keys", cmd_keys, "the society's OpenPGP key: init (create it, write "
               "society.key), export, fingerprint; add-partner FILE --name NAME (pin a "
               "partner's key)")
    keys.add_argument("action", choices=["init", "export", "fingerprint", "add-partner"])
    keys.add_argument("file", nargs="?", help="add-partner: the partner's armored public key")
    keys.add_argument("--name", help="add-partner: the partner's name in the config")
    keys.add_argument("--yes", action="store_true",
                      help="add-partner: pin without asking (for scripts)")
    verify_p = add("verify", cmd_verify, "verify a post (.eml) or a pasted clearsigned appeal: "
                   "exit 0 only when all of it is signed by a key in the keyring", None)
    verify_p.add_argument("--keyring", metavar="KEYS.asc", help="trust the keys in this file")
    verify_p.add_argument("-c", "--config", help="trust the society's own and pinned partner "
                          "keys (the default keyring)")
    verify_p.add_argument("file", help="the post or text to verify (- for stdin)")
    add("held", cmd_held, "list the appeal revisions that wait for a moderator")
    for verb, what in (("approve", "release a held appeal to the local list and partners"),
                       ("reject", "reject a held appeal")):
        decide = add(verb, cmd_decide, what + " (the operator's shell access is the authority)")
        decide.add_argument("appeal_id", metavar="APPEAL-ID")
        decide.add_argument("--revision", type=int,
                            help="the revision (default: the newest held one)")
    rules = sub.add_parser("rules", help="relay rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    explain = rules_sub.add_parser(
        "explain", help="the plan the daemon would make for a message: every step, the rule "
                        "that decided, the destinations and the effects; sends nothing")
    explain.add_argument("-c", "--config", required=True)
    explain.add_argument("file", nargs="?", help="the message (- for stdin)")
    explain.add_argument("--routes", action="store_true",
                         help="print every route and its steps instead")
    explain.add_argument("--without-store", action="store_true",
                         help="as if the store were empty: nothing seen, held or numbered yet")
    explain.set_defaults(func=cmd_rules_explain)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader stopped reading (`masbot verify … | head`): leave quietly, as `cat` does,
        # and point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
