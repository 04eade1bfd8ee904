"""Tests for masbot.config.settings: typed loading, and every problem reported at once with its line."""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masbot.config.settings import (
    CONFIG_SCHEMA, Action, Config, ConfigError, Limits, LogConfig, Problem, RuleMatch, Secret,
    check_config, is_address, load_config,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
FPR_A = "AAAA BBBB CCCC DDDD EEEE  FFFF 0000 1111 2222 3333"
FPR_B = "4444555566667777888899990000aaaabbbbcccc"

# A small valid configuration; line numbers below refer to it (line 1 is "society:"). smtp comes
# last, so indented lines appended to it extend the smtp section.
BASE = """\
society:
  name: Anytown Mutual Aid
  id: ANYTOWN
  address: help@anytown.example
  gnupghome: gnupg
data_dir: data
local_list: members@anytown.example
smtp:
  host: smtp.anytown.example
"""


@pytest.fixture
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write config text to tmp/config.yaml (with gnupg/ present); return check_config's lines."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gnupg").mkdir()

    def check(text: str, environ: dict[str, str] | None = None) -> list[str]:
        Path("config.yaml").write_text(textwrap.dedent(text))
        return [str(p) for p in check_config("config.yaml", environ or {})]
    return check


def test_minimal_config_gets_defaults(at, tmp_path: Path) -> None:
    assert at(BASE) == []
    config = load_config(tmp_path / "config.yaml", {})
    assert isinstance(config, Config)
    assert config.path == tmp_path / "config.yaml"
    assert config.society.gnupghome == tmp_path / "gnupg"
    assert (config.society.language, config.society.appeal_days, config.society.key) == ("en", 30, None)
    assert config.imap is None and config.listener is None
    assert (config.smtp.port, config.smtp.security, config.smtp.username, config.smtp.password) == (
        587, "starttls", None, None)
    assert config.smtp.timeout == 30.0
    assert config.data_dir == tmp_path / "data"
    assert config.moderators == () and config.partners == () and config.rules == ()
    assert config.default == Action("relay", ("local", "partners"))
    assert config.log == LogConfig() and config.limits == Limits()
    assert config.templates_dir is None
    assert config.destinations(["local", "partners"]) == ("members@anytown.example",)


FULL = BASE + f"""\
imap:
  host: localhost
  tls: none
  username: bot
  password_env: IMAP_PW
  after: move
  move_to: Done
  idle: false
  poll_seconds: 2.5
  backoff_initial: 2
listener:
  port: 8024
  lmtp: true
moderators: [mod@anytown.example]
partners:
  - name: riverside
    addresses: [master@riverside.example, other@riverside.example]
    fingerprint: "{FPR_A}"
  - name: valle
    address: lista@valle.example
    fingerprint: {FPR_B}
    direction: send
    key_file: keys/valle.asc
  - name: hill
    address: hill@hill.example
    fingerprint: {"1" * 40}
    direction: receive
rules:
  - match: {{origin: hill, template: bail, tags: [a, b], kind: new}}
    action: relay
    to: riverside
  - name: hold others
    match: {{language: es}}
    action: hold
default: {{action: drop}}
log: {{level: debug, format: json, file: logs/masbot.log}}
templates_dir: ~/
limits: {{max_mime_depth: 3}}
"""


def test_full_config_typed_values(at, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "valle.asc").write_text("key")
    (tmp_path / "logs").mkdir()
    assert at(FULL, {"IMAP_PW": "s3cret"}) == []
    config = load_config("config.yaml", {"IMAP_PW": "s3cret"})
    imap = config.imap
    assert imap is not None
    assert (imap.port, imap.tls, imap.after, imap.move_to, imap.idle) == (143, "none", "move", "Done", False)
    assert (imap.poll_seconds, imap.backoff_initial, imap.idle_seconds) == (2.5, 2.0, 540.0)
    assert isinstance(imap.poll_seconds, float) and isinstance(imap.backoff_initial, float)
    assert imap.password == Secret(env="IMAP_PW")
    assert imap.password.read({"IMAP_PW": "s3cret"}) == "s3cret"
    assert config.listener is not None
    assert (config.listener.host, config.listener.port, config.listener.lmtp) == ("127.0.0.1", 8024, True)
    riverside, valle, hill = config.partners
    assert riverside.fingerprint == "AAAABBBBCCCCDDDDEEEEFFFF0000111122223333"
    assert riverside.direction == "both" and riverside.key_file is None
    assert valle.fingerprint == FPR_B.upper() and valle.addresses == ("lista@valle.example",)
    assert valle.key_file == tmp_path / "keys" / "valle.asc"
    assert config.partner("valle") is valle and config.partner("nobody") is None
    first, second = config.rules
    assert first.name == "rule 1" and second.name == "hold others"
    assert first.line == FULL.splitlines().index("  - match: {origin: hill, template: bail, "
                                                 "tags: [a, b], kind: new}") + 1
    assert first.match == RuleMatch(origin="hill", template=("bail",), tags=("a", "b"), kind="new")
    assert first.action == Action("relay", ("riverside",))
    assert second.match.language == ("es",) and second.action == Action("hold")
    assert config.default == Action("drop", ())
    assert config.log == LogConfig("debug", "json", tmp_path / "logs" / "masbot.log")
    assert config.templates_dir == tmp_path
    assert config.limits == Limits(max_mime_depth=3)
    assert config.moderators == ("mod@anytown.example",)


def test_destinations_expand_and_deduplicate(at) -> None:
    (Path("keys")).mkdir()
    Path("keys/valle.asc").write_text("key")
    Path("logs").mkdir()
    config = load_config("config.yaml", {"IMAP_PW": "x"}) if at(FULL, {"IMAP_PW": "x"}) == [] else None
    assert config is not None
    # partners: every address of partners we send to (riverside: both, valle: send; not hill)
    assert config.destinations(["partners"]) == (
        "master@riverside.example", "other@riverside.example", "lista@valle.example")
    assert config.destinations(["valle", "local", "partners", "local", "hill"]) == (
        "lista@valle.example", "members@anytown.example", "master@riverside.example",
        "other@riverside.example", "hill@hill.example")
    assert config.destinations(["moderators"]) == ("mod@anytown.example",)
    assert config.destinations([]) == ()
    with pytest.raises(KeyError):
        config.destinations(["nowhere"])


def test_secret_file_strips_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("correct horse\n")
    assert Secret(file=tmp_path / "pw").read() == "correct horse"
    with pytest.raises(KeyError):
        Secret(env="MASBOT_SURELY_UNSET").read({})


def test_many_problems_reported_at_once(at, tmp_path: Path) -> None:
    text = f"""\
    society:
      name: Anytown
      id: anytown
      address: Help Desk <help@anytown.example>
      gnupghome: nowhere
      appeal_days: "30"
    imap:
      host: imap.example
      tls: none
      username: bot
      password: hunter2
      idel: true
    smtp:
      host: smtp.example
      security: tls
      username: bot
      password_file: secrets/smtp
      password_env: SMTP_PW
    data_dir: data
    local_list: members@anytown.example
    partners:
      - name: riverside
        address: master@riverside.example
        fingerprint: ABCD
      - name: riverside
        address: other@riverside.example
        fingerprint: "{FPR_A}"
    rules:
      - match: {{origin: rivrside}}
        action: relay
        to: [local, valle]
    default:
      action: hold
      to: local
    limits:
      max_mime_parts: true
    """
    tmp = tmp_path
    assert at(text) == [
        "config.yaml:3: society.id: 'anytown' is not a society id (2 to 16 upper-case letters "
        "or digits, e.g. ANYTOWN)",
        "config.yaml:4: society.address: 'Help Desk <help@anytown.example>' is not a valid "
        "address (expected a plain local@domain)",
        f"config.yaml:5: society.gnupghome: directory {tmp}/nowhere does not exist",
        "config.yaml:6: society.appeal_days: expected an integer, found a string ('30')",
        "config.yaml:9: imap.tls: none is only allowed for a loopback host (localhost, "
        "127.0.0.0/8, ::1), not 'imap.example'",
        "config.yaml:11: imap.password: passwords are never written in the config: use "
        "password_file or password_env",
        "config.yaml:12: unknown key 'idel' in imap (did you mean 'idle'?)",
        "config.yaml:15: smtp.security: 'tls' is not one of: starttls, implicit, none",
        f"config.yaml:17: smtp.password_file: cannot read file {tmp}/secrets/smtp: "
        "No such file or directory",
        "config.yaml:18: smtp.password_env: environment variable SMTP_PW is not set",
        "config.yaml:24: partners[1].fingerprint: 'ABCD' is not an OpenPGP fingerprint "
        "(40 hex digits)",
        "config.yaml:25: partners[2].name: duplicate partner name 'riverside' (first defined "
        "on line 22)",
        "config.yaml:29: rules[1].match.origin: unknown partner 'rivrside' (expected local, "
        "partner, any or a partner name; partners: riverside)",
        "config.yaml:31: rules[1].to[2]: unknown target 'valle' (expected local, partners or a "
        "partner name; partners: riverside)",
        "config.yaml:34: default.to: is only used with action relay, not hold",
        "config.yaml:36: limits.max_mime_parts: expected an integer, found a boolean ('true')",
    ]


# Each problem class alone: (what is added to or changed in BASE, expected problem lines).
CASES = {
    "unknown top-level key": (BASE + "smpt: {}\n",
                              ["config.yaml:10: unknown key 'smpt' at the top level (did you "
                               "mean 'smtp'?)"]),
    "unknown key, no close match": (BASE + "log:\n  colour: red\n",
                                    ["config.yaml:11: unknown key 'colour' in log (known keys: "
                                     "level, format, file)"]),
    "unknown key in a rule's match": (BASE + "rules:\n  - match: {temlate: bail}\n    action: drop\n",
                                      ["config.yaml:11: unknown key 'temlate' in rules[1].match "
                                       "(did you mean 'template'?)"]),
    "string for a number": (BASE + "limits:\n  max_message_bytes: lots\n",
                            ["config.yaml:11: limits.max_message_bytes: expected an integer, "
                             "found a string ('lots')"]),
    "number for a string": (BASE.replace("id: ANYTOWN", "id: 2024"),
                            ["config.yaml:3: society.id: expected a society id, found an integer "
                             "('2024'); put it in quotes"]),
    "boolean must be a real boolean": (
        BASE + "listener:\n  port: 25\n  lmtp: 'yes'\n",
        ["config.yaml:12: listener.lmtp: expected a boolean (true or false), found a string ('yes')"]),
    "integer must not be a boolean": (BASE + "listener:\n  port: true\n",
                                      ["config.yaml:11: listener.port: expected an integer, found "
                                       "a boolean ('true')"]),
    "out of range": (BASE + "listener: {port: 70000}\n",
                     ["config.yaml:10: listener.port: 70000 is out of range: must be between 1 "
                      "and 65535"]),
    "list where a mapping belongs": (BASE + "log: [debug]\n",
                                     ["config.yaml:10: log: expected a mapping (key: value lines), "
                                      "found a list"]),
    "missing required keys": ("society:\n  name: X\n  id: XX\n  gnupghome: gnupg\n"
                              "data_dir: data\nlocal_list: a@b.example\n",
                              ["config.yaml:1: society: missing required key 'address'",
                               "config.yaml:1: missing required key 'smtp'"]),
    "missing required key in a list item": (
        BASE + f"partners:\n  - name: r\n    fingerprint: {'A' * 40}\n",
        ["config.yaml:11: partners[1]: missing required key 'addresses' (or 'address')"]),
    "required key without value": (BASE.replace("  host: smtp.anytown.example", "  host:"),
                                   ["config.yaml:9: smtp: no value given for 'host'"]),
    "bad enum value": (BASE + "log: {level: verbose}\n",
                       ["config.yaml:10: log.level: 'verbose' is not one of: debug, info, "
                        "warning, error"]),
    "enum suggestion": (BASE + "default: {action: hodl}\n",
                        ["config.yaml:10: default.action: 'hodl' is not one of: relay, hold, "
                         "drop (did you mean 'hold'?)"]),
    "address with whitespace": (BASE.replace("members@anytown.example", "'mem bers@anytown.example'"),
                                ["config.yaml:7: local_list: 'mem bers@anytown.example' is not a "
                                 "valid address (expected a plain local@domain)"]),
    "moderators with a comma": (BASE + "moderators: ['a@x.example, b@x.example']\n",
                                ["config.yaml:10: moderators[1]: 'a@x.example, b@x.example' is not "
                                 "a valid address (expected a plain local@domain)"]),
    "bad fingerprint": (BASE.replace("  gnupghome: gnupg\n", "  gnupghome: gnupg\n  key: 1234 ZZZZ\n"),
                        ["config.yaml:6: society.key: '1234 ZZZZ' is not an OpenPGP fingerprint "
                         "(40 hex digits)"]),
    "rule names an unknown target": (
        BASE + "rules:\n  - action: relay\n    to: [local, rivers]\n",
        ["config.yaml:12: rules[1].to[2]: unknown target 'rivers' (expected local, partners or a "
         "partner name; partners: none are defined)"]),
    "default names an unknown target": (
        BASE + "default: {action: relay, to: everyone}\n",
        ["config.yaml:10: default.to: unknown target 'everyone' (expected local, partners or a "
         "partner name; partners: none are defined)"]),
    "rule sends to a receive-only partner": (
        BASE + f"partners:\n  - {{name: hill, address: h@hill.example, fingerprint: {'A' * 40}, "
               "direction: receive}\nrules:\n  - {action: relay, to: hill}\n",
        ["config.yaml:13: rules[1].to: partner 'hill' has direction receive: nothing is ever "
         "sent to it"]),
    "rule matches origin on an unknown partner": (
        BASE + "rules:\n  - match: {origin: hill}\n    action: drop\n",
        ["config.yaml:11: rules[1].match.origin: unknown partner 'hill' (expected local, partner, "
         "any or a partner name; partners: none are defined)"]),
    "relay without targets": (BASE + "rules:\n  - action: relay\n",
                              ["config.yaml:11: rules[1]: missing required key 'to' (relay "
                               "needs at least one target)"]),
    "duplicate partner names": (
        BASE + f"partners:\n  - {{name: r, address: a@r.example, fingerprint: {'A' * 40}}}\n"
               f"  - {{name: r, address: b@r.example, fingerprint: {'B' * 40}}}\n",
        ["config.yaml:12: partners[2].name: duplicate partner name 'r' (first defined on line 11)"]),
    "reserved partner name": (
        BASE + f"partners:\n  - {{name: local, address: a@r.example, fingerprint: {'A' * 40}}}\n",
        ["config.yaml:11: partners[1].name: 'local' is reserved and cannot name a partner"]),
    "both address and addresses": (
        BASE + f"partners:\n  - name: r\n    address: a@r.example\n    addresses: [b@r.example]\n"
               f"    fingerprint: {'A' * 40}\n",
        ["config.yaml:13: partners[1]: give either address or addresses, not both"]),
    "unreadable passphrase_file": (
        BASE.replace("  gnupghome: gnupg\n", "  gnupghome: gnupg\n  passphrase_file: pp\n"),
        ["config.yaml:6: society.passphrase_file: cannot read file {tmp}/pp: No such file or directory"]),
    "cafile is a directory": (BASE + "  cafile: gnupg\n",
                              ["config.yaml:10: smtp.cafile: {tmp}/gnupg is a directory, not a file"]),
    "gnupghome is a file": (BASE.replace("gnupghome: gnupg", "gnupghome: config.yaml"),
                            ["config.yaml:5: society.gnupghome: {tmp}/config.yaml is not a directory"]),
    "data_dir parent missing": (BASE.replace("data_dir: data", "data_dir: no/such/data"),
                                ["config.yaml:6: data_dir: parent directory {tmp}/no/such does "
                                 "not exist"]),
    "unreadable key_file": (
        BASE + f"partners:\n  - {{name: r, address: a@r.example, fingerprint: {'A' * 40}, "
               "key_file: r.asc}\n",
        ["config.yaml:11: partners[1].key_file: cannot read file {tmp}/r.asc: No such file or "
         "directory"]),
    "inline password": (BASE + "  username: bot\n  password: xyz\n",
                        ["config.yaml:11: smtp.password: passwords are never written in the "
                         "config: use password_file or password_env"]),
    "password_env not set": (BASE + "  username: bot\n  password_env: NOPE\n",
                             ["config.yaml:11: smtp.password_env: environment variable NOPE is not set"]),
    "both password_file and password_env": (
        BASE + "  username: bot\n  password_file: config.yaml\n  password_env: PW\n",
        ["config.yaml:12: smtp: give either password_file or password_env, not both"]),
    "username without password": (BASE + "  username: bot\n",
                                  ["config.yaml:8: smtp: missing required key 'password_file' "
                                   "(or 'password_env')"]),
    "imap tls none on a public host": (
        BASE + "imap: {host: 192.0.2.1, tls: none, username: u, password_env: PW}\n",
        ["config.yaml:10: imap.tls: none is only allowed for a loopback host (localhost, "
         "127.0.0.0/8, ::1), not '192.0.2.1'"]),
    "move without move_to": (
        BASE + "imap:\n  host: h\n  username: u\n  password_env: PW\n  after: move\n",
        ["config.yaml:14: imap: missing required key 'move_to' (needed when after is move)"]),
    "rule matches origin on a send-only partner": (
        BASE + f"partners:\n  - {{name: valle, address: v@valle.example, fingerprint: {'A' * 40}, "
               "direction: send}\nrules:\n  - {match: {origin: valle}, action: drop}\n",
        ["config.yaml:13: rules[1].match.origin: partner 'valle' has direction send: no post is "
         "accepted from it"]),
    "move_to without move": (
        BASE + "imap: {host: h, username: u, password_env: PW, move_to: Done}\n",
        ["config.yaml:10: imap.move_to: is only used when after is move"]),
    "backoff_max below backoff_initial": (
        BASE + "imap: {host: h, username: u, password_env: PW, backoff_initial: 10, "
               "backoff_max: 5}\n",
        ["config.yaml:10: imap.backoff_max: must not be smaller than backoff_initial"]),
    "idle_seconds too long": (
        BASE + "imap: {host: h, username: u, password_env: PW, idle_seconds: 3600}\n",
        ["config.yaml:10: imap.idle_seconds: 3600 is out of range: must be at most 1740"]),
    "zero seconds": (
        BASE + "imap: {host: h, username: u, password_env: PW, timeout: 0}\n",
        ["config.yaml:10: imap.timeout: must be greater than 0"]),
    "smtp password without username": (
        BASE + "  password_env: PW\n",
        ["config.yaml:10: smtp: a password is given but no username"]),
    "smtp password in clear": (
        BASE + "  security: none\n  username: u\n  password_env: PW\n",
        ["config.yaml:10: smtp.security: none would send the password in clear to a "
         "non-loopback host; use starttls or implicit"]),
    "listener without port": (BASE + "listener: {lmtp: true}\n",
                              ["config.yaml:10: listener: missing required key 'port'"]),
    "empty partner list of addresses": (
        BASE + f"partners:\n  - {{name: r, addresses: [], fingerprint: {'A' * 40}}}\n",
        ["config.yaml:11: partners[1].addresses: must list at least one"]),
    "duplicate key": (BASE + "local_list: other@anytown.example\n",
                      ["config.yaml:10: duplicate key 'local_list' at the top level (first on line 7)"]),
    "control character": (BASE.replace("name: Anytown Mutual Aid", 'name: "Anytown\\nTo: x"'),
                          ["config.yaml:2: society.name: 'Anytown\\nTo: x' contains a control "
                           "character"]),
    "NUL in a path": (BASE.replace("data_dir: data", 'data_dir: "da\\0ta"'),
                      ["config.yaml:6: data_dir: 'da\\x00ta' contains a control character"]),
    "key with a newline": (BASE + '"lo\\ng": {}\n',
                           ["config.yaml:10: unknown key 'lo\\ng' at the top level (did you mean "
                            "'log'?)"]),
    "merge of a non-mapping": (BASE + "log: {<<: [1]}\n",
                               ["config.yaml:10: log: '<<' must merge a mapping, found an integer "
                                "('1')"]),
    "custom tag": (BASE + "log: {level: !loud info}\n",
                   ["config.yaml:10: log.level: expected one of: debug, info, warning, error, found a "
                    "value tagged !loud ('info')"]),
}


@pytest.mark.parametrize("name", CASES)
def test_each_problem(at, tmp_path: Path, name: str) -> None:
    text, expected = CASES[name]
    assert at(text, {"PW": "x"}) == [line.replace("{tmp}", str(tmp_path)) for line in expected]


def test_anchors_and_merge_keys_work(at) -> None:
    text = BASE + textwrap.dedent(f"""\
        partners:
          - &p {{name: a, address: a@a.example, fingerprint: {'A' * 40}}}
          - <<: *p
            name: b
        """)
    assert at(text) == []
    assert [p.name for p in load_config("config.yaml", {}).partners] == ["a", "b"]


def test_load_config_raises_with_every_problem(at) -> None:
    at(BASE + "bogus: 1\nlimits: {max_mime_depth: 0}\n")
    with pytest.raises(ConfigError) as caught:
        load_config("config.yaml", {})
    assert [p.line for p in caught.value.problems] == [10, 11]
    assert str(caught.value) == "\n".join(map(str, caught.value.problems))
    assert all(isinstance(p, Problem) for p in caught.value.problems)


# --- the shape of the file itself ----------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", "config.yaml:1: the configuration file is empty"),
    ("# only a comment\n\n", "config.yaml:1: the configuration file is empty"),
    ("~\n", "config.yaml:1: the configuration file is empty"),
    ("- society\n- smtp\n", "config.yaml:1: the configuration must be a mapping of keys "
                            "(society:, smtp:, ...), found a list"),
    ("just words\n", "config.yaml:1: the configuration must be a mapping of keys (society:, "
                     "smtp:, ...), found a string ('just words')"),
    ("society:\n  name: [unclosed\nsmtp: {}\n", "config.yaml:3: invalid YAML: a [ list opened on "
                                                "line 2 is not closed with ]"),
    ("a: 1\n b: 2\n", "config.yaml:2: invalid YAML: a ': ' where no key can start: indent this "
                      "key like those above it, or quote a value that holds ': ' (key: \"a: b\")"),
    ("a: 1\n\tb: 2\n", "config.yaml:2: invalid YAML: a tab character; indent with spaces, never "
                       "tabs"),
    ("a: 1\n---\nb: 2\n", "config.yaml:2: invalid YAML: a second document (---): the "
                          "configuration must be one document"),
    ("a: *nothing\n", "config.yaml:1: invalid YAML: an alias ('nothing') names no &anchor "
                      "defined above it"),
    ("a: 1\nb: \x00\n", "config.yaml:2: invalid YAML: character '\\x00' is not allowed"),
])
def test_file_level_problems(at, text: str, expected: str) -> None:
    assert at(text) == [expected]


