#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The layers stay in order: no file includes a header of a layer above its own.

src/ holds one folder per layer, lowest first (README.md, "Layout"):

    basic  <  decode  <  access  <  walk  <  snapshot  <  model  <  control
           <  shared  <  daemon, cli

Every include of the project's own headers names its folder
("walk/walk.h"); a file may include its own folder and the folders below
it, never one above, and iommud and iommuctl never include each other.

Within a folder, the files may include each other, but not in a circle: a
.c file depends on another when it uses a function that a header it
includes (directly or through other headers of the folder) declares and
the other file defines.  A header counts as the files that define what it
declares, not as the file of its name: a header whose functions live in
some other file (as iommud's manager.h once lived in iommud.c) hides no
circle from the check.

The checks run on the tree, then on copies with a forbidden include or a
circle added, which they must refuse: a checker that passes everything
proves nothing.

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


# Comments, string and character literals: out before the C is read.
NOISE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
PREPROCESSOR = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.M)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(.*)$", re.M)


def code_of(text):
    """The C of a file without comments, literals and preprocessor lines."""
    text = NOISE.sub(lambda m: " " if m.group(0)[0] == "/" else '""', text)
    return PREPROCESSOR.sub("", text)


def statements(code):
    """The file-scope statements: (text, True when a {block} follows it)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(code):
        if ch == "{":
            if depth == 0:
                out.append((code[start:i], True))
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                start = i + 1
        elif ch == ";" and depth == 0:
            out.append((code[start:i], False))
            start = i + 1
    return out


def function_name(statement):
    """The name a file-scope statement declares or defines as a function:
    the identifier before its first '(' (None for types, data, tables)."""
    text = statement.strip()
    if not text or text.startswith(("typedef", "static")) or "(" not in text:
        return None
    head = text[:text.index("(")]
    if "=" in head:
        return None
    names = IDENTIFIER.findall(head)
    return names[-1] if names else None


def folder_graph(files):
    """files: {name: text} of one folder.  The edges between its .c files:
    {(user, definer): [function, ...]}."""
    codes = {f: code_of(t) for f, t in files.items()}
    declared = {f: {function_name(s) for s, block in statements(codes[f]) if not block} - {None}
                for f in files if f.endswith(".h")}
    defines = {f: {function_name(s) for s, block in statements(codes[f]) if block} - {None}
               for f in files if f.endswith(".c")}
    local = {f: [i.split("/", 1)[1] for i in INCLUDE.findall(t) if "/" in i and i.split("/", 1)[1] in files]
             for f, t in files.items()}
    # what each header's macros call: log_info() is log_full()
    macros = {}
    for f, t in files.items():
        if f.endswith(".h"):
            for m in DEFINE.finditer(NOISE.sub(" ", t.replace("\\\n", " "))):
                macros.setdefault(f, {})[m.group(1)] = set(IDENTIFIER.findall(m.group(2)))
    edges = {}
    for user in defines:
        # every header of the folder it sees, through the others
        seen, todo = set(), [h for h in local[user] if h.endswith(".h")]
        while todo:
            h = todo.pop()
            if h not in seen:
                seen.add(h)
                todo.extend(local[h])
        used = set(IDENTIFIER.findall(codes[user]))
        for _ in range(4):  # macros of macros
            for h in seen:
                for name, body in macros.get(h, {}).items():
                    if name in used:
                        used |= body
        for h in seen:
            for fn in declared.get(h, ()) & used:
                for definer, names in defines.items():
                    if definer != user and fn in names:
                        edges.setdefault((user, definer), []).append(fn)
    return edges


def find_cycles(edges):
    """Per strongly connected set of files: one circle through it, as a
    list of files with the first again at the end, and the whole set."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(set(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for scc in sccs:
        # a shortest way from the first file back to it, within the set
        first = min(scc)
        paths, done = {first: [first]}, {first}
        queue = [first]
        found = None
        while queue and not found:
            v = queue.pop(0)
            for w in sorted(graph[v]):
                if w == first:
                    found = paths[v] + [first]
                    break
                if w in scc and w not in done:
                    done.add(w)
                    paths[w] = paths[v] + [w]
                    queue.append(w)
        cycles.append((found, scc))
    return cycles


