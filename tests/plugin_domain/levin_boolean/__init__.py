"""An example plug-in domain: boolean functions of three input bits a, b, c.

Programs are formulas over a, b, c with not, and, or, xor. The target is a formula; the
eight rows of its truth table (row r: a = bit 0 of r, b = bit 1, c = bit 2) are split
into the first `train` rows, which a program must get right to fit, and the rest, on
which fitting programs are grouped by their outputs (their behaviour). A program's
simulated steps are its production costs summed, once per training row.

Kept small on purpose: a grammar, a judge (numpy over all rows at once) with its
plain-Python reference, a record, a report and `show`. See docs/architecture.md,
"A domain in its own package".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsl.errors import DslError
from dsl.grammar import Grammar, Production
from dsl.syntax import parse, unparse
from levinsearch.config import check_keys, common_overrides, number, validate_search
from levinsearch.domains.base import Domain, Prepared, make_enumerator
from levinsearch.fit import Judge
from levinsearch.record import SHOW_SCHEMA, bits, program_mass, run_header, versions

ROWS = 8
INPUTS = np.array([[(r >> k) & 1 for r in range(ROWS)] for k in range(3)], dtype=bool)  # a, b, c by row
UNARY = {"not": np.logical_not}
BINARY = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}


def grammar(*, bits=None, ban=(), cost=None) -> Grammar:
    """The boolean grammar (start type Bit)."""
    prods = [Production("a", "Bit"), Production("b", "Bit"), Production("c", "Bit"),
             Production("not", "Bit", ("Bit",)), *(Production(n, "Bit", ("Bit", "Bit")) for n in BINARY)]
    return Grammar(prods, "Bit", bits=bits, ban=ban, cost=cost)


def evaluate(ops, g: Grammar) -> tuple[np.ndarray, int]:
    """A program's outputs on all eight rows (bool [8]) and its steps per row: numpy, one
    pass over the prefix-order opcodes from the right with a stack."""
    stack, steps = [], 0
    for op in reversed([int(o) for o in ops]):
        name, steps = g.productions[op].name, steps + int(g.step_cost[op])
        if name in UNARY:
            stack.append(UNARY[name](stack.pop()))
        elif name in BINARY:
            stack.append(BINARY[name](stack.pop(), stack.pop()))
        else:
            stack.append(INPUTS["abc".index(name)])
    return stack[0], steps


def reference_output(ops, g: Grammar, row: int) -> tuple[bool, int]:
    """The specification: one row, by recursion over the program's tree."""
    def go(i: int) -> tuple[bool, int, int]:  # value, steps, index after the subtree
        name = g.productions[int(ops[i])].name
        cost = int(g.step_cost[int(ops[i])])
        if name in "abc":
            return bool((row >> "abc".index(name)) & 1), cost, i + 1
        x, sx, j = go(i + 1)
        if name == "not":
            return not x, cost + sx, j
        y, sy, k = go(j)
        value = {"and": x and y, "or": x or y, "xor": x != y}[name]
        return value, cost + sx + sy, k
    value, steps, _ = go(0)
    return value, steps


@dataclass
class BooleanPrepared(Prepared):
    target: np.ndarray  # bool [8]
    train: int


def make_judge(prep: BooleanPrepared, outputs) -> Judge:
    """The judge of a run from `outputs(ops_row) -> (bool [8], steps per row)`."""
    n = prep.train

    def fit(ops, sizes, caps):
        fits, right, steps = np.zeros(len(ops), bool), np.zeros(len(ops), np.int32), np.zeros(len(ops), np.int64)
        for i in range(len(ops)):
            out, per_row = outputs(ops[i, : sizes[i]])
            ok = out[:n] == prep.target[:n]
            steps[i] = per_row * n
            fits[i] = ok.all() and steps[i] <= caps[i]
            right[i] = n if ok.all() else int(np.argmin(ok))  # rows right before the first wrong one
        return fits, right, steps

    def behaviour(ops, sizes):
        rows = [outputs(ops[i, : sizes[i]])[0][n:] for i in range(len(ops))]
        return np.array(rows, dtype=np.int64).reshape(len(ops), ROWS - n)

    return Judge(fit, behaviour, lambda ops: np.zeros(len(ops), np.int64), ("search",), n)


