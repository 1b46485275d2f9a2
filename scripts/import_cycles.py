#!/usr/bin/env python3
"""Lists import cycles between the files of src/: `use crate::…`, `use super::…` and
`use self::…` paths, each resolved to the file that defines the item (a re-export in a
`mod.rs` or `lib.rs` is followed to its source). Exits 1 when there is a cycle.

Usage: python3 scripts/import_cycles.py [SRC_DIR]
"""

import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
SRC = os.path.normpath(SRC)

USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{", re.M)


def module_dir(path):
    """The directory that holds the child modules of the file `path`."""
    base = os.path.basename(path)
    if base in ("mod.rs", "lib.rs"):
        return os.path.dirname(path)
    return path[: -len(".rs")]


def module_path(path):
    """The module segments of the file `path` (src/a/b.rs -> [a, b])."""
    rel = os.path.relpath(path, SRC)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return rel


def file_of(segments):
    """The file of the module `segments`, and how many segments it took; inline modules
    (`mod x { mod y; }`) count as their directory."""
    directory, taken, found = SRC, 0, os.path.join(SRC, "lib.rs")
    for segment in segments:
        for candidate in (os.path.join(directory, segment + ".rs"), os.path.join(directory, segment, "mod.rs")):
            if os.path.exists(candidate):
                found, directory, taken = candidate, module_dir(candidate), taken + 1
                break
        else:
            if os.path.isdir(os.path.join(directory, segment)):
                directory, taken = os.path.join(directory, segment), taken + 1
                continue
            break
    return found, taken


def expand(tree):
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]]."""
    tree = re.sub(r"\s+", "", tree)
    depth, parts, start = 0, [], 0
    if "{" not in tree:
        return [tree.split(" as ")[0].split("::")] if tree else []
    head, _, rest = tree.partition("{")
    body = rest[: rest.rfind("}")]
    for at, char in enumerate(body):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:at])
            start = at + 1
    parts.append(body[start:])
    prefix = [segment for segment in head.split("::") if segment]
    return [prefix + sub for part in parts if part for sub in expand(part)]


def reexports(path):
    """`pub use` paths of `path`, by the name they export."""
    names = {}
    for match in USE.finditer(strip_tests(open(path).read())):
        if not match.group(0).lstrip().startswith("pub"):
            continue
        for segments in expand(match.group(1)):
            names[segments[-1]] = segments
    return names


def strip_tests(text):
    """The text without its `#[cfg(test)] mod tests { … }` block."""
    at = text.find("#[cfg(test)]\nmod tests")
    return text if at < 0 else text[:at]


def absolute(path, segments):
    if segments[0] == "crate":
        return segments[1:]
    here = module_path(path)
    if segments[0] == "self":
        return here + segments[1:]
    if segments[0] != "super":
        return here + segments
    while segments and segments[0] == "super":
        here, segments = here[:-1], segments[1:]
    return here + segments


def resolve(segments, seen=()):
    path, taken = file_of(segments)
    rest = segments[taken:]
    if rest and os.path.basename(path) in ("mod.rs", "lib.rs") and path not in seen:
        target = reexports(path).get(rest[0])
        if target and len(target) > 1:
            return resolve(absolute(path, target) + rest[1:], seen + (path,))
    return path


def edges():
    graph = {}
    for root, _, files in os.walk(SRC):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            text = strip_tests(open(path).read())
            targets = set()
            for tree in USE.findall(text):
                for segments in expand(tree):
                    if segments[0] not in ("crate", "super", "self"):
                        continue
                    target = resolve(absolute(path, segments))
                    if target != path:
                        targets.add(target)
            graph[path] = targets
    return graph


def cycles(graph):
    found, index, low, stack, on_stack, counter = [], {}, {}, [], set(), [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


if __name__ == "__main__":
    found = cycles(edges())
    for component in found:
        print("cycle: " + " <-> ".join(os.path.relpath(path, SRC) for path in component))
    print(f"{len(found)} import cycles between the files of {os.path.relpath(SRC)}")
    sys.exit(1 if found else 0)
