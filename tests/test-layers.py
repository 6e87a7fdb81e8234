#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The layers stay in order: no file includes a header of a layer above its own.

src/ holds one folder per layer, lowest first (README.md, "Layout"):

    basic  <  decode  <  access  <  walk  <  snapshot  <  model  <  control
           <  shared  <  daemon, cli

Every include of the project's own headers names its folder
("walk/walk.h"); a file may include its own folder and the folders below
it, never one above, and iommud and iommuctl never include each other.
The check runs on the tree, then on a copy with a forbidden include added,
which it must refuse: a checker that passes everything proves nothing.

    test-layers.py [SRCDIR]     check SRCDIR (default: the tree's src/)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

RANKS = {
    "basic": 0,
    "decode": 1,
    "access": 2,
    "walk": 3,
    "snapshot": 4,
    "model": 5,
    "control": 6,
    "shared": 7,
    "daemon": 8,
    "cli": 8,
}
# Headers the build makes.
GENERATED = {"config.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(src, path):
    """The layer folder of a file below src: lib/walk/x.c -> walk."""
    rel = os.path.relpath(path, src).split(os.sep)
    if rel[0] == "lib":
        rel = rel[1:]
    return rel[0] if len(rel) > 1 else None


def header_exists(src, inc):
    return os.path.exists(os.path.join(src, inc)) or os.path.exists(os.path.join(src, "lib", inc))


def check(src):
    """Every violation, as 'file:line: message'."""
    problems = []
    for dirpath, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, src)
            layer = folder_of(src, path)
            if layer not in RANKS:
                problems.append(f"{rel}: lies in no layer folder ({', '.join(RANKS)})")
                continue
            text = open(path, encoding="utf-8").read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                line = text.count("\n", 0, m.start()) + 1
                where = f"{rel}:{line}"
                if inc in GENERATED:
                    continue
                target = inc.split("/")[0] if "/" in inc else None
                if target not in RANKS:
                    problems.append(f'{where}: #include "{inc}" does not name a layer folder')
                elif not header_exists(src, inc):
                    problems.append(f'{where}: #include "{inc}": no such header')
                elif target != layer and RANKS[target] >= RANKS[layer]:
                    problems.append(f'{where}: {layer} must not include "{inc}": {target} is '
                                    f'{"beside" if RANKS[target] == RANKS[layer] else "above"} it')
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    print("1..3")
    problems = check(src)
    for p in problems:
        print(f"# {p}")
    print(f"{'ok' if not problems else 'not ok'} 1 - every include names its folder and points down "
          f"the layers ({', '.join(sorted(RANKS, key=RANKS.get))})")

    # The checker refuses what it must: a copy of the tree with one
    # upward and one sideways include.
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "src")
        shutil.copytree(src, copy)
        bad = [
            ("lib/decode/field.h", '#include "model/model.h"', "decode must not include \"model/model.h\""),
            ("lib/access/access.h", '#include "walk/walk.h"', "access must not include \"walk/walk.h\""),
            ("cli/cli.h", '#include "daemon/manager.h"', "cli must not include \"daemon/manager.h\""),
            ("lib/walk/walk.h", '#include "walk.h"', "does not name a layer folder"),
        ]
        results = []
        for path, line, expect in bad:
            p = os.path.join(copy, path)
            saved = open(p).read()
            with open(p, "a") as f:
                f.write("\n" + line + "\n")
            found = check(copy)
            results.append(any(expect in q for q in found))
            with open(p, "w") as f:
                f.write(saved)
        print(f"{'ok' if all(results) else 'not ok'} 2 - a forbidden include added to a copy is refused "
              f"({sum(results)}/{len(bad)}: upward, sideways between iommud and iommuctl, unqualified)")
        # and the command itself fails on such a tree
        with open(os.path.join(copy, "lib/decode/regs.h"), "a") as f:
            f.write('\n#include "snapshot/snapshot.h"\n')
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--check-only", copy],
                           capture_output=True, text=True)
        print(f"{'ok' if r.returncode == 1 and 'decode must not include' in r.stdout else 'not ok'} 3 - "
              f"test-layers exits 1 on a tree with a forbidden include")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--check-only":
        found = check(sys.argv[2])
        for p in found:
            print(p)
        sys.exit(1 if found else 0)
    sys.exit(main())
