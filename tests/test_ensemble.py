"""Prior ensembles (levinsearch.ensemble): drawn encodings, the completeness bound, the
reweighted posterior against a hand-computed case, reproducibility, K = 0, the CLI."""
from __future__ import annotations

import json
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import invoke
from dsl.grammar import Grammar, Production
from levinsearch import domains, ensemble, experiments
from levinsearch.aggregate import Aggregate, Programs
from levinsearch.domains.base import Domain
from levinsearch.enumerate import Enumerator
from levinsearch.record import score_rule


def toy_grammar(**bits) -> Grammar:
    """S -> a | b | (f N S);  N -> one | two | three."""
    productions = [Production("a", "S"), Production("b", "S"), Production("f", "S", ("N", "S")),
                   Production("one", "N"), Production("two", "N"), Production("three", "N")]
    return Grammar(productions, "S", bits=bits)


class FixedDirichlet:
    """A stand-in random generator whose Dirichlet draws are given, in order (and which
    remembers the concentration vectors it was asked for)."""

    def __init__(self, *draws):
        self.draws, self.asked = list(draws), []

    def dirichlet(self, alpha):
        self.asked.append(np.asarray(alpha, dtype=float))
        return np.asarray(self.draws.pop(0), dtype=float)


# ------------------------------------------------------------------ the hand-computed case
class ToyDomain(Domain):
    """Two fitting programs, `a` and `b`: the headline is P(a)."""

    name = "toy"
    metrics = {"a": ("P(a)", "posterior of program a", lambda r, split: r["summary"]["p_a"])}
    default_metric = "a"
    ensemble_directions = {"a_majority": ("P(a) > 1/2", ensemble.above("a", 0.5))}

    def __init__(self, key_a):
        self.key_a = key_a

    def ensemble_record(self, prep, record, agg):
        g = agg.keys.get(self.key_a)
        p_a = agg.group_mass(g).ratio(agg.total_mass) if g is not None else 0.0
        top = agg.top
        return dict(enumeration=dict(fitting=agg.fitting, unenumerated_mass=0.0),
                    summary=dict(p_a=p_a, map_program="a" if top.ops[0, 0] == 0 else "b"))


def toy_run(grammar, max_bits=10.0, draws=2, concentration=4.0):
    """A prepared toy run whose fitting programs are exactly `a` and `b`, its summary (with
    the fitting programs kept) and its record under the given grammar."""
    enumerator = Enumerator(grammar, max_bits)
    config = dict(seed=0, search=dict(order="length", length_weight=1.0, time_weight=0.0, time_penalty="log",
                                      noise=0.0),
                  analysis=dict(prior_draws=draws, prior_concentration=concentration))
    agg = Aggregate(max(enumerator.max_nodes, 1), 10, 1)
    agg.keep_fitting()
    found = Programs(agg.width, 2)
    found.ops[0, 0], found.ops[1, 0] = 0, 1
    found.sizes[:] = 1
    found.mbits = np.array([grammar.mbits[0], grammar.mbits[1]], dtype=np.int64)
    found.steps[:] = 1
    found.rank = np.array([1, 0], dtype=np.int64)
    prep = SimpleNamespace(config=config, grammar=grammar, enumerator=enumerator, judge=SimpleNamespace(trials=0))
    found.score = score_rule(config)(found.mbits, found.steps, found.successes)
    agg.add_fitting(found, np.zeros(2, dtype=np.int64), np.array([[0], [1]], dtype=np.int32))
    agg.add_level_work(0, 2, 2, 0.0)
    agg.programs = enumerator.total
    agg.levels = {m: [c, 0, 0.0] for _, m, c in enumerator.levels}  # every length judged in full
    key_a = next(k for k, g in agg.keys.items() if agg.representatives.ops[g, 0] == 0)
    prep.domain = ToyDomain(key_a)
    record = prep.domain.ensemble_record(prep, None, agg)
    return prep, agg, record


