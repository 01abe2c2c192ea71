"""The layering of docs/architecture.md and the domain registry, checked on the source itself:
`dsl` never imports `levinsearch`; no project module imports itself back through a
chain of imports; nothing outside a domain's package branches on a domain's name; only
`dsl` and the domain packages import a domain's DSL (dsl.grid, dsl.seq, dsl.tm), and a
seq or tm run never loads the grid's."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dsl", "levinsearch")


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def is_main_block(node: ast.AST) -> bool:
    """`if __name__ == "__main__":`: code that runs only when the module is a script."""
    return isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and \
        isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__" and \
        any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators)


def walk_imported(tree: ast.AST):
    """Every node of the tree that runs when the module is imported or its functions are
    called: all but `if __name__ == "__main__":` blocks (a script's, never imported)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not is_main_block(child))


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules imported anywhere in the file (function-level imports included;
    not those of an `if __name__ == "__main__":` block, which no import runs)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in walk_imported(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from package import module` depends on that module (package __init__ files
            # load nothing eagerly); `from module import name` on the module.
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            targets = submodules or [base]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, name, set(mods)) for name, path in mods.items()}


def test_dsl_never_imports_levinsearch():
    bad = {m: sorted(d for d in deps if d.startswith("levinsearch")) for m, deps in graph().items()
           if m.startswith("dsl")}
    assert not {m: d for m, d in bad.items() if d}


def test_there_is_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for d in sorted(g[m]):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [])
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


BRANCH = re.compile(r"""(==|!=)\s*['"](grid|seq|tm)['"]|['"](grid|seq|tm)['"]\s*(==|!=)|in\s*\(\s*['"](grid|seq|tm)['"]""")


def test_no_branch_on_a_domain_name_outside_the_domain_packages():
    offenders = []
    for name, path in modules().items():
        if name.startswith("levinsearch.domains.") and name != "levinsearch.domains.base":
            continue
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if BRANCH.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{k}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# ------------------------------------------------------------------ domain DSLs stay in their domains
#: The DSL packages of the domains: the subpackages of dsl/ (dsl/grid, dsl/seq, dsl/tm);
#: the modules at dsl/'s top level (grammar, syntax, tree, ...) are shared by every domain.
DOMAIN_DSLS = sorted(f"dsl.{p.name}" for p in (ROOT / "dsl").iterdir() if (p / "__init__.py").is_file())


def domain_dsl_imports(source: str, name: str) -> list[str]:
    """The domain DSL modules (dsl.<domain> and below) that the module `name` with this
    source imports: import statements anywhere in it (function-level ones included), and
    module names passed whole as strings (importlib.import_module("dsl.grid.kernels"))."""
    found = []
    package = name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            # `from dsl import grid` imports the package dsl.grid; `from dsl.grid.world import
            # WALL` the module dsl.grid.world.
            targets = [f"{base}.{a.name}" for a in node.names] if base == "dsl" else [base]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            targets = [node.value]
        else:
            continue
        found += [t for t in targets if any(t == d or t.startswith(d + ".") for d in DOMAIN_DSLS)]
    return sorted(set(found))


def test_the_domain_dsls_are_the_subpackages_of_dsl():
    assert {"dsl.grid", "dsl.seq", "dsl.tm"} <= set(DOMAIN_DSLS)
    assert "dsl.grammar" not in DOMAIN_DSLS


def test_the_import_check_sees_every_kind_of_import():
    source = """
import dsl.grid.world
from dsl.seq import kernels
from dsl import tm
from dsl.grammar import Grammar
import importlib

def later():
    from dsl.grid.reference import GridReference
    return importlib.import_module("dsl.tm.kernels"), "a dsl.grid docstring"
"""
    assert domain_dsl_imports(source, "levinsearch.x") == [
        "dsl.grid.reference", "dsl.grid.world", "dsl.seq", "dsl.tm", "dsl.tm.kernels"]
    assert domain_dsl_imports("from dsl.grammar import Grammar\nimport numpy\n", "levinsearch.x") == []


def test_only_dsl_and_the_domain_packages_import_a_domain_dsl():
    """The engine reads the Judge, the Aggregate and what a domain hands it: no module
    outside dsl/ and levinsearch/domains/ imports dsl.grid, dsl.seq, dsl.tm or below."""
    offenders = {}
    for name, path in modules().items():
        if name == "dsl" or name.startswith("dsl.") or name.startswith("levinsearch.domains."):
            continue
        found = domain_dsl_imports(path.read_text(), name)
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert not offenders


_NO_GRID = """
import io, sys
from rich.console import Console
from levinsearch import domains, experiments, pipeline
domain = domains.get(sys.argv[1])
record = pipeline.run_experiment(experiments.resolve(domain.example(), {}, domains=domains))
Console(file=io.StringIO(), width=120).print(domain.report(record))
print(sorted(m for m in sys.modules if m == "dsl.grid" or m.startswith(("dsl.grid.", "levinsearch.domains.grid"))))
"""


@pytest.mark.parametrize("domain", ["seq", "tm"])
def test_a_seq_or_tm_run_does_not_load_the_grid(domain):
    """A seq or tm run, its analyses and its report, in a fresh interpreter: the grid
    domain and its DSL are never imported."""
    out = subprocess.run([sys.executable, "-c", _NO_GRID, domain], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


#: The entry points: they find a domain in the registry (`levinsearch.domains`) and hand
#: it, or the registry, down to the engine. `cli`, `api`, `pipeline` and `report` are the
#: entry points of docs/architecture.md; `clihelp` (the command line's completions and
#: help) and `docgen` (docs/commands.md from the commands' --help) are parts of the
#: command line, so they count as entry points too, and `conformance` is the entry
#: point of `levinsearch.check_domain` (it checks a Domain object, whose class it reads).
ENTRY_POINTS = {f"levinsearch.{name}" for name in ("cli", "api", "pipeline", "report", "clihelp", "docgen",
                                                   "conformance")}


def registry_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of `levinsearch.domains` or a module under it in
    the file, function-level imports included, except those under an
    `if __name__ == "__main__":` block: a module run as a script (`python -m
    levinsearch.types` regenerates the schema) is a command-line entry point there."""
    found = []
    for node in walk_imported(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            base = node.module or ""
            targets = [f"{base}.{a.name}" for a in node.names] if base == "levinsearch" else [base]
        elif isinstance(node, ast.ImportFrom):
            # Relative imports: levinsearch/ uses none; one would name its module here.
            targets = ["." * node.level + (node.module or "")]
        else:
            continue
        found += [(node.lineno, t) for t in targets
                  if t == "levinsearch.domains" or t.startswith("levinsearch.domains.") or t.startswith(".")]
    return found


def test_only_the_entry_points_import_the_domain_registry():
    """The engine is handed its domain (or the registry) by its caller; it never looks
    one up itself."""
    offenders = []
    for name, path in modules().items():
        if not name.startswith("levinsearch") or name == "levinsearch.domains" or \
                name.startswith("levinsearch.domains.") or name in ENTRY_POINTS:
            continue
        offenders += [f"{path.relative_to(ROOT)}:{line}: imports {target}" for line, target in registry_imports(path)]
    assert not offenders, "\n".join(offenders)


def test_the_registry_rule_sees_every_form_of_import(tmp_path):
    # The rule must catch each way of importing the registry, and not the __main__ block.
    caught = ["from levinsearch import domains", "from levinsearch import tail, domains as d",
              "import levinsearch.domains", "from levinsearch.domains import get",
              "from levinsearch.domains.base import Prepared", "import levinsearch.domains.grid as g",
              "def f():\n    from levinsearch import domains", "from . import domains"]
    for k, source in enumerate(caught):
        path = tmp_path / f"m{k}.py"
        path.write_text(source + "\n")
        assert len(registry_imports(path)) == 1, source
    path = tmp_path / "fine.py"
    path.write_text("from levinsearch import tail\nimport levinsearch.domainsx\n"
                    "if __name__ == '__main__':\n    from levinsearch import domains\n")
    assert registry_imports(path) == []
