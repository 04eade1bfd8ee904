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
    from masbot.config.settings import check_config
    problems = check_config(args.config)
    if not problems:
        from masbot.config.settings import load_config
        from masbot.daemon import inbound_problem
        from masbot.signing.signer import Signer, SignerError
        config = load_config(args.config)
        if problem := inbound_problem(config):
            print(problem, file=sys.stderr)
            return USAGE
        if config.templates_dir is not None:
            from masbot.story.templates import check_directory
            template_problems = check_directory(config.templates_dir)
            for p in template_problems:
                print(p, file=sys.stderr)
            if template_problems:
                return USAGE
        try:
            Signer(config.society.gnupghome, config.society.key)
        except SignerError as exc:
            print(f"{args.config}: society key: {exc}", file=sys.stderr)
            return USAGE
        print(f"{args.config}: ok")
        return OK
    for problem in problems:
        print(problem, file=sys.stderr)
    return USAGE


def cmd_run(args: argparse.Namespace) -> int:
    from masbot.config.settings import ConfigError
    from masbot.daemon import Daemon
    from masbot.signing.signer import SignerError
    try:
        return asyncio.run(Daemon(Path(args.config)).run())
    except ConfigError as exc:
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


def cmd_template(args: argparse.Namespace) -> int:
    from masbot.story import answers
    from masbot.story import templates as forms
    catalogue, _ = _catalogue(args)
    if catalogue is None:
        return USAGE
    if not args.name:
        print(answers.help_text(catalogue, "The society"), end="")
        return OK
    tpl = catalogue.template(args.name)
    if tpl is None:
        print(f"masbot: no template '{args.name}'; known: {', '.join(catalogue.names())}",
              file=sys.stderr)
        return USAGE
    print(forms.blank_form(tpl), end="")
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


def _verdict(raw: bytes, catalogue, society: str):
    """Run the pipeline on a mail, or on a bare form (a file that starts with no mail header)."""
    from masbot.intake import message as intake
    from masbot.intake import classify as pipeline
    if not _MAIL_HEADER.match(raw.lstrip()):
        raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + raw
    msg = intake.read(raw)
    now = datetime.now(timezone.utc)
    return msg, pipeline.run(msg, pipeline.Context(catalogue, society, now)), now


def cmd_validate(args: argparse.Namespace) -> int:
    from masbot.appeal import canonical as appeal
    catalogue, config = _catalogue(args)
    if catalogue is None:
        return USAGE
    raw = _read_input(args.file)
    if raw is None:
        return USAGE
    society = config.society if config else None
    _, verdict, now = _verdict(raw, catalogue, society.name if society else "The society")
    if verdict.kind != "request":
        print(verdict.answer_body or f"not a request: {verdict.reason}", end="")
        return NEGATIVE
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
    from masbot.relay import rules
    catalogue, config = _catalogue(args)
    if config is None:
        return USAGE
    raw = _read_input(args.file)
    if raw is None:
        return USAGE
    _, verdict, _ = _verdict(raw, catalogue, config.society.name)
    print(f"pipeline: {' > '.join(verdict.trace)} -> {verdict.kind} ({verdict.reason})")
    if verdict.kind == "partner-post" or b"masbot-relay: 1" in raw.lower():
        return _explain_partner_post(raw, config)
    if verdict.kind != "request":
        print("not an appeal: nothing would be relayed")
        return NEGATIVE
    values = verdict.validation.values
    facts = rules.Facts(origin="local", template=str(values["Template"]),
                        tags=tuple(values.get("Tags", ())),
                        language=str(values.get("Language", config.society.language)),
                        location=str(values.get("Location", "")), kind="new")
    return _print_decision(rules.decide(config, facts))


def _explain_partner_post(raw: bytes, config) -> int:
    """Verify a partner's post as the daemon would, then show the rules' decision."""
    from masbot.post import verify
    from masbot.signing.keyring import from_config
    from masbot.relay import loops, rules
    with from_config(config) as keyring:
        result = verify.check_partner_post(raw, config.partners, keyring)
    if isinstance(result, verify.Refused):
        print(f"refused: {result}; nothing would be relayed")
        return NEGATIVE
    check = result.post
    fields = loops.head(check.appeal_text)
    print(f"verified: from partner {result.partner.name}, origin {check.record.origin_name} "
          f"({check.origin}), {check.record.appeal_id} revision {check.record.revision}")
    return _print_decision(rules.off_path(config, rules.decide(config, rules.Facts.of_appeal(
        fields, result.partner.name, check.record.revision)), check.record.path))


def _print_decision(decision) -> int:
    for line in decision.trace:
        print(f"  {line}")
    print(f"action: {decision.action} (decided by {decision.rule})")
    for destination in decision.destinations:
        print(f"  -> {destination}")
    return OK


def cmd_keys(args: argparse.Namespace) -> int:
    from masbot.signing.signer import Signer, SignerError, init_key
    config = _load(args.config)
    if config is None:
        return USAGE
    if args.action == "add-partner":
        return cmd_keys_add_partner(args, config)
    soc = config.society
    passphrase = (soc.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
                  if soc.passphrase_file else None)
    try:
        if args.action == "init":
            fpr = init_key(soc.gnupghome, soc.name, soc.address, passphrase)
            print(fpr)
            print(f"set society.key: {fpr} in {args.config} and give partners "
                  "'masbot keys export' to pin", file=sys.stderr)
            return OK
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