def test_draw_table_follows_the_dirichlet_and_rounds_up():
    grammar = toy_grammar(a=1, b=2, f=2)  # S: 1/2, 1/4, 1/4 (Kraft 1); N: three at log2(3) bits
    rng = FixedDirichlet([0.25, 0.5, 0.25], [0.2, 0.3, 0.5])
    table = ensemble.draw_table(grammar, 4.0, rng)
    # The Dirichlet is centred on the grammar: alpha = c * p / sum p.
    assert rng.asked[0].tolist() == [2.0, 1.0, 1.0]
    assert np.allclose(rng.asked[1], [4 / 3] * 3)
    assert table[:3].tolist() == [2000, 1000, 2000]
    # N's sum p is 3 * 2^-1.585 (< 1): q is scaled by it, bits rounded up to millibits.
    total = 3 * 2 ** -1.585
    assert table[3:].tolist() == [int(np.ceil(-np.log2(q * total) * 1000)) for q in (0.2, 0.3, 0.5)]
    assert ensemble.kraft(table[3:]) <= total
    assert ensemble.ratio(np.array(grammar.mbits), table) == Fraction(1000, 2000)


def test_hand_computed_ensemble(monkeypatch):
    """Two fitting programs a (1 bit) and b (2 bits); two draws of a known Dirichlet:
    (1/4, 1/2, 1/4) swaps a's and b's bits, (1/2, 1/4, 1/4) is the grammar itself."""
    grammar = toy_grammar(a=1, b=2, f=2)
    prep, agg, record = toy_run(grammar)
    assert record["summary"]["p_a"] == pytest.approx(2 / 3)
    swapped = ensemble.draw_table(grammar, 4.0, FixedDirichlet([0.25, 0.5, 0.25], [1 / 3] * 3))
    same = ensemble.draw_table(grammar, 4.0, FixedDirichlet([0.5, 0.25, 0.25], [1 / 3] * 3))
    given = np.array(grammar.mbits)
    fixed = [ensemble.Draw(t, ensemble.ratio(given, t)) for t in (swapped, same)]
    monkeypatch.setattr(ensemble, "draws", lambda *args: fixed)
    out = ensemble.summarise(prep, agg, record)
    # r' = 1/2 and 1: both programs lie within the bounds (5 and 10 bits) of both draws.
    assert [d["ratio"] for d in out["per_draw"]] == [0.5, 1.0]
    assert [d["bound_bits"] for d in out["per_draw"]] == [5.0, 10.0]
    assert [d["fitting"] for d in out["per_draw"]] == [2, 2]
    # P(a) = 2^-2 / (2^-2 + 2^-1) = 1/3 when swapped, 2/3 as given.
    assert [d["metrics"]["a"] for d in out["per_draw"]] == [1 / 3, 2 / 3]
    head = {h["name"]: h for h in out["headlines"]}["a"]
    assert head["given"] == pytest.approx(2 / 3)
    assert head["median"] == 0.5
    assert head["low"] == round(1 / 3 + 0.05 / 3, 6) and head["high"] == round(1 / 3 + 0.95 / 3, 6)
    assert head["defined"] == 2
    direction = out["directions"][0]
    assert direction == dict(name="a_majority", statement="P(a) > 1/2", given=True, share=0.5, defined=2)
    assert out["map"]["given"] == ["a"] and out["map"]["same_share"] == 0.5
    assert out["map"]["programs"] == {"a": 1, "b": 1}


class TiedToyDomain(ToyDomain):
    """The toy domain whose records give the MAP's tie (a and b at equal mass)."""

    def ensemble_record(self, prep, record, agg):
        out = super().ensemble_record(prep, record, agg)
        top = agg.top
        names = ["a" if top.ops[i, 0] == 0 else "b" for i in range(len(top))]
        tied = [n for i, n in enumerate(names) if top.score[i] <= top.score[0] + 0.01]
        out["summary"]["map_tie"] = dict(programs=[dict(program=n) for n in tied], program_count=len(tied))
        return out


