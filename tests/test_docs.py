"""The documentation (README.md and docs/*.md) against the code.

1. Every command of the `levinsearch` command tree (walked from `levinsearch.cli.cli`,
   so groups and the commands domains add at run time are included) is documented: as
   `levinsearch NAME ...` somewhere, or in a heading; and every long option of every
   command (`--max-bits`, both halves of `--progress/--no-progress`) appears somewhere.
2. Every command line in a fenced code block (a line starting with `levinsearch `,
   `.venv/bin/levinsearch ` or either after a `$ ` prompt) parses: it is split with
   shlex, cut at the first shell operator (`>`, `|`, `&&`, ...), its subcommand chain
   is resolved through the click groups, and `make_context` is called on the leaf
   command. That checks option names, choices, types and arity without running
   anything. Lines that hold a placeholder (see PLACEHOLDER) are skipped.
3. README.md has at most 300 lines and links every docs/*.md page that exists.
   Every "N bundled experiments" in README.md and docs/*.md says len(bundled()), and
   the README's and docs/running.md's tables name every bundled experiment.
4. Relative links in README.md and docs/*.md point to files that exist, and a link
   with an anchor to a Markdown file points to a heading (or an explicit
   `<a id="...">`) of that file. Pages that other branches add and that the README
   links before they land (PENDING_PAGES) may be missing.

Fast: nothing runs but click's parser.
"""
from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import click
import pytest

from levinsearch.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS_DIR = ROOT / "docs"
README_MAX_LINES = 300
#: Pages owned by other branches that the README links before they are merged.
PENDING_PAGES = {"docs/grid-heuristics.md", "docs/figures.md"}
#: A command line holding one of these is a template, not a command: skipped by test 2.
#: RUN, EXPERIMENT, DOMAIN, PROGRAM, NAME, KEY, FILE, DIR, ADDRESS, SPLIT (metavariables
#: as the --help texts write them), and "..." or "…" (an elided part).
PLACEHOLDER = re.compile(r"\b(RUN|EXPERIMENT|DOMAIN|PROGRAM|NAME|KEY|FILE|DIR|ADDRESS|SPLIT)\b|\.\.\.|…")
#: Shell tokens after which a command line's arguments end.
SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&", "&&", ";", "2>", "2>&1", "&>"}
COMMAND_PREFIX = re.compile(r"^(?:\$ )?(?:\.venv/bin/)?levinsearch(?: |$)")


def pages() -> list[Path]:
    return [README, *sorted(DOCS_DIR.glob("*.md"))]


