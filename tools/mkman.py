#!/usr/bin/env python3
"""mkman.py AJAIL TEMPLATE: print the man page ajail(1), made from the --help of the built binary.

Everything the program can tell about itself comes from its own --help and every verb's (`ajail fs
--help`, `ajail fs import --help`, ...), so the page cannot say other than the program does. The
template (doc/ajail.1.in) holds what --help has no room for, in roff, with placeholders:

  @VERSION@  @DATE@          `ajail --version`; SOURCE_DATE_EPOCH, else the last commit's date
  @SYNOPSIS@                 the Usage lines of `ajail --help`
  @SUMMARY@                  its first paragraph
  @OPTIONS@                  its option sections, and every paragraph no placeholder claims
  @COMMANDS@                 each verb's --help (and each of its subcommands')
  @HELP:Label@               the paragraph of `ajail --help` that starts with "Label: "

The layout of a help text it reads: a Usage block ("Usage: ajail ..." and lines indented under it),
then blank-line separated paragraphs. A paragraph of unindented lines is prose; one whose first lines
are unindented and end in ':' is a section, whose indented lines are options ("  -q, --quiet    what
it does", continued by deeper-indented lines) or, when they do not start with '-', verbatim lines
(examples). Anything else is an error: a help text the page would garble fails the build instead.
"""
import os
import re
import subprocess
import sys
import time

LABEL = re.compile(r"^([A-Z][A-Za-z ]*): (.*)$")


def die(msg):
    sys.exit("mkman.py: " + msg)


def run_help(ajail, args):
    # A clean environment: AJAIL_ARGS or a store of the user's must not change what the page says.
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/nonexistent"}
    p = subprocess.run([ajail] + args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    cmd = " ".join(["ajail"] + args)
    if p.returncode != 0:
        die(f"'{cmd}' exited {p.returncode}: {p.stderr.strip()}")
    if p.stderr:
        die(f"'{cmd}' wrote to stderr: {p.stderr.strip()}")
    return p.stdout


# ---- reading a help text ------------------------------------------------------------------------

class Para:
    """kind: 'prose' (text, label), or 'section' (heading, label, intro, items)."""

    def __init__(self, kind):
        self.kind = kind
        self.text = ""
        self.label = None
        self.heading = ""
        self.intro = ""
        self.items = []  # ('opt', spec, desc) or ('verbatim', line)


def split_annotation(line):
    """'ajail fs list [--json]     what it does' -> ('ajail fs list [--json]', 'what it does')."""
    m = re.match(r"^(.*?\S)\s{2,}(\S.*)$", line)
    return (m.group(1).strip(), m.group(2)) if m else (line.strip(), "")


def parse_help(text, where):
    lines = text.rstrip("\n").split("\n")
    if not lines or not lines[0].startswith("Usage: "):
        die(f"{where}: the first line is not 'Usage: ...'")
    usage = [lines[0][len("Usage: "):]]
    i = 1
    while i < len(lines) and lines[i].startswith("       "):
        usage.append(lines[i].strip())
        i += 1
    paras = []
    block = []
    for line in lines[i:] + [""]:
        if line.strip():
            block.append(line.rstrip())
            continue
        if block:
            paras.append(parse_para(block, where))
            block = []
    return usage, paras


def parse_para(block, where):
    head = []
    while block and not block[0].startswith(" "):
        head.append(block.pop(0))
    if not block:
        p = Para("prose")
        p.text = " ".join(head)
        m = LABEL.match(p.text)
        if m:
            p.label, p.text = m.group(1), m.group(2)
        return p
    if not head or not head[-1].endswith(":"):
        die(f"{where}: indented lines without a heading that ends in ':': {block[0].strip()!r}")
    p = Para("section")
    heading = " ".join(head)[:-1]
    m = LABEL.match(heading + " ")
    if m and m.group(2).strip():
        heading, p.intro = m.group(1), m.group(2).strip() + ":"
    p.heading = heading
    for line in block:
        indent = len(line) - len(line.lstrip(" "))
        if indent == 2 and line[2] == "-":
            spec, desc = split_annotation(line)
            p.items.append(["opt", spec, desc])
        elif indent > 2 and p.items and p.items[-1][0] == "opt":
            p.items[-1][2] = (p.items[-1][2] + " " + line.strip()).strip()
        elif indent == 2:
            p.items.append(["verbatim", line[2:]])
        else:
            die(f"{where}: a line the page cannot place: {line!r}")
    return p


# ---- writing roff ---------------------------------------------------------------------------------

def esc(s):
    """Text for roff: backslashes, minus signs (so that options copy as '-'), non-ASCII."""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in s)


def line(s):
    """A text line roff will not take for a request (a leading '.' or ')."""
    s = s.strip()
    return "\\&" + s if s[:1] in (".", "'") else s


def arg(s):
    """A macro argument: quoted, with its quotes escaped."""
    return '"' + esc(s).replace('"', "\\(dq") + '"'


TOKEN = re.compile(r"(?P<opt>(?<![\w-])--?[A-Za-z0-9][A-Za-z0-9-]*)|(?P<meta>\b[A-Z][A-Z0-9_]+\b)|"
                   r"(?P<word>(?<![\w-])[a-z][a-z0-9-]*\b)")


def fonts(s, words_bold):
    """Options bold, METAVARIABLES italic, and (in usage lines) the literal words bold."""
    out, pos = [], 0
    for m in TOKEN.finditer(s):
        if m.lastgroup == "word" and not words_bold:
            continue
        out.append(esc(s[pos:m.start()]))
        font = "\\fI" if m.lastgroup == "meta" else "\\fB"
        out.append(font + esc(m.group()) + "\\fR")
        pos = m.end()
    out.append(esc(s[pos:]))
    return "".join(out)