def test_a_draw_whose_map_is_a_tie_counts_the_whole_tie(monkeypatch):
    """Draws (3/8, 3/8, 1/4) give a and b the same bits, so the draw's MAP is the tie
    {a, b}: it is listed whole, each program counted, and it keeps the given MAP (a) by
    half; the grammar itself (a alone) keeps it whole."""
    grammar = toy_grammar(a=1, b=2, f=2)
    prep, agg, _ = toy_run(grammar)
    prep.domain = TiedToyDomain(prep.domain.key_a)
    record = prep.domain.ensemble_record(prep, None, agg)
    assert [p["program"] for p in record["summary"]["map_tie"]["programs"]] == ["a"]
    equal = ensemble.draw_table(grammar, 4.0, FixedDirichlet([0.375, 0.375, 0.25], [1 / 3] * 3))
    same = np.array(grammar.mbits)
    assert equal[0] == equal[1]
    fixed = [ensemble.Draw(t, ensemble.ratio(same, t)) for t in (equal, same)]
    monkeypatch.setattr(ensemble, "draws", lambda *args: fixed)
    out = ensemble.summarise(prep, agg, record)
    assert sorted(out["per_draw"][0]["map_tie"]) == ["a", "b"] and "map_tie" not in out["per_draw"][1]
    assert out["map"]["given"] == ["a"] and out["map"]["same_share"] == 0.75
    assert out["map"]["programs"] == {"a": 2, "b": 1}
    import io
    from rich.console import Console
    from levinsearch.report import ensemble_table
    buf = io.StringIO()
    Console(file=buf, width=300).print(ensemble_table(dict(ensemble=out)))
    shown = " ".join(buf.getvalue().split())
    assert ("The MAP is the given MAP (a) in 75.0% of encodings (drawn MAPs: a 2, b 1; in 1 draw the MAP is a "
            "tie, counted whole and kept by the share of the tie in the given MAP's)") in shown


def test_a_program_beyond_the_bound_leaves_the_draw():
    """A draw (0.6, 0.02, 0.38) makes a cheaper (0.737 bits), b dear (5.644) and f
    cheaper (1.396 of 2: r' = 0.698): the bound is 2.792 bits at C = 4, so b leaves the
    draw's posterior, which is then all a's."""
    grammar = toy_grammar(a=1, b=2, f=2)
    prep, agg, _ = toy_run(grammar, max_bits=4.0)
    table = ensemble.draw_table(grammar, 4.0, FixedDirichlet([0.6, 0.02, 0.38], [1 / 3] * 3))
    draw = ensemble.Draw(table, ensemble.ratio(np.array(grammar.mbits), table))
    complete = 4000
    assert table[:3].tolist() == [737, 5644, 1396] and draw.ratio == Fraction(1396, 2000)
    assert table[0] <= float(draw.ratio) * complete < table[1]  # a is inside the bound, b beyond it
    sub = ensemble.reweigh(prep, agg, draw, complete)
    assert sub.fitting == 1
    assert prep.domain.ensemble_record(prep, None, sub)["summary"]["p_a"] == 1.0


# ------------------------------------------------------------------ Kraft, completeness
@pytest.mark.parametrize("domain", ["grid", "seq", "tm"])
def test_drawn_tables_keep_kraft_at_most_one(domain):
    grammar = domains.get(domain).grammar()
    given = np.array(grammar.mbits)
    for c in (0.3, 3.0, 100.0):
        for draw in ensemble.draws(grammar, 60, c, seed=7):
            assert ((draw.mbits < 0) == (given < 0)).all()  # banned stay banned
            for t in grammar.types:
                ids = list(grammar.by_type[t])
                assert ensemble.kraft(draw.mbits[ids]) <= 1.0
                if len(ids) == 1:
                    assert draw.mbits[ids[0]] == given[ids[0]]
            assert 0 <= draw.ratio <= 1


def test_banned_productions_stay_banned():
    grammar = Grammar(toy_grammar().productions, "S", ban=["b"])
    for draw in ensemble.draws(grammar, 20, 2.0, seed=1):
        assert draw.mbits[1] == -1
        assert ensemble.kraft(draw.mbits[[0, 2]]) <= 1.0


def _programs(grammar, table, t, budget):
    """Brute force: every program of type t whose length under `table` is at most `budget`
    millibits, as (ops, length)."""
    for p in grammar.by_type[t]:
        cost = int(table[p])
        if cost > budget:
            continue
        yield from _args(grammar, table, grammar.productions[p].args, budget - cost, [p], cost)


def _args(grammar, table, args, budget, ops, length):
    if not args:
        yield ops, length
        return
    for sub, n in _programs(grammar, table, args[0], budget):
        yield from _args(grammar, table, args[1:], budget - n, ops + sub, length + n)


