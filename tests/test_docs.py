"""The documentation holds together: README.md and docs/*.md.

- Every relative link resolves: the file or folder exists, and a `#anchor` matches a heading of the
  target page as GitHub spells it (its slug).
- README.md is a map, at most 200 lines.
- Every figure names the command that reproduces it. A *figure* is a block of prose (a paragraph or
  list item) or a table, outside code, that holds a measured number: a number with a unit of time,
  size, rate or share (`12 ms`, `0.5 s`, `9 MB`, `974 img/s`, `100.0%`, `36.7 dB`, ...) or an
  FD_face value; a table also counts when its header names a measured column (`CPU s`, `images/s`,
  `FD_face`, `PSNR`, `p99`, ...). Its section (the text under the same heading, up to the next
  heading) must hold a command in code: a code span or code block line that starts with `figment`,
  `python -m`, `python -c`, `make` or `pytest` (after any `VAR=value` settings or a `.venv/bin/`
  prefix). A block that links to a web page is quoting a figure measured elsewhere (a paper), with
  its source, and is not ours to reproduce.
- Paths of the project's own files named in code spans (`bot/quiz/service.py`,
  `db/games.py: start_clock`), modules run with `python -m ...` and modules imported in commands or
  named in code (`bot.imaging.quiz_image`) exist. These are written for the layout with the game in
  `bot/quiz/`; until that folder exists the check skips, saying so.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

# Folders made at run time, named by the docs but never in the repository.
MADE_AT_RUN_TIME = {"generator/weights/training"}

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)  # a span may cross a line break
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")

UNIT = r"(?:ms|s|min|minutes|h|hours|MB|MiB|GB|GiB|kB|KB|bytes|img/s|images/s|faces/s|photos/s|/s|TFLOP/s|GFLOP|dB|Mpx|%)"
MEASURED_NUMBER = re.compile(rf"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:-\d[\d,]*(?:\.\d+)?)?\s?{UNIT}(?![\w])"
                             r"|FD_face\b[^.\n]{0,40}?(?<![\w.])\d")
MEASURED_HEADER = re.compile(r"\b(?:ms|CPU|MB|bytes|img/s|images/s|faces/s|TFLOP/s|FD_face|PSNR|SWD|C2ST|"
                             r"p50|p99|rate|accuracy|classifier|detected|delay|answered after|result)\b", re.I)
COMMAND = re.compile(r"^(?:\$\s+)?(?:[A-Z][A-Z0-9_]*=\S*\s+)*(?:\.venv/bin/|\S*/)?"
                     r"(?:figment\b|python3? -[mc]\b|make\b|pytest\b)")
PROJECT_PATH = re.compile(r"^(?:bot|db|generator|migrations|tests|docs)/[\w./-]*")
DOTTED_MODULE = re.compile(r"^(?:bot|db|generator)(?:\.\w+)+$")
FILE_NAME = re.compile(r"\.(?:safetensors|py|md|png|jpe?g|json|jsonl|pkl|pt|sh|txt|npz|db)$")  # `generator.safetensors`
RUN_MODULE = re.compile(r"python3? -m ((?:bot|db|generator)(?:\.\w+)+)")
IMPORTED_MODULE = re.compile(r"from ((?:bot|db|generator)(?:\.\w+)+) import")


@dataclass
class Block:
    kind: str  # "prose", "table" or "code"
    lines: list[str]
    line_no: int

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Section:
    heading: str
    line_no: int
    blocks: list[Block] = field(default_factory=list)


def parse(path: Path) -> list[Section]:
    """A page as sections (split at every heading) of blocks (prose, tables, code)."""
    sections = [Section("(top)", 1)]
    block: Block | None = None
    fence: str | None = None

    def close() -> None:
        nonlocal block
        if block is not None:
            sections[-1].blocks.append(block)
        block = None

    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
                close()
            else:
                assert block is not None
                block.lines.append(line)
            continue
        match = FENCE.match(line)
        if match:
            close()
            fence = match.group(1)
            block = Block("code", [], no)
            continue
        heading = HEADING.match(line)
        if heading:
            close()
            sections.append(Section(heading.group(2), no))
            continue
        if not line.strip():
            close()
            continue
        kind = ("table" if line.lstrip().startswith("|")
                else "code" if line.startswith("    ") and (block is None or block.kind == "code") else "prose")
        if kind == "prose" and block is not None and block.kind == "prose" and re.match(r"\s*[-*] |\s*\d+\. ", line):
            close()  # each list item is a block of its own
        if block is None or block.kind != kind:
            close()
            block = Block(kind, [], no)
        block.lines.append(line[4:] if kind == "code" else line)
    close()
    return sections


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: formatting dropped, lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = text.lower()
    kept = "".join(ch for ch in text
                   if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for section in parse(path)[1:]:
        base = slug(section.heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def prose_of(block: Block) -> str:
    """A block's text without its code spans (an option in a command is no figure)."""
    return CODE_SPAN.sub(" ", block.text)


