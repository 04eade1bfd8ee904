#!/usr/bin/env python3
"""The message catalogs: scripts/catalogs.py update | compile | check

update   extract every sentence from the code into masbot/lang/messages.pot and bring each
         language's messages.po up to date with it (then translate the new entries)
compile  write each language's messages.mo (setup.sh does this on every set-up)
check    list what any language lacks (untranslated, stale, fuzzy, a field file entry);
         exits 1 when there is anything (the test suite runs the same check)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from masbot.lang import catalogs  # noqa: E402


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        for path in catalogs.update():
            print(f"wrote {path}")
        return 0
    if argv[1:] == ["compile"]:
        for path in catalogs.compile_all():
            print(f"wrote {path}")
        return 0
    if argv[1:] == ["check"]:
        found = catalogs.problems()
        for line in found:
            print(line)
        print(f"{len(found)} problem(s)" if found else "the catalogs are complete")
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