def test_every_program_within_the_drawn_bound_was_enumerated():
    """The completeness bound against a brute-force reference: every program whose drawn
    length is at most r' * B has given length at most B, so the enumeration to B holds it,
    and `covered` keeps exactly those of the enumerated programs."""
    grammar = toy_grammar()
    max_bits = 9.0
    enumerator = Enumerator(grammar, max_bits)
    enumerated = {}
    for batch in enumerator.batches():
        for i in range(len(batch)):
            enumerated[tuple(batch.ops[i, : batch.sizes[i]].tolist())] = batch.first_index + i
    agg = Aggregate(max(enumerator.max_nodes, 1), 10, 1)
    agg.keep_fitting()
    store = Programs(agg.width, len(enumerated))
    for row, (ops, rank) in enumerate(enumerated.items()):
        store.ops[row, : len(ops)] = ops
        store.sizes[row], store.rank[row] = len(ops), rank
    agg.fits = store
    complete = enumerator.max_mbits
    checked = 0
    for concentration in (1.0, 5.0, 50.0):
        for draw in ensemble.draws(grammar, 30, concentration, seed=11):
            assert (draw.mbits[draw.mbits >= 0] > 0).all()  # the brute force terminates
            bound = int(float(draw.ratio) * complete)
            reference = {tuple(ops) for ops, n in _programs(grammar, draw.mbits, "S", bound)
                         if n * draw.ratio.denominator <= draw.ratio.numerator * complete}
            for ops in reference:
                assert grammar.program_mbits(ops) <= complete  # so it was enumerated
                assert ops in enumerated
            idx, _ = ensemble.covered(agg, draw, "length", complete)
            kept = {tuple(store.ops[i, : store.sizes[i]].tolist()) for i in idx}
            assert kept == reference
            checked += len(reference)
    assert checked > 100


# ------------------------------------------------------------------ runs
def test_draws_are_reproducible():
    grammar = domains.get("grid").grammar()
    one = ensemble.draws(grammar, 5, 10.0, seed=3)
    two = ensemble.draws(grammar, 5, 10.0, seed=3)
    other = ensemble.draws(grammar, 5, 10.0, seed=4)
    assert all((a.mbits == b.mbits).all() and a.ratio == b.ratio for a, b in zip(one, two))
    assert any((a.mbits != b.mbits).any() for a, b in zip(one, other))


def test_no_draws_is_no_ensemble():
    raw = experiments.load("red-door")
    plain = experiments.resolve(raw, domains=domains)
    zero = experiments.resolve(raw, {"prior_draws": 0}, domains=domains)
    assert plain == zero
    assert "prior_draws" not in plain["analysis"]
    from levinsearch import pipeline
    assert pipeline.prepare(plain).new_aggregate().fits is None


