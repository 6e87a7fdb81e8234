#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fill @VERSION@ and @LAYOUTS@ in a man page; the layout names are asked
from the built iommuctl, so the page lists exactly what decode accepts."""
import re
import subprocess
import sys

src, dst, version, ctl = sys.argv[1:5]
p = subprocess.run([ctl, "decode", "?", "0"], capture_output=True, text=True)
m = re.search(r"known: (.*)$", p.stderr.strip())
if not m:
    sys.exit(f"fill-man: could not read the layout names from {ctl}: {p.stderr.strip()}")
names = ", ".join(f"\\fB{n}\\fR" for n in m.group(1).split())
text = open(src).read().replace("@VERSION@", version).replace("@LAYOUTS@", names + ".")
open(dst, "w").write(text)
