#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud's API table (src/daemon/api.c), as iommud --list-methods prints
it, against what iommud(8) documents and what the daemon serves, both
ways:

 - every method the table has is documented under SOCKET API, Methods, and
   every documented method is in the table; "Changing." exactly for the
   changing ones; the params each entry names exactly those of the table,
   with the ranges of its integers;
 - every HTTP path the table has is documented under HTTP API, Resources,
   with its verb (GET for reading methods, POST for changing ones), and
   every documented /v1/ resource is in the table, the mappings query with
   the table's params;
 - the running daemon serves every method of the table on the socket and
   every path on HTTP with its verb (another verb: 405 naming it), and its
   "Unknown method" error and HTTP 404 list exactly the table."""
import importlib.util
import json
import os
import re
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

MAN = os.environ.get("MAN_IOMMUD", os.path.join(HERE, "..", "man", "iommud.8"))
# Served over HTTP beside the API's methods (http-routes.c).
RESOURCES = {("GET", "/healthz"), ("GET", "/metrics")}

t = h.Tap()
ok = t.ok


# ---- the table, as iommud prints it ----

def list_methods():
    """{name: {"http": (verb, path) or None, "access", "params": {name: type}}}, and problems."""
    p = subprocess.run([h.IOMMUD, "--list-methods"], capture_output=True, text=True, timeout=20)
    methods, problems, current = {}, [], None
    if p.returncode != 0:
        problems.append(f"exit {p.returncode}: {p.stderr}")
    for line in p.stdout.splitlines():
        fields = line.split("\t")
        if line.startswith("\t") and len(fields) == 3 and current:
            current["params"][fields[1]] = fields[2]
        elif not line.startswith("\t") and len(fields) == 3:
            name, http, access = fields
            if name in methods:
                problems.append(f"{name} twice")
            if http == "-":
                http = None
            elif re.fullmatch(r"(GET|POST) /\S+", http):
                http = tuple(http.split(" "))
            else:
                problems.append(f"{name}: no HTTP verb and path: {http!r}")
                http = None
            current = methods[name] = {"http": http, "access": access, "params": {}}
        else:
            problems.append(f"a line neither method nor param: {line!r}")
    return methods, problems


methods, problems = list_methods()
ok(methods and not problems, f"iommud --list-methods lists {len(methods)} methods, each once", problems)
paths = [m["http"][1] for m in methods.values() if m["http"]]
ok(len(paths) == len(set(paths)), "no HTTP path serves two methods", paths)
bad = [n for n, m in methods.items()
       if m["access"] not in ("read", "changing")
       or (m["http"] and m["http"][0] != {"read": "GET", "changing": "POST"}[m["access"]])]
ok(not bad, "reading methods take GET, changing ones POST", bad)
TYPE = re.compile(r"(integer 0\.\.(\d+|2\^64-1)|PCI address \(.*\)|boolean|string|one of [a-z][a-z-]*(\|[a-z][a-z-]*)+)(, required)?")
bad = [(n, p, ty) for n, m in methods.items() for p, ty in m["params"].items() if not TYPE.fullmatch(ty)]
ok(not bad, "every param is an integer with its range, a PCI address, a boolean, a string or one of its values, "
   "and may be required", bad)
bad = [(n, m["http"][1]) for n, m in methods.items()
       if m["http"] and m["http"][1] != "/v1/" + n[len("v1."):].replace(".", "/")]
ok(not bad, "every HTTP path is /v1/ and the method's name after v1. with its dots as slashes", bad)


def type_of(ty):
    return ty[:-len(", required")] if ty.endswith(", required") else ty


# ---- what iommud(8) says ----

ESCAPES = [(r"\(dq", '"'), (r"\(aq", "'"), (r"\(en", "-"), (r"\~", " "), (r"\-", "-"), (r"\%", ""), (r"\&", ""),
           (r"\e", "\\")]


def text_of(line):
    """A roff source line as the reader sees it (fonts dropped)."""
    if line.startswith("."):
        m = re.match(r"\.(\w+)\s*(.*)", line)
        if not m:
            return ""
        macro, rest = m.groups()
        args = [a or b for a, b in re.findall(r'"((?:[^"]|"")*)"|(\S+)', rest)]
        if macro in ("B", "I"):
            line = " ".join(args)
        elif re.fullmatch(r"[BIR]{2}", macro):
            line = "".join(args)
        else:
            return ""
    line = re.sub(r"\\f[BIRP]", "", line)
    for esc, ch in ESCAPES:
        line = line.replace(esc, ch)
    return line


def section(src, sh, ss):
    """The lines of a .SS subsection of a .SH section."""
    part = re.split(r"^\.SH ", src, flags=re.M)
    part = next((p for p in part if p.split("\n", 1)[0].strip('"') == sh), "")
    sub = re.split(r"^\.SS ", part, flags=re.M)
    return next((s for s in sub if s.split("\n", 1)[0].strip('"') == ss), "").split("\n")[1:]


def entries(lines):
    """The .TP entries: [(tag text, [body source lines])]."""
    out = []
    for i, line in enumerate(lines):
        if line.startswith(".TP") and i + 1 < len(lines):
            out.append((text_of(lines[i + 1]), []))
        elif out and (i == 0 or not lines[i - 1].startswith(".TP")):
            out[-1][1].append(line)
    return out


src = open(MAN).read()
doc = {}
for tag, body in entries(section(src, "SOCKET API", "Methods")):
    text = " ".join(text_of(x) for x in body)
    params, span = [], None
    for x in body:
        if x.startswith("Params"):
            span = []
        elif x.startswith("Result:"):
            break
        elif span is not None:
            span.append(x)
            if re.fullmatch(r"\.B \w+", x):
                params.append(x[3:])
    doc[tag] = {"changing": "Changing." in text, "no_params": "No params." in text, "params": params,
                "params_text": " ".join(text_of(x) for x in (span or []))}
ok(len(doc) >= 5, f"iommud(8) documents {len(doc)} methods under SOCKET API, Methods", list(doc))
ok(set(methods) <= set(doc), "every method of the table is documented", sorted(set(methods) - set(doc)))
ok(set(doc) <= set(methods), "every method documented is in the table", sorted(set(doc) - set(methods)))
both = sorted(set(methods) & set(doc))
bad = [n for n in both if doc[n]["changing"] != (methods[n]["access"] == "changing")]
ok(not bad, '"Changing." is said of exactly the changing methods', bad)
bad = [n for n in both if (doc[n]["no_params"] != (not methods[n]["params"]))
       or (methods[n]["params"] and doc[n]["params"] != list(methods[n]["params"]))]
ok(not bad, 'each method\'s params as documented: "No params." or the same names, in the same order',
   [(n, doc[n]["params"], list(methods[n]["params"])) for n in bad])
bad = [(n, p) for n in both for p, ty in methods[n]["params"].items()
       if ty.startswith("integer") and f"0 to {type_of(ty).split('..')[1]}" not in doc[n]["params_text"]]
ok(not bad, "each integer param's range as documented (0 to MAX)", bad)
bad = [(n, p) for n in both for p, ty in methods[n]["params"].items()
       if ty.endswith(", required") and "required" not in doc[n]["params_text"]]
ok(not bad, "a method with required params says which are required", bad)
bad = [(n, p, v) for n in both for p, ty in methods[n]["params"].items() if type_of(ty).startswith("one of ")
       for v in type_of(ty)[len("one of "):].split("|") if f'"{v}"' not in doc[n]["params_text"]]
ok(not bad, "each value a param takes is documented, quoted", bad)

documented_http, query = set(), {}
for tag, _ in entries(section(src, "HTTP API", "Resources")):
    verb = None
    for word in tag.replace(",", " ").split():
        if word in ("GET", "POST"):
            verb = word
        elif word.startswith("/") and verb:
            path, _, q = word.partition("?")
            documented_http.add((verb, path))
            if q:
                query[path] = [kv.split("=")[0] for kv in q.split("&")]
table_http = {m["http"] for m in methods.values() if m["http"]}
ok(table_http and table_http <= documented_http, "every HTTP path of the table is documented with its verb",
   sorted(table_http - documented_http))
ok(documented_http - RESOURCES <= table_http, "every documented resource but /healthz and /metrics is in the table",
   sorted(documented_http - RESOURCES - table_http))
bad = [(path, q) for path, q in query.items()
       if q != list(next((m["params"] for m in methods.values() if m["http"] and m["http"][1] == path), {}))]
ok(query and not bad, "the documented query strings name the table's params", bad)


# ---- what the daemon serves ----

def http(port, verb, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=verb)
    try:
        with urllib.request.urlopen(req, timeout=10 * h.SLOW) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


with tempfile.TemporaryDirectory() as tmp:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = h.Daemon(tmp, "api", ["--snapshot", h.FIXTURES[0], "--listen-http", f"127.0.0.1:{port}"])
    if ok(d.wait_ready(), "iommud serves a snapshot on the socket and HTTP", d.stderr()):
        with d.client() as c:
            answers = {n: c.call(n, id=n) for n in methods}
            unknown = c.call("v1.nope", id=0)
        # without params a method that requires some says which; the changing
        # methods of a unit find none iommud owns in a snapshot
        required = {n: [p for p, ty in m["params"].items() if ty.endswith(", required")] for n, m in methods.items()}
        bad = {n: a for n, a in answers.items()
               if a.get("id") != n or ("result" not in a and a.get("error", {}).get("code") in (None, h.EOPNOTSUPP))}
        ok(not bad, f"every method of the table answers on the socket ({len(answers)})", bad)
        bad = {n: answers[n] for n, req in required.items()
               if req and answers[n].get("error", {}) != {"code": h.EINVAL, "message": f'{n} needs param "{req[0]}"'}}
        ok(not bad, "a method called without a required param: EINVAL naming the first one missing", bad)
        bad = {n: a for n, a in answers.items() if not required[n] and "result" not in a
               and not (methods[n]["access"] == "changing" and a.get("error", {}).get("code") in (h.EINVAL, 1))}
        ok(not bad, "the others answer a result, but for the changes of a unit a snapshot cannot make", bad)
        message = unknown.get("error", {}).get("message", "")
        listed = re.search(r"\((.*)\)$", message)
        ok(unknown.get("error", {}).get("code") == h.EOPNOTSUPP and listed
           and listed.group(1).split(", ") == list(methods),
           "an unknown method: EOPNOTSUPP listing exactly the table's methods, in its order", message)

        bad = []
        for name, m in methods.items():
            if not m["http"]:
                continue
            verb, path = m["http"]
            status, headers, _ = http(port, verb, path)
            # a change over HTTP is refused here (no AllowChanges=), but served by the route
            if status != (200 if verb == "GET" else 403):
                bad.append((verb, path, status))
            other = "POST" if verb == "GET" else "GET"
            status, headers, _ = http(port, other, path)
            if status != 405 or headers.get("Allow") != ("GET, HEAD" if verb == "GET" else "POST"):
                bad.append((other, path, status, headers.get("Allow")))
        ok(not bad, "every HTTP path of the table is served with its verb, and another verb is 405 naming it", bad)
        status, headers, body = http(port, "GET", "/nope")
        try:
            message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError):
            message = body.decode(errors="replace")
        served = set()
        m = re.search(r"\(GET (.*); POST (.*)\)$", message)
        if m:
            served = {("GET", p) for p in m.group(1).split(", ")} | {("POST", p) for p in m.group(2).split(", ")}
        ok(status == 404 and served == table_http | RESOURCES,
           "GET /nope: 404 listing exactly the table's paths and /healthz, /metrics", message)
        rc = d.stop()
        ok(rc == 0 and not d.sanitizer_report(), "iommud stops cleanly", d.stderr()[-2000:])
    else:
        d.kill()

t.done()