def code_texts(section: Section) -> list[str]:
    texts = []
    for block in section.blocks:
        if block.kind == "code":
            texts.extend(block.lines)
        else:
            texts.extend(" ".join(match.group(2).split()) for match in CODE_SPAN.finditer(block.text))
    return texts


def has_command(section: Section) -> bool:
    return any(COMMAND.match(text.strip()) for text in code_texts(section))


def is_figure(block: Block) -> bool:
    if block.kind == "code":
        return False
    text = prose_of(block)
    if re.search(r"\]\(https?://", text):
        return False  # a figure quoted from its source
    if block.kind == "table" and MEASURED_HEADER.search(CODE_SPAN.sub(" ", block.lines[0])):
        return True
    return bool(MEASURED_NUMBER.search(text))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_links_resolve(page: Path) -> None:
    broken = []
    for section in parse(page):
        for block in section.blocks:
            if block.kind == "code":
                continue
            for match in LINK.finditer(CODE_SPAN.sub(" ", block.text)):
                target = match.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                    continue
                name, _, anchor = target.partition("#")
                where = (page.parent / name).resolve() if name else page
                if not where.exists():
                    broken.append(f"line {block.line_no}: {target}: no such file")
                elif anchor and where.suffix == ".md" and anchor not in anchors(where):
                    broken.append(f"line {block.line_no}: {target}: no heading #{anchor} in {rel(where)}")
    assert not broken, f"{rel(page)} has broken links:\n" + "\n".join(broken)


def test_readme_is_a_map() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the manual belongs in docs/"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_figure_names_its_command(page: Path) -> None:
    missing = []
    for section in parse(page):
        if has_command(section):
            continue
        for block in section.blocks:
            if is_figure(block):
                first = prose_of(block).strip().splitlines()[0][:90]
                missing.append(f"line {block.line_no} (section {section.heading!r}): {first}")
    assert not missing, (f"{rel(page)}: figures without the command that reproduces them in their section "
                         "(a code span or block with `figment ...`, `python -m ...`, `make ...` or `pytest ...`):\n"
                         + "\n".join(missing))


def module_exists(dotted: str, *, attribute_allowed: bool) -> bool:
    parts = dotted.split(".")
    tries = [parts, parts[:-1]] if attribute_allowed and len(parts) > 2 else [parts]
    for candidate in tries:
        base = ROOT.joinpath(*candidate)
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return True
    return False


def named_paths(page: Path) -> list[tuple[int, str, str]]:
    """(line, kind, name) for every project path and module the page names in code."""
    found = []
    for section in parse(page):
        for block in section.blocks:
            texts = block.lines if block.kind == "code" else [" ".join(m.group(2).split()) for m in CODE_SPAN.finditer(block.text)]
            for text in texts:
                for match in RUN_MODULE.finditer(text):
                    found.append((block.line_no, "run", match.group(1)))
                for match in IMPORTED_MODULE.finditer(text):
                    found.append((block.line_no, "import", match.group(1)))
                if block.kind == "code":
                    continue
                path = PROJECT_PATH.match(text)
                if path and not re.search(r"[*<>]|\.\.\.|-N\b", text):
                    found.append((block.line_no, "path", path.group(0).rstrip("/.")))
                elif DOTTED_MODULE.match(text) and not FILE_NAME.search(text):
                    found.append((block.line_no, "module", text))
    return found


@pytest.mark.skipif(not (ROOT / "bot" / "quiz").is_dir(),
                    reason="the docs name modules of the layout with the game in bot/quiz/, not here yet")
@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_named_paths_exist(page: Path) -> None:
    missing = []
    for line, kind, name in named_paths(page):
        if kind == "path":
            ok = (ROOT / name).exists() or name in MADE_AT_RUN_TIME
        else:
            ok = module_exists(name, attribute_allowed=kind == "module")
        if not ok:
            missing.append(f"line {line}: {name} ({kind})")
    assert not missing, f"{rel(page)} names paths that do not exist:\n" + "\n".join(missing)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The rules above catch what they are meant to: a broken anchor, a figure without a command."""
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n## Speed: fast\n\nIt takes 12 ms.\n\n| a | CPU s |\n| --- | --- |\n| x | 1 |\n\n"
                    "## Quoted\n\n48.2% in [a paper](https://example.org).\n\n## Settings\n\nWaits `--minutes 30`.\n",
                    encoding="utf-8")
    sections = {s.heading: s for s in parse(page)}
    assert anchors(page) == {"top", "speed-fast", "quoted", "settings"}
    speed = sections["Speed: fast"]
    assert [is_figure(b) for b in speed.blocks] == [True, True] and not has_command(speed)
    assert not any(is_figure(b) for b in sections["Quoted"].blocks)
    assert not any(is_figure(b) for b in sections["Settings"].blocks)
    page.write_text("## Speed\n\nIt takes 12 ms: `figment bench db`.\n\n    make test\n", encoding="utf-8")
    assert all(has_command(s) for s in parse(page)[1:])
    assert slug("Health: /livez and /readyz") == "health-livez-and-readyz"
    assert slug("Curated faces: the best 1 of K") == "curated-faces-the-best-1-of-k"