def check_cycles(src):
    """Every folder whose files depend on each other in a circle."""
    problems = []
    for dirpath, _, names in sorted(os.walk(src)):
        files = {}
        for f in sorted(names):
            if f.endswith((".c", ".h")):
                files[f] = open(os.path.join(dirpath, f), encoding="utf-8").read()
        if not files:
            continue
        edges = folder_graph(files)
        rel = os.path.relpath(dirpath, src)
        for cycle, members in find_cycles(edges):
            steps = " -> ".join(f"{b} ({', '.join(sorted(set(edges[(a, b)]))[:3])})"
                                for a, b in zip(cycle, cycle[1:]))
            others = sorted(members - set(cycle))
            problems.append(f"{rel}: files depend on each other in a circle: {cycle[0]} -> {steps}"
                            + (f"; the circle takes in {', '.join(others)} too" if others else ""))
    return problems


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
    return problems + check_cycles(src)


def refused(src, changes, expect):
    """Whether check() refuses a copy of src with changes (path: text
    appended) for a reason containing every word of expect."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "src")
        shutil.copytree(src, copy)
        for path, text in changes.items():
            with open(os.path.join(copy, path), "a") as f:
                f.write("\n" + text + "\n")
        return any(all(w in q for w in expect) for q in check(copy))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    print("1..5")
    found = check(src)
    problems = [p for p in found if "in a circle" not in p]
    for p in problems:
        print(f"# {p}")
    print(f"{'ok' if not problems else 'not ok'} 1 - every include names its folder and points down "
          f"the layers ({', '.join(sorted(RANKS, key=RANKS.get))})")

    # The checker refuses what it must: a copy of the tree with one
    # upward and one sideways include.
    bad = [
        ("lib/decode/field.h", '#include "model/model.h"', "decode must not include \"model/model.h\""),
        ("lib/access/access.h", '#include "walk/walk.h"', "access must not include \"walk/walk.h\""),
        ("cli/cli.h", '#include "daemon/manager.h"', "cli must not include \"daemon/manager.h\""),
        ("lib/walk/walk.h", '#include "walk.h"', "does not name a layer folder"),
    ]
    results = [refused(src, {path: line}, [expect]) for path, line, expect in bad]
    print(f"{'ok' if all(results) else 'not ok'} 2 - a forbidden include added to a copy is refused "
          f"({sum(results)}/{len(bad)}: upward, sideways between iommud and iommuctl, unqualified)")
    # and the command itself fails on such a tree
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "src")
        shutil.copytree(src, copy)
        with open(os.path.join(copy, "lib/decode/regs.h"), "a") as f:
            f.write('\n#include "snapshot/snapshot.h"\n')
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--check-only", copy],
                           capture_output=True, text=True)
    print(f"{'ok' if r.returncode == 1 and 'decode must not include' in r.stdout else 'not ok'} 3 - "
          f"test-layers exits 1 on a tree with a forbidden include")

    circles = [p for p in found if "in a circle" in p]
    for p in circles:
        print(f"# {p}")
    print(f"{'ok' if not circles else 'not ok'} 4 - within each folder the files depend on each other "
          f"without a circle (a header counts as the files that define what it declares)")

    # A circle made two ways must be refused: the socket server calling
    # into the manager that drives it; and the log calling a function that
    # log.h declares but manager.c defines (the way manager.h's functions
    # once lived in iommud.c).
    circles = [
        ({"daemon/server.c": '#include "daemon/manager.h"\n'
                             "static uint64_t probe(manager *m) { return manager_now(m); }"},
         ["daemon:", "server.c", "manager.c", "manager_now"]),
        ({"daemon/log.h": "int layers_probe(void);",
          "daemon/manager.c": "int layers_probe(void) { return 0; }",
          "daemon/log.c": "static int probe(void) { return layers_probe(); }"},
         ["daemon:", "log.c", "manager.c", "layers_probe"]),
    ]
    results = [refused(src, changes, expect) for changes, expect in circles]
    print(f"{'ok' if all(results) else 'not ok'} 5 - a circle added to a copy is refused "
          f"({sum(results)}/{len(circles)}: a plain include, a header defined elsewhere)")
    return 1 if found else 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--check-only":
        found = check(sys.argv[2])
        for p in found:
            print(p)
        sys.exit(1 if found else 0)
    sys.exit(main())
