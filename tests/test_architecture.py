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
