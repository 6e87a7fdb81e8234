#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommuctl(8) and iommuctl's own help say the same: every command with its
arguments and options as `iommuctl --help` lists them, every option with
its short form and argument, and for each listing every column of
`--output=help` with the same one-line meaning, in the same order, and the
same default columns.  The help is generated from the option, verb and
column tables, so this holds the page to the code."""
import os
import re
import shlex
import subprocess
import sys

CTL = os.environ["IOMMUCTL"]
MAN = os.environ["MAN"]
LISTINGS = ["devices", "domains", "mappings", "faults"]
n = failures = 0


def ok(cond, what, detail=""):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1
        for line in str(detail).splitlines()[:40]:
            print(f"# {line}")


def detroff(line):
    """The text of one line of the page, fonts and escapes gone."""
    text = re.sub(r"\\f[BIRP]", "", line)
    text = text.replace("\\-", "-").replace("\\(aq", "'").replace("\\(dq", '"').replace("\\e", "\\")
    m = re.match(r"^\.(B|I|BR|BI|IR|RB|IB|RI)(?:\s+(.*))?$", text)
    if m:
        args = shlex.split(m.group(2) or "")
        return (" " if len(m.group(1)) == 1 else "").join(args)
    return text


def sections(page):
    out, name = {}, None
    for line in page.splitlines():
        if line.startswith(".SH "):
            name = line[4:].strip().strip('"')
            out[name] = []
        elif name:
            out[name].append(line)
    return out


def tagged(lines):
    """The top-level .TP entries: [(tag, body lines, [(column, help)])]."""
    entries, depth, i = [], 0, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".RS"):
            depth += 1
        elif line.startswith(".RE"):
            depth -= 1
        elif line.startswith(".TP") and depth == 0:
            entries.append([detroff(lines[i + 1]), [], []])
            i += 2
            continue
        elif line.startswith(".TP") and entries:
            name, help_lines, i = detroff(lines[i + 1]), [], i + 2
            while i < len(lines) and not lines[i].startswith("."):
                help_lines.append(detroff(lines[i]))
                i += 1
            entries[-1][2].append((name, " ".join(help_lines)))
            continue
        if entries and depth == 0:
            entries[-1][1].append(detroff(line))
        i += 1
    return entries


page = sections(open(MAN, encoding="utf-8").read())
man_commands = tagged(page.get("COMMANDS", []))
man_options = tagged(page.get("OPTIONS", []))

p = subprocess.run([CTL, "--help"], capture_output=True, text=True)
ok(p.returncode == 0, "iommuctl --help", p.stderr)
helptext = p.stdout
commands_part = helptext.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
options_part = helptext.split("Options:\n", 1)[1].split("\n\n", 1)[0]

# Commands: what --help shows left of each command's description.
help_commands = [re.split(r"\s{2,}", line.strip())[0] for line in commands_part.splitlines()
                 if re.match(r"^  \S", line)]
tags = [t for t, _, _ in man_commands]
ok(len(help_commands) >= 8 and help_commands == tags,
   "COMMANDS lists every command of --help, with its arguments and options, in its order",
   f"--help: {help_commands}\nman:    {tags}")

# Options: short form, long name, argument.
help_options = [m.groups() for m in re.finditer(r"^  (?:-(\w)|  ) --([\w-]+)(?: (\S+))?  ", options_part, re.M)]
man_opts = []
for tag, _, _ in man_options:
    m = re.fullmatch(r"(?:-(\w), )?--([\w-]+)(?: (\S+))?", tag)
    man_opts.append(m.groups() if m else ("?", tag, "?"))
ok(len(help_options) >= 15 and help_options == man_opts,
   "OPTIONS describes every option of --help, with the same short form and argument, in its order",
   f"--help: {help_options}\nman:    {man_opts}")

# Columns: each listing's --output=help against the list in its entry.
for listing in LISTINGS:
    p = subprocess.run([CTL, listing, "--output=help"], capture_output=True, text=True)
    cols = re.findall(r"^  (\S+) +(.*)$", p.stdout, re.M)
    defaults = re.findall(r"^Default(?: [^:]*)?: (.*)$", p.stdout, re.M)
    entry = [e for e in man_commands if e[0].split(" ")[0] == listing]
    man_cols = entry[0][2] if entry else []
    body = re.sub(r"\s+", " ", " ".join(entry[0][1])) if entry else ""
    ok(p.returncode == 0 and len(cols) >= 4 and cols == man_cols,
       f"{listing}: every column of --output=help, with its meaning, in iommuctl(8)",
       f"--output=help: {cols}\nman: {man_cols}\n{p.stderr}")
    missing = [d for d in defaults if d.replace(",", ", ") not in body]
    ok(defaults and not missing, f"{listing}: iommuctl(8) names the default columns", f"{missing}\n{body}")

print(f"1..{n}")
sys.exit(1 if failures else 0)
