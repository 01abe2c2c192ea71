"""Domain conformance: every registered domain passes the same checks (in the spirit of
Gymnasium's check_env). Parity of the compiled judge with the reference interpreter,
exact counts against the reference enumerator, records independent of thread count and
batch size, the record's shared fields, and `show`."""
from __future__ import annotations

import io
from collections import Counter

import numba
import numpy as np
import pytest
from rich.console import Console

from conftest import strip_timing
from levinsearch import domains, experiments, pipeline, report
from levinsearch.enumerate import Enumerator, reference_programs
from levinsearch.record import SCHEMA, SHOW_SCHEMA

NAMES = domains.names()
NO_CAP = np.int64(1) << 62


def example_config(name: str, **overrides) -> dict:
    return experiments.resolve(domains.get(name).example(), overrides, domains=domains)


def render(renderable) -> str:
    console = Console(width=140, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def sample_programs(prep, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n programs unranked at random (half over all, half over a random length), plus the
    first fitting ones of the enumeration, padded to the enumerator's width."""
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
        if sum(1 for _ in rows) >= n + 20:
            break
    return np.stack([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=np.int32)


@pytest.mark.parametrize("name", NAMES)
def test_compiled_judge_matches_the_reference(name):
    prep = pipeline.prepare(example_config(name))
    reference = prep.domain.reference_judge(prep)
    ops, sizes = sample_programs(prep, 120, seed=7)
    uncapped = np.full(len(ops), NO_CAP)
    fits, successes, verdict = prep.judge.fit(ops, sizes, uncapped)
    want_fits, want_successes, want_verdict = reference.fit(ops, sizes, uncapped)
    assert fits.tolist() == want_fits.tolist()
    assert fits.any() and not fits.all()
    assert successes[fits].tolist() == want_successes[fits].tolist()
    assert verdict[fits].tolist() == want_verdict[fits].tolist()
    assert np.array_equal(prep.judge.behaviour(ops[fits], sizes[fits]), reference.behaviour(ops[fits], sizes[fits]))
    # Levin budgets: a program fits under a cap iff it fits and its steps are within the cap.
    caps = np.maximum(1, (want_verdict * np.random.default_rng(1).uniform(0.3, 1.6, len(ops))).astype(np.int64))
    capped, _, _ = prep.judge.fit(ops, sizes, caps)
    assert capped.tolist() == (want_fits & (want_verdict <= caps)).tolist()


@pytest.mark.parametrize("name", NAMES)
def test_counts_match_the_reference_enumerator(name):
    config = example_config(name)
    grammar = domains.get(name).build_grammar(config)
    bits = min(config["search"]["max_bits"], 14.0)
    listed = [tuple(b.ops[i, : b.sizes[i]].tolist()) for b in Enumerator(grammar, bits).batches(1000)
              for i in range(len(b))]
    reference = reference_programs(grammar, bits)
    assert listed == [ops for _, ops in reference]
    assert grammar.counts_by_length(bits) == sorted(Counter(m for m, _ in reference).items())


@pytest.mark.parametrize("name", NAMES)
def test_record_does_not_depend_on_threads_or_batch_size(name):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        small_batches = example_config(name)
        small_batches["search"]["batch_size"] = 7
        one = pipeline.run_experiment(small_batches)
        numba.set_num_threads(2)
        two = pipeline.run_experiment(example_config(name))
    finally:
        numba.set_num_threads(before)
    assert strip_timing(one) == strip_timing(two)


@pytest.mark.parametrize("name", NAMES)
def test_record_has_the_shared_fields_and_renders(name):
    record = pipeline.run_experiment(example_config(name))
    assert record["schema"] == SCHEMA and record["domain"] == name
    assert list(record)[:6] == ["schema", "experiment", "domain", "description", "config", "grammar"]
    for key in ("enumeration", "hypotheses", "behaviours", "summary", "versions"):
        assert key in record, key
    e = record["enumeration"]
    assert e["programs"] == e["total"] > 0 and 0 < e["fitting"] <= e["programs"]
    assert e["behaviours"] == len(record["behaviours"])
    assert sum(h["posterior"] for h in record["hypotheses"]) <= 1 + 1e-12
    assert sum(b["posterior"] for b in record["behaviours"]) == pytest.approx(1.0)
    assert [h["rank"] for h in record["hypotheses"]] == list(range(1, len(record["hypotheses"]) + 1))
    text = render(report.run_report(record))
    assert record["hypotheses"][0]["program"] in text


@pytest.mark.parametrize("name", NAMES)
def test_show(name):
    domain = domains.get(name)
    program, options = domain.show_example()
    record = domain.show(program, example_config(name), options)
    assert record["schema"] == SHOW_SCHEMA and record["program"] == program
    assert program in render(domain.show_report(record))