def test_not_utf8(at) -> None:
    Path("config.yaml").write_bytes(b"society:\n  name: caf\xe9\n")
    assert [str(p) for p in check_config("config.yaml")] == [
        "config.yaml:2: not UTF-8 text: byte 0xe9 cannot be decoded"]


def test_unreadable_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert [str(p) for p in check_config(missing)] == [
        f"{missing}:0: cannot read the configuration file: No such file or directory"]
    assert [str(p) for p in check_config(tmp_path)] == [
        f"{tmp_path}:0: cannot read the configuration file: Is a directory"]
    assert [p.line for p in check_config("nul\0name.yaml")] == [0]
    with pytest.raises(ConfigError):
        load_config(missing)


GARBAGE = [
    bytes(range(256)) * 4,
    b"\xff\xfe" + "society: x\n".encode("utf-16-le"),
    b"[" * 5000 + b"]" * 5000,
    b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 3000)),
    b"{" * 200 + b"}" * 200,
    b"&a [*a]\n",
    b"society: &s [*s]\nrules: &r [*r, *r]\npartners: [*r]\n",
    b"- - - - -\n",
    b"? [a, b]\n: c\n1: 2\nnull: 3\n",
    b"society: !!binary aGVsbG8=\nsmtp: !!python/object:os.system {}\n",
    b"data_dir: \"\\0\"\nsociety: {gnupghome: \"a\\0b\", name: x, id: XX, address: a@b.c}\n",
    b"limits: {max_message_bytes: 1e400, max_mime_parts: .nan}\nimap: {timeout: .inf}\n",
    b"society: &a {<<: *a, name: x}\nlog: &b {<<: &c {<<: *b}}\n",
    b"%YAML 1.1\n%TAG ! tag:x,2000:\n--- !foo\nsociety: !bar {}\n",
]