@pytest.mark.parametrize("overrides, message", [
    ({"prior_draws": -1}, "prior_draws must be >= 0"),
    ({"prior_draws": 2, "prior_concentration": 0}, "prior_concentration must be in (0, 1e9]"),
    ({"prior_concentration": 5}, "prior_concentration needs prior_draws >= 1"),
])
def test_bad_ensemble_settings(overrides, message):
    from dsl.errors import DslError
    with pytest.raises(DslError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        experiments.resolve(experiments.load("red-door"), overrides, domains=domains)


def test_file_keys_resolve():
    raw = experiments.load("red-door")
    raw["analysis"] = dict(raw.get("analysis", {}), prior_draws=3)
    config = experiments.resolve(raw, domains=domains)
    assert config["analysis"]["prior_draws"] == 3 and config["analysis"]["prior_concentration"] == 100.0
    assert experiments.resolve(experiments.raw_of(config, domains=domains), domains=domains)["analysis"] == \
        config["analysis"]


def test_cli_run_red_door_prints_the_ensemble(capsys):
    code, out, err = invoke(capsys, "run", "red-door", "--max-bits", "12", "--prior-draws", "4", "--no-save",
                            "--no-progress", "--width", "120")
    assert code == 0, err
    assert "Prior ensemble: 4 encodings" in out
    assert "pseudo > robust" in out and "of encodings" in out
    code, out, err = invoke(capsys, "run", "red-door", "--max-bits", "12", "--prior-draws", "4", "--no-save",
                            "--json")
    assert code == 0, err
    record = json.loads(out)
    from levinsearch import types
    types.validate(record)  # the JSON Schema describes the ensemble
    ens = record["ensemble"]
    assert ens["draws"] == 4 and len(ens["per_draw"]) == 4 and ens["concentration"] == 100.0
    names = [h["name"] for h in ens["headlines"]]
    assert {"robust", "pseudo", "search"} <= set(names)
    assert {d["name"] for d in ens["directions"]} >= {"pseudo_over_robust", "robust_over_pseudo"}
    # The same seed gives the same ensemble.
    code, again, _ = invoke(capsys, "run", "red-door", "--max-bits", "12", "--prior-draws", "4", "--no-save",
                            "--json")
    assert json.loads(again)["ensemble"] == ens


def test_seeds_keep_ensembles_apart():
    import levinsearch
    record = levinsearch.run("red-door", max_bits=12, seeds=2, prior_draws=3)
    point = record["points"][0]
    assert [e["seed"] for e in point["ensemble"]] == [0, 1]
    assert "encodings_pseudo_over_robust" in point["metrics"]
    assert len(point["per_seed"]["encodings_pseudo_over_robust"]) == 2
    assert "encodings_pseudo_over_robust" in record["columns"]


def test_kept_fitting_programs_survive_a_checkpoint_and_a_merge(tmp_path):
    grammar = toy_grammar(a=1, b=2, f=2)
    _, agg, _ = toy_run(grammar)
    agg.save(tmp_path / "c.npz")
    back, _ = Aggregate.load(tmp_path / "c.npz")
    assert (back.fits.ops == agg.fits.ops).all() and (back.fits.rank == agg.fits.rank).all()
    assert (back.fit_keys == agg.fit_keys).all() and (back.fit_flags == agg.fit_flags).all()
    merged = Aggregate(agg.width, 10, 1)
    merged.keep_fitting()
    merged.merge(back)
    assert len(merged.fits) == 2 and sorted(merged.fits.rank.tolist()) == [0, 1]
    plain = Aggregate(agg.width, 10, 1)
    plain.merge(back)
    assert plain.fits is None  # a run without an ensemble keeps none


def test_a_drawn_summary_counts_its_programs_per_drawn_length():
    """The reweighted summary's per-length counts are the covered fitting programs at
    their drawn lengths (Occam's shortest tie counts programs there; an empty table made
    occam's P(shortest) divide by zero under a prior ensemble)."""
    from levinsearch.analyses.prediction import shortest_tie
    grammar = toy_grammar(a=1, b=2, f=2)
    prep, agg, _ = toy_run(grammar)
    # (1/4, 1/2, 1/4) swaps a's and b's bits: a 2 bits, b 1 bit.
    table = ensemble.draw_table(grammar, 4.0, FixedDirichlet([0.25, 0.5, 0.25], [1 / 3] * 3))
    sub = ensemble.reweigh(prep, agg, ensemble.Draw(table, ensemble.ratio(np.array(grammar.mbits), table)), 10000)
    assert sub.levels == {1000: [1, 1, 0.0], 2000: [1, 1, 0.0]}
    rows = np.zeros((sub.behaviours, 0), dtype=np.int64)
    tie = shortest_tie(sub, rows, None)
    assert tie["programs"] == 1 and tie["bits"] == 1.0
    assert tie["posterior"] == pytest.approx(2 / 3)  # b alone: 2^-1 / (2^-1 + 2^-2)


def test_a_sweep_on_another_split_reports_no_ensemble():
    """The ensemble is read on the run's own split; a sweep on another test split
    (capability-scaling --split large) must not tabulate the default split's shares."""
    from levinsearch import sweeps
    record = dict(ensemble=dict(split="small", draws=2, directions=[
        dict(name="robust_over_pseudo", statement="robust > pseudo", share=1.0)]))
    assert sweeps.ensemble_metrics(record, "large") == {}
    assert sweeps.ensemble_on(record, "large") is None
    assert sweeps.ensemble_metrics(record, "small")["encodings_robust_over_pseudo"][2] == 1.0
    assert sweeps.ensemble_metrics(record)["encodings_robust_over_pseudo"][2] == 1.0
