"""Conformance checks of a domain, outside pytest (in the spirit of Gymnasium's check_env).

`check_domain(domain)` runs every check on a `Domain` object, registered or not, on its
own `example()` experiment, and raises `DomainCheckError` listing each check that
failed (it returns None when all pass). The checks:

- interface: a `Domain` instance with a short name, the required methods and attributes
  of the right types (`domains.base.interface_problems`);
- judge: the judge of `prepare` agrees with `reference_judge` on sampled programs
  (fits, successes, steps, behaviour rows, and fits under Levin step caps), and the
  example has programs that fit and programs that do not;
- counts: the grammar's enumeration and exact counts agree with the reference enumerator;
- record: the run record has the shared fields, keeps its own arithmetic, matches the
  JSON Schema of the shared types with the domain's summary, behaviour and kept-program
  types, and its report shows the best program;
- determinism: the record does not depend on the batch size (nor, when Numba has two
  threads, on the number of threads);
- show: `show` of `show_example()` gives a show record whose report shows the program.

tests/test_domains.py runs each check on every registered domain.
"""
from __future__ import annotations

import io
from collections import Counter
from typing import Any, Callable

import numpy as np

from dsl.errors import DslError
from levinsearch.domains.base import Domain, interface_problems

#: No step cap (the judge's caps are int64).
NO_CAP = np.int64(1) << 62


class DomainCheckError(DslError):
    """A domain failed conformance checks; `problems` holds one line per failed check."""

    def __init__(self, name: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"domain {name!r} fails {len(problems)} conformance check{'s' * (len(problems) != 1)}:\n"
                         + "\n".join(f"- {p}" for p in problems))


class CheckFailed(Exception):
    """One check's failure (its message is the line check_domain lists)."""


def need(ok: bool, what: str | Callable[[], str]) -> None:
    """Fail the check with `what` (a line, or a function making it: only then) unless ok."""
    if not ok:
        raise CheckFailed(what() if callable(what) else what)


class _Alone:
    """A registry of the one domain being checked (which need not be registered)."""

    def __init__(self, domain: Domain):
        self.domain, self.DEFAULT = domain, domain.name

    def names(self) -> tuple[str, ...]:
        return (self.domain.name,)

    def builtin_names(self) -> tuple[str, ...]:
        return ()

    def get(self, name: str) -> Domain:
        if name != self.domain.name:
            raise DslError(f"unknown domain {name!r} (checking {self.domain.name!r})")
        return self.domain


def example_config(domain: Domain, **search) -> dict[str, Any]:
    """The resolved config of `domain.example()`, with `search` settings changed."""
    from levinsearch import experiments
    raw = domain.example()
    named = raw.get("experiment", {}).get("domain") if isinstance(raw.get("experiment"), dict) else None
    need(named in (None, domain.name), f"example() names domain {named!r}, not {domain.name!r}")
    config = experiments.resolve(raw, {}, domains=_Alone(domain), domain=domain)
    config["search"].update(search)
    return config


