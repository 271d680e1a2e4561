#!/usr/bin/env python3
"""Finds import circles in src/: between sibling modules at every level of the module tree.

Every `crate::…`, `super::…` and `self::…` path in a file (in `use` trees and in code, tests included) is
resolved to the deepest module it names. A path from module A to module B, where A and B first differ below a
common parent P, is an edge between P's children that contain them; a path to an ancestor (an item of a parent's
`mod.rs`) is not. A circle is a strongly connected set of two or more siblings. Prints each circle with one line
that makes each of its edges, and exits 1 if there is any.

Usage: python3 scripts/import-cycles.py [SRC_DIR]   (default: src)
"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "src"

COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
STRING = re.compile(r'r(#*)".*?"\1|b?"(?:\\.|[^"\\])*"|b?\'(?:\\.|[^\'\\])\'', re.S)
MOD_BLOCK = re.compile(r"\bmod\s+([a-z_][a-z0-9_]*)\s*\{")
USE = re.compile(r"\buse\s+([^;]*);")
PATH = re.compile(r"(?<![A-Za-z0-9_:$])\$?((?:crate|super|self)(?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)")


def blank(m):
    # Keep newlines so line numbers survive.
    return re.sub(r"[^\n]", " ", m.group(0))


def file_module(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def expand_use(tree):
    """`a::{b, c::{d, self}}` → ['a::b', 'a::c::d', 'a::c']."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, t):
        depth, parts, cur = 0, [], ""
        i = t.find("{")
        if i < 0:
            full = (prefix + "::" + t) if prefix else t
            full = re.sub(r"::self$", "", full)
            out.append(full)
            return
        head = t[:i].rstrip(":")
        inner = t[i + 1 : t.rfind("}")]
        for ch in inner:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += ch == "{"
            depth -= ch == "}"
            cur += ch
        parts.append(cur)
        base = (prefix + "::" + head) if prefix and head else (head or prefix)
        for p in parts:
            if p:
                walk(base, p)

    walk("", tree)
    return out


modules = set()
files = []
for root, _, names in os.walk(SRC):
    for n in sorted(names):
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            files.append(p)
            modules.add(tuple(file_module(p)))


def module_at(text, pos, base):
    """The module path at `pos`, counting inline `mod x {` blocks."""
    depth = 0
    opens = []  # (depth at open, name)
    for m in re.finditer(r"\{|\}|\bmod\s+[a-z_][a-z0-9_]*\s*\{", text[:pos]):
        s = m.group(0)
        if s.startswith("mod"):
            name = s.split()[1].rstrip("{").strip()
            depth += 1
            opens.append((depth, name))
        elif s == "{":
            depth += 1
        else:
            if opens and opens[-1][0] == depth:
                opens.pop()
            depth -= 1
    return base + [n for _, n in opens]


edges = {}  # (parent, a, b) -> example "file:line: path"
for p in files:
    raw = open(p, encoding="utf-8").read()
    text = STRING.sub(blank, COMMENT.sub(blank, raw))
    base = file_module(p)
    # Inline modules declared in this file.
    for m in MOD_BLOCK.finditer(text):
        modules.add(tuple(module_at(text, m.end(), base)))
    refs = []
    for m in USE.finditer(text):
        for path in expand_use(m.group(1)):
            refs.append((m.start(), path))
    for m in PATH.finditer(text):
        refs.append((m.start(), re.sub(r"\s+", "", m.group(1))))
    for pos, path in refs:
        segs = path.split("::")
        if segs[0] not in ("crate", "super", "self"):
            continue
        here = module_at(text, pos, base)
        if segs[0] == "crate":
            target, segs = [], segs[1:]
        else:
            target = list(here)
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super":
                    target = target[:-1]
                segs = segs[1:]
        for s in segs:
            if tuple(target + [s]) in modules:
                target.append(s)
            else:
                break
        k = 0
        while k < min(len(here), len(target)) and here[k] == target[k]:
            k += 1
        if k == len(here) or k == len(target):
            continue  # a descendant or an ancestor: not between siblings
        key = ("::".join(here[:k]) or "crate", here[k], target[k])
        line = raw.count("\n", 0, pos) + 1
        edges.setdefault(key, f"{os.path.relpath(p)}:{line}: {path}")

# Strongly connected components per parent (Tarjan).
by_parent = {}
for (parent, a, b) in edges:
    by_parent.setdefault(parent, {}).setdefault(a, set()).add(b)

circles = []
for parent, graph in sorted(by_parent.items()):
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]
    nodes = sorted(set(graph) | {b for bs in graph.values() for b in bs})

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in nodes:
        if v not in index:
            strong(v)
    for comp in comps:
        circles.append((parent, comp))

print(f"{len(modules)} modules, {len(edges)} sibling edges")
for parent, comp in circles:
    print(f"circle under {parent}: {' <-> '.join(comp)}")
    for (p, a, b), where in sorted(edges.items()):
        if p == parent and a in comp and b in comp:
            print(f"    {a} -> {b}   {where}")
if not circles:
    print("no import circle")
sys.exit(1 if circles else 0)
