"""The layering of docs/architecture.md and the domain registry, checked on the source itself:
`dsl` never imports `levinsearch`; no project module imports itself back through a
chain of imports; nothing outside a domain's package branches on a domain's name."""
from __future__ import annotations

import ast
import re
from pathlib import Path

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


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules imported anywhere in the file (function-level imports included)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
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


#: The entry points: they find a domain in the registry (`levinsearch.domains`) and hand
#: it, or the registry, down to the engine. `cli`, `api`, `pipeline` and `report` are the
#: entry points of docs/architecture.md; `clihelp` (the command line's completions and
#: help) and `docgen` (docs/commands.md from the commands' --help) are parts of the
#: command line, so they count as entry points too.
ENTRY_POINTS = {f"levinsearch.{name}" for name in ("cli", "api", "pipeline", "report", "clihelp", "docgen")}


def registry_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of `levinsearch.domains` or a module under it in
    the file, function-level imports included, except those under an
    `if __name__ == "__main__":` block: a module run as a script (`python -m
    levinsearch.types` regenerates the schema) is a command-line entry point there."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and \
                isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__" and \
                any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators):
            skipped |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
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