def render(renderable) -> str:
    """The text a rich renderable prints (140 columns)."""
    from rich.console import Console
    console = Console(width=140, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def sample_programs(prep, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n programs unranked at random (half over all, half over a random length), plus the
    first fitting ones of the enumeration (up to 20), padded to the enumerator's width."""
    en = prep.enumerator
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k, mbits, count = en.levels[int(rng.integers(len(en.levels)))] if i % 2 else \
            en.levels[int(np.searchsorted(np.cumsum([c for _, _, c in en.levels]), rng.integers(en.total), "right"))]
        ops, sizes = en.unrank(k, int(rng.integers(count)), 1)
        rows.append((ops[0], sizes[0]))
    for batch in en.batches(4096):
        fits, _, _ = prep.judge.fit(batch.ops, batch.sizes, np.full(len(batch), NO_CAP))
        rows += [(batch.ops[i], batch.sizes[i]) for i in np.flatnonzero(fits)[:20]]
        if len(rows) >= n + 20:
            break
    return np.stack([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=np.int32)


def check_interface(domain: Domain) -> None:
    """The domain's type, name, methods and attributes (nothing is run)."""
    wrong = interface_problems(domain)
    need(not wrong, "; ".join(wrong))


def check_judge(domain: Domain) -> None:
    """The judge of `prepare` against the reference judge, on sampled programs."""
    from dsl.syntax import unparse
    prep = domain.prepare(example_config(domain))
    reference = domain.reference_judge(prep)
    ops, sizes = sample_programs(prep, 120, seed=7)
    uncapped = np.full(len(ops), NO_CAP)
    fits, successes, verdict = prep.judge.fit(ops, sizes, uncapped)
    want_fits, want_successes, want_verdict = reference.fit(ops, sizes, uncapped)

    def first(where: np.ndarray) -> str:
        i = int(np.flatnonzero(where)[0])
        return unparse(ops[i, : sizes[i]], prep.grammar)

    differ = np.asarray(fits) != np.asarray(want_fits)
    need(not differ.any(), lambda: f"judge: the judge and the reference judge disagree on whether {first(differ)} "
         "fits")
    need(fits.any() and not fits.all(), "judge: the example needs programs that fit and programs that do not "
         f"({int(fits.sum())} of {len(fits)} sampled fit)")
    differ = fits & (np.asarray(successes) != np.asarray(want_successes))
    need(not differ.any(), lambda: "judge: the judge and the reference judge count different successes for "
         f"{first(differ)}")
    differ = fits & (np.asarray(verdict) != np.asarray(want_verdict))
    need(not differ.any(), lambda: "judge: the judge and the reference judge count different steps for "
         f"{first(differ)}")
    rows = prep.judge.behaviour(ops[fits], sizes[fits])
    want_rows = reference.behaviour(ops[fits], sizes[fits])
    need(np.array_equal(rows, want_rows), "judge: behaviour rows differ from the reference judge's")
    # Levin budgets: a program fits under a cap iff it fits and its steps are within the cap.
    caps = np.maximum(1, (want_verdict * np.random.default_rng(1).uniform(0.3, 1.6, len(ops))).astype(np.int64))
    capped, _, _ = prep.judge.fit(ops, sizes, caps)
    differ = np.asarray(capped) != (want_fits & (want_verdict <= caps))
    need(not differ.any(), lambda: f"judge: under a step cap, {first(differ)} fits when it should not, or not when it "
         "should (a program fits under a cap iff it fits and its steps are within the cap)")


def check_counts(domain: Domain) -> None:
    """Enumeration order and exact counts by length against the reference enumerator."""
    from levinsearch.enumerate import Enumerator, reference_programs
    config = example_config(domain)
    grammar = domain.build_grammar(config)
    bits = min(config["search"]["max_bits"], 14.0)
    listed = [tuple(b.ops[i, : b.sizes[i]].tolist()) for b in Enumerator(grammar, bits).batches(1000)
              for i in range(len(b))]
    reference = reference_programs(grammar, bits)
    need(listed == [ops for _, ops in reference],
         f"counts: the enumerator lists {len(listed)} programs of up to {bits:g} bits, in an order or number "
         f"that differs from the reference enumerator's {len(reference)}")
    need(grammar.counts_by_length(bits) == sorted(Counter(m for m, _ in reference).items()),
         "counts: Grammar.counts_by_length differs from the reference enumerator's counts")


def record_schema(domain: Domain) -> dict[str, Any]:
    """The JSON Schema of a run record of `domain`: the shared types, with its summary,
    behaviour and kept-program types."""
    from levinsearch import types
    schema = types.json_schema(types.RunRecord)
    schema["properties"].update(
        summary=types.json_schema(domain.summary_type),
        behaviours={"type": "array", "items": types.json_schema(domain.behaviour_type)},
        hypotheses={"type": "array", "items": types.json_schema(domain.hypothesis_type)},
        domain={"const": domain.name})
    return schema


def check_record(domain: Domain) -> None:
    """The example's run record: shared fields, arithmetic, schema, and its report."""
    import jsonschema

    from levinsearch import pipeline
    from levinsearch.record import SCHEMA
    record = pipeline.execute(domain.prepare(example_config(domain)))
    need(list(record)[:6] == ["schema", "experiment", "domain", "description", "config", "grammar"],
         f"record: starts with {list(record)[:6]}, not the header of record.run_header")
    need(record["schema"] == SCHEMA and record["domain"] == domain.name,
         f"record: schema {record.get('schema')!r} and domain {record.get('domain')!r}, not {SCHEMA!r} and "
         f"{domain.name!r}")
    missing = [k for k in ("enumeration", "hypotheses", "behaviours", "summary", "versions") if k not in record]
    need(not missing, f"record: no {', '.join(missing)}")
    errors = sorted(jsonschema.Draft202012Validator(record_schema(domain)).iter_errors(record),
                    key=lambda e: len(e.absolute_path))
    need(not errors, lambda: "record: field "
         f"{'.'.join(str(p) for p in errors[0].absolute_path) or '(the record)'}: {errors[0].message[:160]}")
    e = record["enumeration"]
    need(e["programs"] == e["total"] > 0 and 0 < e["fitting"] <= e["programs"],
         f"record: the example judged {e['programs']} of {e['total']} programs, {e['fitting']} fitting "
         "(it must judge them all, and some must fit)")
    need(e["behaviours"] == len(record["behaviours"]) == record["summary"]["behaviours"],
         "record: enumeration.behaviours, summary.behaviours and the behaviours listed differ")
    need(record["summary"]["fitting"] == e["fitting"], "record: summary.fitting differs from enumeration.fitting")
    total = sum(h["posterior"] for h in record["hypotheses"])
    need(total <= 1 + 1e-12, f"record: the kept programs' posteriors add up to {total:.6g}, more than 1")
    total = sum(b["posterior"] for b in record["behaviours"])
    need(abs(total - 1) <= 1e-6, f"record: the behaviours' posteriors add up to {total:.6g}, not 1")
    need([h["rank"] for h in record["hypotheses"]] == list(range(1, len(record["hypotheses"]) + 1)),
         "record: hypotheses are not ranked 1, 2, 3, ...")
    need(bool(record["hypotheses"]) and record["hypotheses"][0]["program"] in render(domain.report(record)),
         "record: the report does not show the best program")


def without_timing(record: dict[str, Any]) -> dict[str, Any]:
    """A run record without what may differ between equivalent runs: wall-clock times,
    provenance and the batch size."""
    record = dict(record)
    record.pop("provenance", None)
    e = {k: v for k, v in record["enumeration"].items() if k not in ("seconds", "compile_seconds")}
    e["per_length"] = [{k: v for k, v in row.items() if k != "seconds"} for row in e["per_length"]]
    record["enumeration"] = e
    record["config"] = dict(record["config"], search={k: v for k, v in record["config"]["search"].items()
                                                      if k != "batch_size"})
    return record


def check_determinism(domain: Domain) -> None:
    """The same record with batches of 7 programs on one thread as with the default
    batches on two (one thread throughout when Numba has only one)."""
    import numba

    from levinsearch import pipeline
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        small = pipeline.execute(domain.prepare(example_config(domain, batch_size=7)))
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        default = pipeline.execute(domain.prepare(example_config(domain)))
    finally:
        numba.set_num_threads(before)
    need(without_timing(small) == without_timing(default),
         "determinism: the record depends on the batch size or the number of threads")


def check_show(domain: Domain) -> None:
    """`show` of the example program, and its report."""
    from levinsearch.record import SHOW_SCHEMA
    program, options = domain.show_example()
    record = domain.show(program, example_config(domain), options)
    need(isinstance(record, dict) and record.get("schema") == SHOW_SCHEMA and record.get("program") == program,
         f"show: not a show record ({SHOW_SCHEMA}) of {program}")
    need(program in render(domain.show_report(record)), "show: the report does not show the program")


#: Every check but the interface's, in the order check_domain runs them.
CHECKS: dict[str, Callable[[Domain], None]] = {
    "judge": check_judge, "counts": check_counts, "record": check_record, "determinism": check_determinism,
    "show": check_show,
}


def check_domain(domain: Domain) -> None:
    """Run every conformance check on `domain` (a `levinsearch.domains.base.Domain`,
    registered or not); raise DomainCheckError listing each that fails, one line each.
    Runs the domain's example experiment a few times (seconds for a small example)."""
    wrong = interface_problems(domain)
    name = getattr(domain, "name", type(domain).__name__)
    if wrong:  # nothing else can run
        raise DomainCheckError(str(name), [f"interface: {w}" for w in wrong])
    problems = []
    for check in CHECKS.values():
        try:
            check(domain)
        except CheckFailed as exc:
            problems.append(str(exc))
        except Exception as exc:  # a domain's bug is a failed check, reported with the others
            text = " ".join(str(exc).split())[:200]
            problems.append(f"{check.__name__.removeprefix('check_')}: {type(exc).__name__}: {text}")
    if problems:
        raise DomainCheckError(domain.name, problems)