def cmd_keys_add_partner(args: argparse.Namespace, config) -> int:
    """Pin a partner's key: show it, copy it next to the config, set fingerprint/key_file."""
    import os
    import re
    import time
    from masbot.config.settings import RESERVED_NAMES, check_config
    from masbot.signing.keyring import EXPIRY_WARNING_DAYS, Keyring, KeyringError
    from masbot.signing.pinning import partner_snippet, pin_partner
    name = args.name or ""
    if not args.file or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", name) \
            or name in RESERVED_NAMES:
        print("masbot: usage: masbot keys add-partner FILE --name NAME -c CONFIG (NAME: the "
              "partner's name in the config, lower-case letters, digits and hyphens)",
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
    relative = f"partner-keys/{name}.asc"
    target = config.path.parent / relative
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(exported)
    print(f"key copied to {target}")
    old = config.path.read_text(encoding="utf-8")
    try:
        new = pin_partner(old, name, fpr, relative)
    except ValueError as exc:
        print(f"masbot: {config.path}: {exc}", file=sys.stderr)
        return USAGE
    if new is None:
        print(f"partner {name} is not in {config.path}; add it (with its list address):\n")
        print(partner_snippet(name, fpr, relative), end="")
        return NEGATIVE
    scratch = config.path.with_name(f".{config.path.name}.{os.getpid()}.tmp")
    scratch.write_text(new, encoding="utf-8")
    os.replace(scratch, config.path)
    if problems := check_config(config.path):
        config.path.write_text(old, encoding="utf-8")
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"masbot: {config.path} left unchanged", file=sys.stderr)
        return USAGE
    print(f"pinned partner {name}: fingerprint {fpr}, key_file {relative} in {config.path}")
    return OK


def cmd_status(args: argparse.Namespace) -> int:
    import time
    from masbot.daemon import store_path
    from masbot.store import Store
    config = _load(args.config)
    if config is None:
        return USAGE
    if not store_path(config).exists():  # say so rather than create an empty store
        print(f"store: {store_path(config)} does not exist yet: masbot has not run with this "
              "configuration")
        return OK
    import sqlite3
    from masbot import runtime
    try:  # read-only: works on a full disk and never checkpoints
        store = Store.open_read_only(store_path(config))
        rows = store.queue_summary()
        states = store.states()
        quarantined = store.quarantined_count()
    except sqlite3.Error as exc:
        print(f"store: {store_path(config)} cannot be read: {exc}")
        return NEGATIVE
    print(f"store: {store_path(config)}" + (" (read without its WAL, which cannot be opened: "
                                             "the latest changes may be missing)"
                                             if store.without_wal else ""))
    live = runtime.StateFile.read(runtime.state_path(config.data_dir))
    if live is not None and not live.get("stopped"):
        ago = int(time.time() - int(str(live.get("at", 0))))
        gone = "" if runtime.alive(int(str(live.get("pid", 0)))) else ", a process that is gone"
        print(f"store writes: {live.get('store')} (reported {ago} s ago by pid "
              f"{live.get('pid')}{gone})")
        if live.get("unrecorded"):
            print(f"deliveries accepted but not yet recorded: {live.get('unrecorded')}")
    for key, (value, at) in sorted(states.items()):
        if key != "store-probe":
            print(f"{key}: {value} (since {int(time.time() - at)} s)")
    if not rows:
        print("outbox: empty")
    for destination, pending, oldest, failed, error in rows:
        age = f", oldest {int(time.time() - oldest)} s" if oldest else ""
        print(f"{destination}: {pending} pending{age}, {failed} failed"
              + (f"; last error: {error}" if error else ""))
    folder = config.imap.quarantine if config.imap else "the quarantine folder"
    print(f"quarantined: {quarantined} message(s) moved to {folder} after failing 3 times")
    store.close()
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
    return NEGATIVE if findings else OK


def parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="masbot", description=__doc__.split("\n")[0])
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
    add("check-config", cmd_check_config, "check a configuration; exit 2 with FILE:LINE lines")
    add("template", cmd_template, "list the templates, or print NAME's blank form",
        "optional").add_argument("name", nargs="?")
    add("validate", cmd_validate, "validate a request mail or form (FILE, or - for stdin)",
        "optional").add_argument("file")
    add("audit", cmd_audit, "scan the data directory and log for addresses that must not be there")
    add("status", cmd_status, "queue depth, oldest item and last error per destination")
    keys = add("keys", cmd_keys, "manage the society's OpenPGP key")
    keys.add_argument("action", choices=["init", "export", "fingerprint", "add-partner"])
    keys.add_argument("file", nargs="?", help="add-partner: the partner's armored public key")
    keys.add_argument("--name", help="add-partner: the partner's name in the config")
    verify_p = add("verify", cmd_verify, "verify a post (.eml) or a pasted clearsigned appeal: "
                   "exit 0 only when all of it is signed by a key in the keyring", None)
    verify_p.add_argument("--keyring", metavar="KEYS.asc", help="trust the keys in this file")
    verify_p.add_argument("-c", "--config", help="trust the society's own and pinned partner "
                          "keys (the default keyring)")
    verify_p.add_argument("file", help="the post or text to verify (- for stdin)")
    rules = sub.add_parser("rules", help="relay rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    explain = rules_sub.add_parser("explain", help="where a message would go, without sending")
    explain.add_argument("-c", "--config", required=True)
    explain.add_argument("file")
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