class BooleanDomain(Domain):
    name = "boolean"
    sections = frozenset({"target"})
    experiments_dir = Path(__file__).resolve().parent / "experiments"
    metrics = {"right": ("P(right)", "posterior of programs right on every held-out row",
                         lambda r, split: r["summary"]["right_posterior"])}
    default_metric = "right"
    table_metrics = ("right", "fitting", "unenumerated_mass")

    def grammar(self, *, bits=None, ban=(), cost=None, profile=None):
        self.check_profile(profile)
        return grammar(bits=bits, ban=ban, cost=cost)

    def resolve(self, raw, config, overrides):
        target = dict({"train": 5}, **dict(raw.get("target", {})))
        check_keys(target, {"program", "train"}, "[target]")
        if not isinstance(target.get("program"), str):
            raise DslError('[target] program must be a formula, e.g. "(xor a b)"')
        target["train"] = number(target["train"], "target train", minimum=1, maximum=ROWS - 1, integer=True)
        config["target"] = target
        check_keys(dict(raw.get("analysis", {})), set(), "[analysis]")
        config["analysis"] = {}
        config["flags"] = common_overrides(config, overrides)
        validate_search(config)
        return config

    def prepare(self, config):
        g = self.build_grammar(config)
        target, _ = evaluate(parse(config["target"]["program"], grammar()), grammar())
        prep = BooleanPrepared(config, g, make_enumerator(g, config["search"]["max_bits"]), self, None, target,
                               config["target"]["train"])
        prep.judge = make_judge(prep, lambda ops: evaluate(ops, g))
        return prep

    def reference_judge(self, prep):
        def outputs(ops):
            rows = [reference_output(ops, prep.grammar, r) for r in range(ROWS)]
            return np.array([v for v, _ in rows]), rows[0][1]
        return make_judge(prep, outputs)

    def build_record(self, prep, agg, enumeration, unseen_bound):
        g, top, reps = prep.grammar, agg.top, agg.representatives
        hypotheses = [dict(rank=i + 1, program=unparse(top.ops[i, : top.sizes[i]], g), bits=bits(top.mbits[i]),
                           steps=int(top.steps[i]), score=round(float(top.score[i]), 6),
                           posterior=program_mass(top.score[i]).ratio(agg.total_mass),
                           enumeration_index=int(top.rank[i])) for i in range(len(top))]
        behaviours = []
        for g_ in agg.canonical_order():
            h1, h2 = agg.key_of(g_)
            out, _ = evaluate(reps.ops[g_, : reps.sizes[g_]], g)
            behaviours.append(dict(key=f"{h1:016x}{h2:016x}", program=unparse(reps.ops[g_, : reps.sizes[g_]], g),
                                   score=round(float(reps.score[g_]), 6), programs=int(agg.count[g_].sum()),
                                   posterior=agg.group_mass(g_).ratio(agg.total_mass),
                                   right=bool((out[prep.train:] == prep.target[prep.train:]).all())))
        summary = dict(fitting=agg.fitting, behaviours=len(behaviours),
                       map_program=hypotheses[0]["program"] if hypotheses else None,
                       map_posterior=hypotheses[0]["posterior"] if hypotheses else None,
                       right_posterior=min(1.0, sum(b["posterior"] for b in behaviours if b["right"])))
        return dict(**run_header(prep.config, g), target=[int(x) for x in prep.target], enumeration=enumeration,
                    hypotheses=hypotheses, behaviours=behaviours, summary=summary, versions=versions())

    def report(self, record):
        from rich.table import Table
        s = record["summary"]
        table = Table("rank", "program", "bits", "posterior",
                      title=f"{record['experiment']}: {s['fitting']:,} fitting programs, "
                            f"P(right on the held-out rows) = {s['right_posterior']:.3f}", title_justify="left")
        for h in record["hypotheses"]:
            table.add_row(str(h["rank"]), h["program"], f"{h['bits']:g}", f"{h['posterior']:.4f}")
        return table

    def example(self):
        return {"experiment": {"name": "boolean-example", "domain": "boolean", "description": "a and b"},
                "search": {"max_bits": 14}, "target": {"program": "(and a b)", "train": 4}}

    def show_example(self):
        return "(and a b)", {}

    def show(self, program, config, options):
        if config is None:
            raise DslError("a boolean program is shown against a target: show PROGRAM --experiment NAME")
        g = self.build_grammar(config)
        ops = parse(program, g)
        target, _ = evaluate(parse(config["target"]["program"], grammar()), grammar())
        out, steps = evaluate(ops, g)
        n = config["target"]["train"]
        return dict(schema=SHOW_SCHEMA, domain=self.name, program=unparse(ops, g), bits=g.program_bits(ops),
                    steps_per_row=steps, rows=[dict(row=r, phase="train" if r < n else "held out",
                                                    target=bool(target[r]), output=bool(out[r]))
                                               for r in range(ROWS)])

    def show_report(self, record):
        from rich.table import Table
        table = Table("row", "phase", "target", "output", title=record["program"], title_justify="left")
        for r in record["rows"]:
            table.add_row(str(r["row"]), r["phase"], str(int(r["target"])), str(int(r["output"])))
        return table


DOMAIN = BooleanDomain()
