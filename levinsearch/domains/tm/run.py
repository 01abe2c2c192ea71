"""The tm domain end to end: target prefix -> fit and behaviour functions -> record.

A machine fits when it halts within the step cap and its output (the visited tape
segment, `dsl.tm.reference`) starts with the training prefix. Its behaviour is its
*continuation*: the `deploy` output symbols after the prefix, each 0, 1 or END (the
output had ended), so machines that continue alike are analysed once, with their masses
added. Simulated steps are machine steps (the default cost model), so a time weight
gives Levin complexity as in every domain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dsl.errors import DslError
from dsl.grammar import Grammar
from dsl.syntax import parse, unparse
from dsl.tm import primitives as tp
from dsl.tm.census import KNOWN
from dsl.tm.interpreter import TMInterpreter, TMRuns
from dsl.tm.reference import TMReference, TMRun, machine_table, pretty, trace
from levinsearch import consensus
from levinsearch.analyses import prediction
from levinsearch.aggregate import Aggregate, Dyadic
from levinsearch.domains.base import Prepared, make_enumerator
from levinsearch.domains.tm.config import MAX_TARGET_STATES
from levinsearch.fit import Judge
from levinsearch.record import SHOW_SCHEMA, bits, program_mass, run_header, versions

#: The value of a deployment position after the output has ended, and the symbols'
#: text (a continuation is written as a string over 0, 1 and '-').
END = 2
SYMBOLS = "01-"
SYMBOL_NAMES = ("0", "1", "end")
#: Structural flags: the number of states minus one, as two bits (machines of 1 .. 4
#: states), so the summary keeps every behaviour's mass per machine size.
STRUCTURE_FLAGS = ("states_minus_one_bit0", "states_minus_one_bit1")
#: Output characters a record keeps per machine (the length is recorded too).
OUTPUT_CHARS = 256
#: Bytes of packed outputs unpacked at once.
UNPACK_BYTES = 1 << 25
#: Rows of trace `show` keeps.
TRACE_ROWS = 500


def continuation_text(row) -> str:
    return "".join(SYMBOLS[int(v)] for v in row)


def text_row(text: str, deploy: int) -> np.ndarray:
    """The row of an intended continuation: its bits, then END once it has ended."""
    row = np.full(deploy, END, dtype=np.int64)
    for k, ch in enumerate(text[:deploy]):
        row[k] = int(ch)
    return row


def continuations(runs: TMRuns, start: int, deploy: int) -> np.ndarray:
    """int64 [n, deploy]: output symbols start .. start+deploy-1 of each run, END past the
    output's end."""
    n = len(runs)
    out = np.full((n, deploy), END, dtype=np.int64)
    if n == 0:
        return out
    words = runs.packed.shape[1]
    block = max(1, UNPACK_BYTES // max(1, 4 * words))
    k = start + np.arange(deploy)
    for a in range(0, n, block):
        packed = np.ascontiguousarray(runs.packed[a:a + block], dtype="<i4")
        bits_ = np.unpackbits(packed.view(np.uint8).reshape(len(packed), -1), axis=1, bitorder="little")
        take = bits_[:, np.minimum(k, bits_.shape[1] - 1)].astype(np.int64)
        valid = k[None, :] < runs.out_len[a:a + block, None]
        out[a:a + block] = np.where(valid, take, END)
    return out


def machine_target(text: str, train: int) -> dict[str, Any]:
    """A generating machine's output (run to its halt with cap S(n)), split into the
    training prefix and the rest; DslError when it never halts or is too short."""
    probe = tp.grammar(max_states=MAX_TARGET_STATES)
    try:
        ops = parse(text, probe)
    except DslError as exc:
        raise DslError(f"[target] machine: {exc}") from None
    n, _ = machine_table(ops, probe)
    cap = KNOWN[n][0]
    runs = TMInterpreter(probe).run(ops[None, :], np.array([len(ops)], dtype=np.int32), cap)
    if not runs.halted[0]:
        raise DslError(f"[target] machine {unparse(ops, probe)} never halts (it runs past S({n}) = {cap} steps), "
                       "so it has no output")
    output = runs.output(0)
    if train > len(output):
        raise DslError(f"[target] train = {train} but the machine's output {output!r} has only {len(output)} bits")
    return dict(machine=unparse(ops, probe), states=n, output=output, steps=int(runs.steps[0]), prefix=output[:train],
                continuation=output[train:])


@dataclass
class TMPrepared(Prepared):
    """Everything a tm run needs, built and validated before any machine runs."""

    interpreter: TMInterpreter
    prefix: str
    deploy: int
    step_cap: int
    target: dict[str, Any]  # machine (or None), output, continuation (or None), in_space
    target_row: np.ndarray | None  # int64 [deploy]: the intended continuation

    def runs(self, ops: np.ndarray, sizes: np.ndarray) -> TMRuns:
        return self.interpreter.run(ops, sizes, self.step_cap)

    def continuation_rows(self, ops: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        return continuations(self.runs(ops, sizes), len(self.prefix), self.deploy)


def states_of_ops(grammar: Grammar) -> np.ndarray:
    """Per production id: the state count of a Machine production (0 for the others)."""
    return np.array([p.operand if p.op == tp.K_MACHINE else 0 for p in grammar.productions], dtype=np.int64)


def prepare(domain, config: dict[str, Any]) -> TMPrepared:
    """Grammar, prefix, enumerator and the domain's array functions."""
    grammar = domain.build_grammar(config)
    t = config["target"]
    deploy = t["deploy"]
    states = config["machines"]["states"]
    if "machine" in t:
        info = machine_target(t["machine"], t["train"])
        prefix, intended = info["prefix"], info["continuation"]
        target = dict(machine=info["machine"], states=info["states"], output=info["output"], steps=info["steps"],
                      continuation=intended, in_space=info["states"] in states)
    else:
        prefix, intended = t["prefix"], t.get("continuation")
        target = dict(machine=None, states=None, output=None, steps=None, continuation=intended, in_space=None)
    target_row = text_row(intended, deploy) if intended is not None else None
    target["continuation_row"] = continuation_text(target_row) if target_row is not None else None
    enumerator = make_enumerator(grammar, config["search"]["max_bits"])
    step_cap = config["machines"]["step_cap"]
    prep = TMPrepared(config, grammar, enumerator, domain, None, TMInterpreter(grammar), prefix, deploy, step_cap,
                      target, target_row)
    n_of = states_of_ops(grammar)
    plen = len(prefix)

    def fit(ops, sizes, caps):
        caps = np.asarray(caps, dtype=np.int64)
        effective = np.minimum(caps, step_cap)
        fits, steps = prep.interpreter.fit(ops, sizes, effective, prefix)
        verdict = steps.astype(np.int64)
        # A machine stopped by a Levin budget below the step cap has no verdict yet.
        open_ = np.flatnonzero(~fits & (caps < step_cap))
        if len(open_):
            runs = prep.interpreter.run(ops[open_], sizes[open_], effective[open_])
            cut = open_[~runs.halted]
            verdict[cut] = caps[cut] + 1
        return fits, np.where(fits, plen, 0).astype(np.int32), verdict

    def behaviour(ops, sizes):
        return prep.continuation_rows(ops, sizes)

    def structure(ops):
        return n_of[np.asarray(ops)[:, 0]] - 1

    prep.judge = Judge(fit, behaviour, structure, STRUCTURE_FLAGS)
    return prep


def reference_judge(prep: TMPrepared) -> Judge:
    """`prep.judge` computed by the reference interpreter (`dsl.tm.reference`)."""
    ref = TMReference(prep.grammar)
    prefix, step_cap = prep.prefix, prep.step_cap

    def fit(ops, sizes, caps):
        fits, successes, verdict = [], [], []
        for i in range(len(ops)):
            cap = int(caps[i])
            run = ref.run(ops[i, : sizes[i]], min(cap, step_cap))
            ok = run.halted and run.output.startswith(prefix)
            fits.append(ok)
            successes.append(len(prefix) if ok else 0)
            verdict.append(cap + 1 if not run.halted and cap < step_cap else run.steps)
        return np.array(fits, dtype=bool), np.array(successes, dtype=np.int32), np.array(verdict, dtype=np.int64)

    def behaviour(ops, sizes):
        rows = []
        for i in range(len(ops)):
            out = ref.run(ops[i, : sizes[i]], step_cap).output
            rest = out[len(prefix): len(prefix) + prep.deploy]
            rows.append([int(c) for c in rest] + [END] * (prep.deploy - len(rest)))
        return np.array(rows, dtype=np.int64).reshape(len(ops), prep.deploy)

    return Judge(fit, behaviour, prep.judge.structure, prep.judge.flags)


# ------------------------------------------------------------------ the record
def size_mbits(grammar: Grammar, n: int) -> int | None:
    """The length of every n-state machine when all are equally long (the default
    prior: a uniform code within each size), else None."""
    t = [grammar.mbits[i] for i in tp.transition_productions(grammar, n) if grammar.mbits[i] >= 0]
    m = grammar.mbits[tp.machine_production(grammar, n)]
    if m < 0 or not t or len(set(t)) != 1:
        return None
    return m + 2 * n * t[0]


def _table_rows(ops, grammar: Grammar) -> list[list[str]]:
    n, table = machine_table(ops, grammar)
    return [[tp.state_name(s), table[2 * s].name, table[2 * s + 1].name] for s in range(n)]


def _compare(rows: np.ndarray, reference: np.ndarray | None) -> dict[str, np.ndarray] | None:
    if reference is None:
        return None
    return consensus.sequence_agreement(rows, reference)


def build_record(prep: TMPrepared, agg: Aggregate, enumeration: dict[str, Any],
                 bound: float | None = None) -> dict[str, Any]:
    """The tm run record (docs/tm.md, "The tm domain")."""
    config, grammar = prep.config, prep.grammar
    plen = len(prep.prefix)
    target_row = prep.target_row
    top = agg.top
    top_runs = prep.runs(top.ops, top.sizes)
    top_rows = continuations(top_runs, plen, prep.deploy)
    top_cmp = _compare(top_rows, target_row)
    hypotheses = []
    for i in range(len(top)):
        ops = top.ops[i, : top.sizes[i]]
        output = top_runs.output(i)
        h = dict(
            rank=i + 1,
            program=unparse(ops, grammar),
            states=int(grammar.productions[int(ops[0])].operand),
            table=_table_rows(ops, grammar),
            bits=bits(top.mbits[i]),
            steps=int(top.steps[i]),
            score=round(float(top.score[i]), 6),
            posterior=program_mass(top.score[i]).ratio(agg.total_mass),
            enumeration_index=int(top.rank[i]),
            output=output[:OUTPUT_CHARS],
            output_length=int(top_runs.out_len[i]),
            ones=int(top_runs.ones[i]),
            continuation=continuation_text(top_rows[i]),
        )
        if top_cmp is not None:
            h.update(right=bool(top_cmp["disagreements"][i] == 0), first_disagreement=int(top_cmp["first"][i]),
                     disagreements=int(top_cmp["disagreements"][i]))
        hypotheses.append(h)

    order = agg.canonical_order()
    reps = agg.representatives
    rep_rows = continuations(prep.runs(reps.ops[order], reps.sizes[order]), plen, prep.deploy) \
        if len(order) else np.zeros((0, prep.deploy), dtype=np.int64)
    rep_cmp = _compare(rep_rows, target_row)
    masses: list[Dyadic] = []
    behaviours = []
    for j, g in enumerate(order):
        mass = agg.group_mass(g)
        masses.append(mass)
        h1, h2 = agg.key_of(g)
        by_states = {}
        for f in range(agg.kinds):
            if agg.count[g, f]:
                by_states[str(f + 1)] = dict(programs=int(agg.count[g, f]),
                                             posterior=agg.mass[g][f].ratio(agg.total_mass))
        b = dict(
            key=f"{h1:016x}{h2:016x}",
            continuation=continuation_text(rep_rows[j]),
            program=unparse(reps.ops[g, : reps.sizes[g]], grammar),
            score=round(float(reps.score[g]), 6),
            programs=int(agg.count[g].sum()),
            posterior=mass.ratio(agg.total_mass),
            by_states=by_states,
        )
        if rep_cmp is not None:
            b.update(right=bool(rep_cmp["disagreements"][j] == 0), first_disagreement=int(rep_cmp["first"][j]),
                     disagreements=int(rep_cmp["disagreements"][j]))
        behaviours.append(b)

    summary = summarise(prep, agg, hypotheses, behaviours, masses, rep_rows, order)
    target = dict(prep.target)
    target.update(prefix=prep.prefix, train=plen, deploy=prep.deploy)
    record = dict(
        **run_header(config, grammar),
        target=target,
        enumeration=enumeration,
        hypotheses=hypotheses,
        behaviours=behaviours,
        summary=summary,
    )
    if prep.tail is not None:
        summary["whole_posterior"], record["tail"] = whole_posterior(prep, agg, rep_rows, enumeration)
    record["versions"] = versions()
    return record


def _describe_tail(rows: np.ndarray, agreement, g: int) -> dict[str, Any]:
    """A tail behaviour in the record's table of the tail's largest ones."""
    return dict(continuation=continuation_text(rows[g]))


def whole_posterior(prep: TMPrepared, agg: Aggregate, rep_rows: np.ndarray,
                    enumeration: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The headline figures over all machines (levinsearch.analyses.prediction), with the
    whole-posterior mixture also written as a continuation ('?' where no estimate)."""
    out, section = prediction.whole_posterior(prep, agg, prep.continuation_rows, rep_rows, prep.target_row,
                                              prep.config["analysis"], enumeration, _describe_tail)
    if "prediction" in out:
        out["prediction"]["continuation"] = "".join("?" if v is None else SYMBOLS[v]
                                                    for v in out["prediction"]["mixture"])
    return out, section


def _distribution(masses: list[Dyadic], symbols: np.ndarray, total: Dyadic) -> dict[str, float]:
    """Posterior of each symbol (0, 1, end) at one position, exactly summed."""
    out = {}
    for v, name in enumerate(SYMBOL_NAMES):
        m = Dyadic()
        for mass, s in zip(masses, symbols):
            if s == v:
                m = m + mass
        out[name] = m.ratio(total)
    return out


def summarise(prep: TMPrepared, agg: Aggregate, hypotheses: list[dict], behaviours: list[dict],
              masses: list[Dyadic], rows: np.ndarray, order: np.ndarray) -> dict[str, Any]:
    """Which continuations carry the mass; Occam, MAP vs mixture, rare defectors, consensus."""
    a = prep.config["analysis"]
    target_row = prep.target_row
    out: dict[str, Any] = dict(
        fitting=agg.fitting,
        behaviours=len(behaviours),
        map_program=hypotheses[0]["program"] if hypotheses else None,
        map_posterior=hypotheses[0]["posterior"] if hypotheses else None,
        search=None,
        search_note="embedded search is not defined for Turing machines: no construct of a machine table "
                    "evaluates candidates against an objective",
        target_continuation=continuation_text(target_row) if target_row is not None else None,
    )
    if not behaviours:
        return out
    total = agg.total_mass
    positions = [_distribution(masses, rows[:, k], total) for k in range(prep.deploy)]
    out["next_symbol"] = positions[0]
    out["positions"] = positions
    by_states: dict[str, dict[str, Any]] = {}
    for f in range(agg.kinds):
        count = int(agg.count[:, f].sum())
        if count:
            m = Dyadic()
            for g in range(agg.behaviours):
                m = m + agg.mass[g][f]
            by_states[str(f + 1)] = dict(programs=count, posterior=m.ratio(total))
    out["by_states"] = by_states
    out.update(prediction.analyse(agg, prep.grammar, prep.continuation_rows, target_row, a,
                                  render=continuation_text, rows=rows, stakes=prep.config.get("stakes")))

    # The shortest fitting machine's size, and every machine exactly as short.
    occam = out["occam"]
    sp = agg.shortest
    s_ops = sp.ops[0, : sp.sizes[0]]
    shortest_mbits = int(sp.mbits[0])
    tied_sizes = [n for n in range(1, agg.kinds + 1) if n <= tp.n_states(prep.grammar)
                  and size_mbits(prep.grammar, n) == shortest_mbits]
    uniform = all(size_mbits(prep.grammar, n) is not None for n in prep.config["machines"]["states"])
    occam["shortest_states"] = int(prep.grammar.productions[int(s_ops[0])].operand)
    if uniform and tied_sizes:
        ties: dict[str, int] = {}
        for j, g in enumerate(order):
            c = int(sum(agg.count[g, n - 1] for n in tied_sizes))
            if c:
                ties[behaviours[j]["continuation"]] = c
        occam["shortest_ties"] = int(sum(ties.values()))
        occam["shortest_tie_continuations"] = dict(sorted(ties.items(), key=lambda kv: (-kv[1], kv[0])))
        occam["shortest_ties_right"] = (int(sum(c for k, c in ties.items() if k == out["target_continuation"]))
                                        if target_row is not None else None)
    else:
        occam["shortest_ties"] = occam["shortest_tie_continuations"] = occam["shortest_ties_right"] = None
    return out


# ------------------------------------------------------------------ show
def show_record(grammar: Grammar, program: str, *, step_cap: int, cap_note: str, domain: str = "tm",
                experiment: dict[str, Any] | None = None, trace_rows: int = TRACE_ROWS) -> dict[str, Any]:
    """What `show MACHINE` prints: the table, bits, steps, halting, output and the tape
    trace (by the reference interpreter); against an experiment, also whether the machine
    fits its prefix and its continuation."""
    ops = parse(program, grammar)
    n, _ = machine_table(ops, grammar)
    # The run by the compiled simulator (fast for long runs; parity-tested against the
    # reference), the first rows of its trace by the reference interpreter.
    runs = TMInterpreter(grammar).run(ops[None, :], np.array([len(ops)], dtype=np.int32), step_cap)
    run = TMRun(bool(runs.halted[0]), int(runs.steps[0]), runs.output(0), int(runs.ones[0]))
    _, rows = trace(ops, grammar, step_cap, limit=trace_rows + 1)
    truncated = len(rows) > trace_rows
    rows = rows[:trace_rows]
    record: dict[str, Any] = dict(
        schema=SHOW_SCHEMA, domain=domain, program=unparse(ops, grammar), states=n,
        bits=grammar.program_bits(ops), table=_table_rows(ops, grammar), table_text=pretty(ops, grammar),
        step_cap=step_cap, step_cap_note=cap_note, halted=run.halted, steps=run.steps, ones=run.ones,
        output=run.output, output_length=len(run.output),
        trace=[dict(step=r.step, state=tp.state_name(r.state), head=r.head, read=r.read, transition=r.transition,
                    steps=r.steps, tape=r.tape, left=r.left, head_after=r.head_after) for r in rows],
        trace_truncated=truncated,
    )
    if experiment is not None:
        prefix, deploy, target = experiment["prefix"], experiment["deploy"], experiment.get("continuation")
        rest = run.output[len(prefix): len(prefix) + deploy] if run.output.startswith(prefix) else None
        record.update(experiment=experiment["name"], prefix=prefix, deploy=deploy,
                      fits=bool(run.halted and run.output.startswith(prefix)),
                      continuation=(rest + "-" * (deploy - len(rest))) if rest is not None and run.halted else None,
                      target_continuation=target)
        record["right"] = (record["continuation"] == target) if target is not None and record["fits"] else None
    return record
