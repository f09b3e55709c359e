#!/usr/bin/env python3
"""Docs checks (stdlib only; `python3 scripts/check_docs.py`, part of `make test`).

- Every relative markdown link and image in README.md, docs/*.md, SECURITY.md and BENCHMARKS.md
  points to a file or folder that exists in the repository.
- Every `#anchor` (same file or another .md file) matches a heading of the target, slugged the way
  GitHub does it (lowercase, punctuation dropped, spaces to hyphens, repeats get -1, -2, ...), or an
  explicit `<a id="...">` / `<a name="...">`.
- README.md is at most 12288 bytes (issue #21: the README is an overview; the rest lives in docs/).

Prints one line per problem (`file:line: problem`) and exits 1 if there is any, else prints a
one-line summary and exits 0. Links inside fenced code blocks and inline code are not links.
"""

import re
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
README_MAX_BYTES = 12 * 1024

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
HTML_ID = re.compile(r"""<a\s+[^>]*?(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); the text may hold one level of brackets (an image in a link).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[\"'(][^)]*)?\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def files_to_check():
    names = [ROOT / "README.md", ROOT / "SECURITY.md", ROOT / "BENCHMARKS.md"]
    names += sorted((ROOT / "docs").glob("*.md"))
    return [p for p in names if p.is_file()]


def prose_lines(text):
    """(line number, line) outside fenced code blocks."""
    fence = None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        yield n, line


def heading_text(raw):
    """The rendered text of a heading: code spans kept as their content, links as their text,
    emphasis markers and HTML tags (outside code) dropped."""
    parts, last = [], 0
    for m in CODE_SPAN.finditer(raw):
        parts.append(_plain(raw[last:m.start()]))
        parts.append(m.group(2).strip())
        last = m.end()
    parts.append(_plain(raw[last:]))
    return "".join(parts)


def _plain(t):
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", t)
    t = re.sub(r"</?[a-zA-Z][^>]*>", "", t)
    return t.replace("**", "").replace("*", "")


def slug(text):
    """GitHub's heading slug (github-slugger): lowercase, keep letters, digits, marks, `-`, `_`
    and spaces, then spaces become hyphens (runs are not collapsed)."""
    out = []
    for ch in text.strip().lower():
        if ch.isalnum() or ch in "-_ " or unicodedata.category(ch).startswith("M"):
            out.append("-" if ch == " " else ch)
    return "".join(out)


_anchor_cache = {}


def anchors_of(path):
    if path not in _anchor_cache:
        text = path.read_text(encoding="utf-8")
        seen, found = {}, set()
        prev = None
        for _, line in prose_lines(text):
            for m in HTML_ID.finditer(line):
                found.add(m.group(1))
            heading = None
            m = ATX.match(line)
            if m:
                heading = m.group(2)
            elif prev is not None and prev.strip() and SETEXT.match(line) and not ATX.match(prev):
                heading = prev.strip()
            prev = line
            if heading is None:
                continue
            base = slug(heading_text(heading))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
        _anchor_cache[path] = found
    return _anchor_cache[path]


def link_targets(line):
    bare = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
    for m in INLINE_LINK.finditer(bare):
        yield m.group(1)
    m = REF_DEF.match(bare)
    if m:
        yield m.group(1)


def check_file(path, problems):
    rel = path.relative_to(ROOT)
    text = path.read_text(encoding="utf-8")
    for n, line in prose_lines(text):
        for target in link_targets(line):
            target = target.strip("<>")
            if not target or SCHEME.match(target) or target.startswith("//"):
                continue
            file_part, _, anchor = target.partition("#")
            file_part = unquote(file_part.split("?", 1)[0])
            if file_part:
                dest = (ROOT / file_part.lstrip("/")) if file_part.startswith("/") else (path.parent / file_part)
                dest = dest.resolve()
                try:
                    dest.relative_to(ROOT)
                except ValueError:
                    problems.append(f"{rel}:{n}: link {target} leaves the repository")
                    continue
                if not dest.exists():
                    problems.append(f"{rel}:{n}: link {target}: {file_part} does not exist")
                    continue
            else:
                dest = path
            if not anchor:
                continue
            anchor = unquote(anchor)
            if dest.is_dir() or dest.suffix.lower() != ".md":
                continue  # GitHub line anchors (#L10) and the like: not headings
            if anchor not in anchors_of(dest):
                problems.append(f"{rel}:{n}: link {target}: no heading #{anchor} in {dest.relative_to(ROOT)}")


def main():
    problems = []
    checked = files_to_check()
    for path in checked:
        check_file(path, problems)
    readme = ROOT / "README.md"
    if readme.is_file():
        size = readme.stat().st_size
        if size > README_MAX_BYTES:
            problems.append(f"README.md: {size} bytes, over the {README_MAX_BYTES}-byte limit (move detail to docs/)")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"check_docs: {len(checked)} files, every relative link and anchor resolves; "
          f"README.md {readme.stat().st_size} bytes (limit {README_MAX_BYTES})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