def sentence(s):
    s = s.strip()
    if s.startswith("(") and s.endswith(")"):
        s = s[1:-1]
    s = s[:1].upper() + s[1:]
    return s if s.endswith((".", ":")) else s + "."


def render_items(items, out, in_command):
    verbatim = []

    def flush():
        if verbatim:
            out.extend([".RS 4", ".EX"] + [line(esc(v)) for v in verbatim] + [".EE", ".RE"])
            verbatim.clear()

    for item in items:
        if item[0] == "verbatim":
            verbatim.append(item[1])
            continue
        flush()
        _, spec, desc = item
        if in_command and spec == "-h, --help":
            continue  # every command has it; the page says so once
        out += [".TP", line(fonts(spec, False)), line(esc(desc))]
    flush()


def render_paras(paras, out, in_command):
    for p in paras:
        if p.kind == "prose":
            out += [".PP", line(esc((p.label + ": " if p.label else "") + p.text))]
            continue
        if in_command:
            if p.heading not in ("Options", "Example", "Examples"):
                out += [".PP", line(esc(p.heading + ":"))]
            elif p.heading != "Options":
                out += [".PP", p.heading + ":"]
        else:
            # "Directories (DIR defaults to ...)", "Defense-in-depth layers, all on by default ...": a
            # short heading, and the rest as a sentence under it
            m = re.match(r"^(.*?) \((.*)\)$", p.heading) or re.match(r"^([^,(]*), (.*)$", p.heading)
            out += [".SS " + arg(m.group(1) if m else p.heading)]
            if m:
                out += [".PP", line(esc(sentence(m.group(2))))]
        if p.intro:
            out += [".PP", line(esc(sentence(p.intro)))]
        render_items(p.items, out, in_command)


def render_usage(usage, out):
    if any(split_annotation(u)[1] for u in usage):
        for u in usage:
            spec, desc = split_annotation(u)
            out += [".TP", line(fonts(spec, True)), line(esc(sentence(desc)) if desc else "")]
            if not desc:
                out.pop()
    else:
        out += [".nf"] + [line(fonts(u, True)) for u in usage] + [".fi"]


def subcommands(usage, verb):
    subs = []
    for u in usage:
        w = u.split()
        if len(w) > 2 and w[:2] == ["ajail", verb] and re.fullmatch(r"[a-z][a-z-]*", w[2]) and w[2] not in subs:
            subs.append(w[2])
    return subs


def render_command(ajail, verb, out):
    usage, paras = parse_help(run_help(ajail, [verb, "--help"]), f"ajail {verb} --help")
    subs = subcommands(usage, verb)
    out.append(".SS " + arg(f"ajail {verb}"))
    if not subs:
        render_usage(usage, out)
        render_paras(paras, out, True)
        return
    # The overview's usage lines are each subcommand's own, below; its prose is the verb's.
    render_paras(paras, out, True)
    for sub in subs:
        where = f"ajail {verb} {sub} --help"
        text = run_help(ajail, [verb, sub, "--help"])
        if not text.startswith(f"Usage: ajail {verb} {sub}"):
            die(f"'{where}' does not start with its own usage line ('Usage: ajail {verb} {sub} ...')")
        u, p = parse_help(text, where)
        out.append(".SS " + arg(f"ajail {verb} {sub}"))
        render_usage(u, out)
        render_paras(p, out, True)


def page_date():
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return time.strftime("%Y-%m-%d", time.gmtime(int(epoch)))
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run(["git", "-C", here, "log", "-1", "--format=%cs"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else ""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mkman.py AJAIL TEMPLATE > ajail.1")
    ajail, template = os.path.abspath(sys.argv[1]), sys.argv[2]
    with open(template, encoding="utf-8") as f:
        page = f.read()
    version = run_help(ajail, ["--version"]).strip()
    if not version.startswith("ajail "):
        die(f"'ajail --version' printed {version!r}")
    usage, paras = parse_help(run_help(ajail, ["--help"]), "ajail --help")
    if not paras or paras[0].kind != "prose" or paras[0].label:
        die("ajail --help: the paragraph after the usage lines is not the summary")
    claimed = set(re.findall(r"@HELP:([^@]+)@", page))
    labels = {p.label: p for p in paras if p.kind == "prose" and p.label}
    for label in claimed:
        if label not in labels:
            die(f"the template's @HELP:{label}@ names no paragraph of 'ajail --help' (it has: {', '.join(labels)})")
        page = page.replace(f"@HELP:{label}@", line(esc(sentence(labels[label].text))))

    synopsis = [".nf"]
    verbs = []
    for u in usage:
        spec = split_annotation(u)[0]
        synopsis.append(line(fonts(spec, True)))
        w = spec.split()
        if len(w) > 1 and re.fullmatch(r"[a-z][a-z-]*", w[1]):
            verbs.append(w[1])
    synopsis.append(".fi")

    options = []
    render_paras([p for p in paras[1:] if not (p.kind == "prose" and p.label in claimed)], options, False)
    commands = []
    for verb in verbs:
        render_command(ajail, verb, commands)

    for key, value in (("@VERSION@", esc(version[len("ajail "):])), ("@DATE@", page_date()),
                       ("@SYNOPSIS@", "\n".join(synopsis)), ("@SUMMARY@", line(esc(paras[0].text))),
                       ("@OPTIONS@", "\n".join(options)), ("@COMMANDS@", "\n".join(commands))):
        if key not in page:
            die(f"the template has no {key}")
        page = page.replace(key, value)
    left = re.findall(r"@(?:[A-Z]+|HELP:[^@\n]*)@", page)
    if left:
        die(f"the template has unknown placeholders: {', '.join(left)}")
    sys.stdout.write(page)


if __name__ == "__main__":
    main()