def page_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def fenced_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line inside a fenced code block; a line ending in a
    backslash is joined with the next (a shell continuation)."""
    out, fence, pending = [], None, None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        match = re.match(r"^(`{3,}|~{3,})", stripped)
        if match and (fence is None or stripped.startswith(fence)):
            fence = match.group(1) if fence is None else None
            continue
        if fence is not None:
            if pending is not None:
                pending = (pending[0], pending[1].rstrip()[:-1] + " " + stripped)
            else:
                pending = (number, line)
            if not pending[1].rstrip().endswith("\\"):
                out.append(pending)
                pending = None
    return out


def prose(text: str) -> str:
    """The text outside fenced code blocks."""
    inside = {n for n, _ in fenced_lines(text)}
    lines = text.splitlines()
    fences = {n for n, line in enumerate(lines, 1) if re.match(r"^\s*(`{3,}|~{3,})", line)}
    return "\n".join(line for n, line in enumerate(lines, 1) if n not in inside and n not in fences)


# ------------------------------------------------------------------ the command tree
def command_tree() -> list[tuple[tuple[str, ...], click.Command]]:
    """(path, command) of every command below `levinsearch`, groups included; the
    root group itself has the empty path."""
    out = []

    def walk(path: tuple[str, ...], command: click.Command) -> None:
        out.append((path, command))
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                walk(path + (name,), command.commands[name])

    walk((), cli)
    return out


def long_options(command: click.Command) -> list[str]:
    names = []
    for param in command.params:
        if isinstance(param, click.Option):
            names += [o for o in [*param.opts, *param.secondary_opts] if o.startswith("--")]
    return names


ALL_TEXT = None


def all_text() -> str:
    global ALL_TEXT
    if ALL_TEXT is None:
        ALL_TEXT = "\n".join(page_text(p) for p in pages())
    return ALL_TEXT


def headings() -> list[str]:
    """Markdown headings (lines outside code blocks that start with #)."""
    return [line for page in pages() for line in prose(page_text(page)).splitlines() if re.match(r"^#{1,6} ", line)]


@pytest.mark.parametrize("path,command", [(p, c) for p, c in command_tree() if p], ids=lambda x: " ".join(x)
                         if isinstance(x, tuple) else "")
def test_every_command_is_documented(path, command):
    name = " ".join(path)
    text = all_text()
    as_command = re.search(rf"levinsearch {re.escape(name)}(?![\w-])", text)
    in_heading = any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", h) for h in headings())
    assert as_command or in_heading, f"`levinsearch {name}` appears nowhere in README.md or docs/*.md"


OPTION_CASES = [(p, o) for p, c in command_tree() for o in long_options(c)]


@pytest.mark.parametrize("path,option", OPTION_CASES, ids=[" ".join(p + (o,)) for p, o in OPTION_CASES])
def test_every_option_is_documented(path, option):
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", all_text()), \
        f"{option} (of `levinsearch {' '.join(path)}`) appears nowhere in README.md or docs/*.md"


def test_the_tree_is_walked():
    """The walk sees the built-in commands and at least one domain's own command."""
    names = {p[0] for p, _ in command_tree() if p}
    assert {"run", "sweep", "report", "runs", "enumerate", "dsl", "show", "experiments"} <= names
    assert "grid-format" in names  # added by the grid domain at run time
    assert "--max-bits" in long_options(dict(command_tree())[("run",)])


# ------------------------------------------------------------------ command lines in code blocks
def command_lines() -> list[tuple[str, int, str]]:
    out = []
    for page in pages():
        for number, line in fenced_lines(page_text(page)):
            stripped = line.strip()
            if COMMAND_PREFIX.match(stripped):
                out.append((str(page.relative_to(ROOT)), number, stripped))
    return out


def arguments(line: str) -> list[str]:
    """The arguments after `levinsearch`, up to the first shell operator or comment."""
    line = re.sub(r"^\$ ", "", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    args = []
    for token in tokens[1:]:
        if token in SHELL_OPERATORS or re.fullmatch(r"[0-9]?[<>|&;]+.*", token):
            break
        args.append(token)
    return args


def parse_command_line(args: list[str]) -> click.Command:
    """Resolve the subcommand chain and parse the leaf's arguments (click's checks
    of names, choices, types and arity); return the leaf command."""
    command: click.Command = cli
    ctx = None
    name = "levinsearch"
    while True:
        ctx = command.make_context(name, list(args), parent=ctx)
        if not isinstance(command, click.Group):
            return command
        rest = [*ctx._protected_args, *ctx.args] if hasattr(ctx, "_protected_args") else \
            [*ctx.protected_args, *ctx.args]
        if not rest:
            return command
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None, f"unknown command {rest[0]!r}"
        command = sub


LINES = command_lines()


def test_there_are_command_lines():
    assert len(LINES) >= 20


@pytest.mark.parametrize("page,number,line", LINES, ids=[f"{p}:{n}" for p, n, _ in LINES])
def test_command_lines_parse(page, number, line):
    if PLACEHOLDER.search(line):
        pytest.skip("a template with a placeholder")
    try:
        parse_command_line(arguments(line))
    except click.exceptions.Exit as exc:  # --help, --version: parsed, then exited
        assert exc.exit_code == 0
    except click.exceptions.NoArgsIsHelpError:
        pass
    except click.ClickException as exc:
        pytest.fail(f"{page}:{number}: `{line}` does not parse: {exc.format_message()}")


def test_the_parser_is_strict():
    """The check above fails on an unknown option, a bad choice and a bad type."""
    parse_command_line(arguments("levinsearch run red-door --max-bits 16 --order levin --json > x.json"))
    for bad in ("levinsearch run --max-bits lots", "levinsearch run --order fastest", "levinsearch run --no-such",
                "levinsearch no-such-command", "levinsearch enumerate nowhere --max-bits 4"):
        with pytest.raises((click.ClickException, AssertionError)):
            parse_command_line(arguments(bad))


# ------------------------------------------------------------------ the README
def test_readme_is_short():
    lines = page_text(README).splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; at most {README_MAX_LINES}"


def test_readme_links_every_docs_page():
    text = page_text(README)
    missing = [p.name for p in sorted(DOCS_DIR.glob("*.md")) if not re.search(rf"\]\(docs/{re.escape(p.name)}(#|\))",
                                                                              text)]
    assert not missing, f"README.md does not link {', '.join(missing)}"


NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
                "twenty-one", "twenty-two", "twenty-three", "twenty-four", "twenty-five"]
EXPERIMENT_COUNT = re.compile(r"\b(\d+|[a-z]+(?:-[a-z]+)?)\s+bundled\s+experiments\b", re.IGNORECASE)


def test_every_experiment_count_is_the_bundled_count():
    from levinsearch.experiments import bundled
    n = len(bundled())
    found = []
    for page in pages():
        for match in EXPERIMENT_COUNT.finditer(page_text(page)):
            word = match.group(1).lower()
            if not word.isdigit() and word not in NUMBER_WORDS:
                continue  # "the bundled experiments", "every bundled experiments' ..."
            value = int(word) if word.isdigit() else NUMBER_WORDS.index(word)
            found.append((page.name, match.group(0)))
            assert value == n, f"{page.relative_to(ROOT)}: {match.group(0)!r}, but there are {n} bundled experiments"
    assert {"README.md", "running.md"} <= {name for name, _ in found}, found


@pytest.mark.parametrize("page", ["README.md", "docs/running.md"])
def test_experiment_tables_name_every_bundled_experiment(page):
    from levinsearch.experiments import bundled
    text = page_text(ROOT / page)
    missing = [name for name in bundled() if f"`{name}`" not in text]
    assert not missing, f"{page} does not name {', '.join(missing)}"


# ------------------------------------------------------------------ links
def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\*|_(?=\w)|(?<=\w)_", lambda m: "_" if m.group(0) == "_" else "", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
    text = text.lower()
    text = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = prose(page_text(path))
    out: set[str] = set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
    seen: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^#{1,6} +(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return out


def links(path: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", prose(page_text(path)))  # not inside inline code
    return re.findall(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)


LINK_CASES = [(str(p.relative_to(ROOT)), target) for p in pages() for target in links(p)
              if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]


def test_there_are_links():
    assert len(LINK_CASES) >= 20


@pytest.mark.parametrize("page,target", LINK_CASES, ids=[f"{p}->{t}" for p, t in LINK_CASES])
def test_relative_links_resolve(page, target):
    source = ROOT / page
    file_part, _, anchor = target.partition("#")
    dest = (source.parent / file_part).resolve() if file_part else source
    relative = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
    if not dest.exists():
        assert relative in PENDING_PAGES, f"{page}: link to {target}: no such file"
        return
    if anchor and dest.suffix == ".md":
        assert anchor in anchors(dest), f"{page}: link to {target}: {relative} has no heading with that anchor"