@pytest.mark.parametrize("data", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(data)
    problems = check_config(path)
    assert problems and all(isinstance(p, Problem) for p in problems)
    assert not any("internal error" in p.message for p in problems), problems
    with pytest.raises(ConfigError):
        load_config(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_input_never_raises(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    problems = check_config(path, {})
    assert not any("internal error" in p.message for p in problems), problems


# --- the example ---------------------------------------------------------------------------

def _example_copy(tmp_path: Path) -> Path:
    """config.example.yaml copied into tmp_path with the files and directories it names."""
    copy = tmp_path / "config.yaml"
    shutil.copy(EXAMPLE, copy)
    for directory in ("gnupg", "secrets", "keys"):
        (tmp_path / directory).mkdir()
    for name in ("secrets/imap-password", "secrets/smtp-password", "keys/riverside.asc"):
        (tmp_path / name).write_text("x\n")
    return copy


def test_example_config_is_valid(tmp_path: Path) -> None:
    copy = _example_copy(tmp_path)
    assert check_config(copy, {}) == []
    config = load_config(copy, {})
    assert config.society.id == "ANYTOWN"
    assert config.imap is not None and config.imap.tls == "implicit" and config.imap.port == 993
    assert config.smtp.security == "starttls" and config.smtp.password is not None
    assert config.smtp.password.read() == "x"
    assert {p.name: p.direction for p in config.partners} == {"riverside": "both", "valle": "send"}
    assert {r.action.action for r in config.rules} == {"relay", "hold", "drop"}


def test_example_config_commented_keys_are_valid_too(tmp_path: Path) -> None:
    """Uncommenting the optional keys shown in the example gives a valid configuration too."""
    copy = _example_copy(tmp_path)
    for name in ("certs/imap-ca.pem", "certs/smtp-ca.pem", "secrets/gpg-passphrase"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "templates").mkdir()
    text = copy.read_text()
    for key in ("passphrase_file", "cafile", "file", "templates_dir"):
        text = re.sub(rf"^(\s*)# ({key}: \S+)$", r"\1\2", text, flags=re.M)
    copy.write_text(text)
    assert check_config(copy, {}) == []
    config = load_config(copy, {})
    assert config.society.passphrase_file == tmp_path / "secrets" / "gpg-passphrase"
    assert config.smtp.cafile == tmp_path / "certs" / "smtp-ca.pem"
    assert config.templates_dir == tmp_path / "templates"


def _live_keys(node: object, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    keys: set[tuple[str, ...]] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(prefix + (key,))
            keys |= _live_keys(value, prefix + (key,))
    elif isinstance(node, list):
        for item in node:
            keys |= _live_keys(item, prefix)
    return keys


def test_example_documents_every_key() -> None:
    """Every key the schema knows is set in the example, or shown there as '# key:'."""
    text = EXAMPLE.read_text()
    live = _live_keys(yaml.safe_load(text))
    commented = set(re.findall(r"^\s*#\s*(?:- )?(\w+):", text, flags=re.M))
    known = set(CONFIG_SCHEMA.keys())
    missing = [".".join(k) for k in sorted(known) if k not in live and k[-1] not in commented]
    assert missing == []
    assert live <= known, live - known
    assert len(known) > 70


# --- helpers -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, ok", [
    ("a@b.example", True), ("first.last+tag@sub.example.org", True), ("list@localhost", True),
    ("o'neil@x.example", True), ("A <a@b.example>", False), ("<a@b.example>", False),
    ("a@b.example, c@d.example", False), ("a b@c.example", False), ("a@b.example ", False),
    ("a@", False), ("@b.example", False), ("a@@b.example", False), ("a..b@c.example", False),
    (".a@b.example", False), ("a@-b.example", False), ("a@b..example", False), ("", False),
    ("a@b.example\n", False), ("x" * 65 + "@b.example", False), (None, False), (42, False),
])
def test_is_address(value: object, ok: bool) -> None:
    assert is_address(value) is ok


def test_normalise_fingerprint() -> None:
    from masbot.signing.fingerprints import parse as normalise_fingerprint
    assert normalise_fingerprint(FPR_A.lower()) == "AAAABBBBCCCCDDDDEEEEFFFF0000111122223333"
    for bad in ("", "A" * 39, "A" * 41, "G" * 40, "0x" + "A" * 38):
        with pytest.raises(ValueError):
            normalise_fingerprint(bad)


def test_environ_defaults_to_process_environment(at, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("config.yaml").write_text(BASE + "  username: bot\n  password_env: MASBOT_TEST_PW\n")
    monkeypatch.delenv("MASBOT_TEST_PW", raising=False)
    assert len(check_config("config.yaml")) == 1
    monkeypatch.setenv("MASBOT_TEST_PW", "pw")
    assert check_config("config.yaml") == []
    assert load_config("config.yaml").smtp.password.read() == "pw"
    assert os.environ["MASBOT_TEST_PW"] == "pw"
