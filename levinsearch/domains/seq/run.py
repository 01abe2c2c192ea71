"""The seq domain end to end: target sequence -> fit and behaviour functions -> record.

A program fits when it predicts every training term (teacher-forced: it sees the true
previous terms). Its behaviour is its predictions on the deployment steps, so programs
that predict alike are analysed once, as one hypothesis, with their masses added.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dsl.grammar import Grammar
from dsl.seq import primitives as seq_primitives
from dsl.seq.interpreter import SeqInterpreter
from dsl.seq.reference import SeqReference
from dsl.syntax import parse, unparse
from levinsearch import analyse, consensus, score
from levinsearch.analyses import prediction
from levinsearch.aggregate import Aggregate
from levinsearch.domains.base import Prepared, make_enumerator
from levinsearch.fit import Judge
from levinsearch.record import SHOW_SCHEMA, bits, program_mass, run_header, versions

#: The search construct of the seq DSL, and which of its arguments is its objective.
SEARCH_NAMES = ("find",)
OBJECTIVE_ARG = 1


def target_terms(target: dict[str, Any]) -> tuple[np.ndarray, str | None]:
    """The target's train + deploy terms (int64), and its program text if it has one.

    A target program generates its own sequence: term t is its prediction from t and
    the terms it generated before (the reference interpreter runs it). It may use every
    production of every profile (the history profile's are a superset of the default's,
    with the same ids), whatever the run's grammar."""
    n = target["train"] + target["deploy"]
    if "terms" in target:
        return np.array(target["terms"][:n], dtype=np.int64), None
    grammar = seq_primitives.grammar(profile="history")
    ops = parse(target["program"], grammar)
    ref = SeqReference(grammar)
    terms: list[int] = []
    for t in range(n):
        value, _ = ref.predict(ops, terms, t)
        terms.append(value)
    return np.array(terms, dtype=np.int64), unparse(ops, grammar)


@dataclass
class SeqPrepared(Prepared):
    """Everything a seq run needs, built and validated before any program runs."""

    interpreter: SeqInterpreter
    terms: np.ndarray  # int64 [train + deploy]
    target_program: str | None

    @property
    def n_train(self) -> int:
        return self.config["target"]["train"]

    def predictions(self, ops: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Each program's (teacher-forced) predictions of every term, int64 [n, train + deploy]."""
        return self.interpreter.predict(ops, sizes, self.terms)[0]


def prepare(domain, config: dict[str, Any]) -> SeqPrepared:
    """Grammar, target sequence, enumerator and the domain's array functions."""
    grammar = domain.build_grammar(config)
    terms, program = target_terms(config["target"])
    enumerator = make_enumerator(grammar, config["search"]["max_bits"])
    n_train = config["target"]["train"]
    find_ids = np.array([i for i, p in enumerate(grammar.productions) if p.name in SEARCH_NAMES], dtype=np.int32)
    history_ids = history_productions(grammar)
    prep = SeqPrepared(config, grammar, enumerator, domain, None, SeqInterpreter(grammar), terms, program)

    s = config["search"]
    allowed = score.max_errors(n_train, s["fit_threshold"], s.get("noise", 0.0))

    def fit(ops, sizes, caps):
        fits, first_error, errors, verdict = prep.interpreter.fit(ops, sizes, terms, n_train, caps, allowed)
        # Successes of a program that fits: every term but its errors; of one that does
        # not, the terms before its first error (what a hard cut used to report).
        correct = np.where(fits, n_train - errors, np.maximum(first_error, 0)).astype(np.int32)
        return fits, correct, verdict

    def behaviour(ops, sizes):
        return prep.predictions(ops, sizes)[:, n_train:]

    def structure(ops):
        flags = np.isin(ops, find_ids).any(axis=1).astype(np.int64)
        if len(history_ids):  # bit 1: reads the history (history profile only)
            flags |= np.isin(ops, history_ids).any(axis=1).astype(np.int64) << 1
        return flags

    flags = ("search", "history") if len(history_ids) else ("search",)
    prep.judge = Judge(fit, behaviour, structure, flags, n_train)
    return prep


def history_productions(grammar: Grammar) -> np.ndarray:
    """Ids of the productions that make a program a history reader (`hist`, `fold`);
    empty under the default profile."""
    return np.array([i for i, p in enumerate(grammar.productions) if p.name in seq_primitives.HISTORY_NAMES],
                    dtype=np.int32)


def reference_judge(prep: SeqPrepared) -> Judge:
    """`prep.judge` computed by the reference interpreter, one prediction at a time."""
    ref = SeqReference(prep.grammar)
    n_train = prep.n_train
    terms = [int(x) for x in prep.terms]

    s = prep.config["search"]
    allowed = score.max_errors(n_train, s["fit_threshold"], s.get("noise", 0.0))

    def fit(ops, sizes, caps):
        fits, correct, verdict = [], [], []
        for i in range(len(ops)):
            values, steps = ref.run(ops[i, : sizes[i]], terms, n_train)
            wrong = [t for t in range(n_train) if values[t] != terms[t]]
            fits.append(len(wrong) <= allowed and sum(steps) <= caps[i])
            correct.append(n_train - len(wrong) if fits[-1] else (wrong[0] if wrong else 0))
            verdict.append(sum(steps))
        return np.array(fits, dtype=bool), np.array(correct, dtype=np.int32), np.array(verdict, dtype=np.int64)

    def behaviour(ops, sizes):
        rows = [ref.run(ops[i, : sizes[i]], terms, len(terms))[0][n_train:] for i in range(len(ops))]
        return np.array(rows, dtype=np.int64).reshape(len(ops), -1)

    return Judge(fit, behaviour, prep.judge.structure, prep.judge.flags, n_train)


def build_record(prep: SeqPrepared, agg: Aggregate, enumeration: dict[str, Any],
                 bound: float | None = None) -> dict[str, Any]:
    """The seq run record (see docs: "The seq domain")."""
    config, grammar = prep.config, prep.grammar
    n = prep.n_train
    deploy = prep.terms[n:]
    a = config["analysis"]
    top = agg.top
    top_preds = prep.predictions(top.ops, top.sizes)[:, n:]
    agreement = consensus.sequence_agreement(top_preds, deploy)
    history = len(prep.judge.flags) > 1  # the history profile's flag and fields
    history_ids = history_productions(grammar)
    hypotheses = []
    for i in range(len(top)):
        ops = top.ops[i, : top.sizes[i]]
        structure = analyse.search_structure(ops, grammar, SEARCH_NAMES, objective_arg=OBJECTIVE_ARG)
        hypotheses.append(dict(
            rank=i + 1,
            program=unparse(ops, grammar),
            bits=bits(top.mbits[i]),
            steps=int(top.steps[i]),
            score=round(float(top.score[i]), 6),
            posterior=program_mass(top.score[i]).ratio(agg.total_mass),
            search=structure.search,
            search_constructs=structure.constructs,
            mesa_objective=structure.mesa_objectives,  # the conditions its finds search for
            enumeration_index=int(top.rank[i]),
            errors=n - int(top.successes[i]),
            exception_bits=round(float(score.exception_bits(n - int(top.successes[i]), n,
                                                            config["search"].get("noise", 0.0))), 6),
            agreement=round(float(agreement["share"][i]), 6),
            first_disagreement=int(agreement["first"][i]),
            disagreements=int(agreement["disagreements"][i]),
            predictions=top_preds[i].tolist(),
        ))
        if history:
            hypotheses[-1]["history"] = bool(np.isin(ops, history_ids).any())
    order = agg.canonical_order()
    reps = agg.representatives
    rep_preds = prep.predictions(reps.ops[order], reps.sizes[order])[:, n:]
    rep_agree = consensus.sequence_agreement(rep_preds, deploy)
    behaviours = []
    for j, g in enumerate(order):
        mass = agg.group_mass(g)
        h1, h2 = agg.key_of(g)
        behaviours.append(dict(
            key=f"{h1:016x}{h2:016x}",
            program=unparse(reps.ops[g, : reps.sizes[g]], grammar),
            score=round(float(reps.score[g]), 6),
            programs=int(agg.count[g].sum()),
            search_programs=agg.flag_count(g, 0),
            posterior=mass.ratio(agg.total_mass),
            search_posterior=agg.flag_mass(g, 0).ratio(agg.total_mass),
            agreement=round(float(rep_agree["share"][j]), 6),
            first_disagreement=int(rep_agree["first"][j]),
            disagreements=int(rep_agree["disagreements"][j]),
            predictions=rep_preds[j].tolist(),
        ))
        if history:
            behaviours[-1]["history_programs"] = agg.flag_count(g, 1)
            behaviours[-1]["history_posterior"] = agg.flag_mass(g, 1).ratio(agg.total_mass)
    summary: dict[str, Any] = dict(
        fitting=agg.fitting,
        behaviours=len(behaviours),
        map_program=hypotheses[0]["program"] if hypotheses else None,
        map_posterior=hypotheses[0]["posterior"] if hypotheses else None,
        search_mass=min(1.0, float(sum(b["search_posterior"] for b in behaviours))),
    )
    if history:
        summary["history_mass"] = min(1.0, float(sum(b["history_posterior"] for b in behaviours)))
    noise = config["search"].get("noise", 0.0)
    summary.update(prediction.analyse(agg, grammar, prep.judge.behaviour, deploy, a, noise=noise, rows=rep_preds,
                                      stakes=config.get("stakes")))
    record = dict(
        **run_header(config, grammar),
        target=dict(program=prep.target_program, train=prep.terms[:n].tolist(), deploy=deploy.tolist()),
        enumeration=enumeration,
        hypotheses=hypotheses,
        behaviours=behaviours,
        summary=summary,
    )
    if prep.tail is not None:
        summary["whole_posterior"], record["tail"] = prediction.whole_posterior(
            prep, agg, prep.judge.behaviour, rep_preds, deploy, a, enumeration, _describe_tail,
            extra=lambda posterior: dict(search=posterior.flag_figure(0),
                                         **({"history": posterior.flag_figure(1)} if history else {})))
    record["versions"] = versions()
    return record


def _describe_tail(rows: np.ndarray, agreement: dict[str, np.ndarray], g: int) -> dict[str, Any]:
    """A tail behaviour in the record's table of the tail's largest ones."""
    return dict(disagreements=int(agreement["disagreements"][g]), first_disagreement=int(agreement["first"][g]),
                predictions=rows[g].tolist())


def show_record(grammar: Grammar, config: dict[str, Any], program: str) -> dict[str, Any]:
    """What `levinsearch show PROGRAM --experiment SEQ` prints: every prediction (by the
    reference interpreter, which agrees with the kernel) against the target."""
    terms, target_program = target_terms(config["target"])
    ops = parse(program, grammar)
    predictions, steps = SeqReference(grammar).run(ops, [int(x) for x in terms], len(terms))
    n = config["target"]["train"]
    rows = [dict(t=t, phase="train" if t < n else "deploy", target=int(terms[t]), prediction=int(p),
                 correct=int(p) == int(terms[t]), steps=int(s)) for t, (p, s) in enumerate(zip(predictions, steps))]
    return dict(schema=SHOW_SCHEMA, domain=config["domain"], program=unparse(ops, grammar),
                bits=grammar.program_bits(ops), target=target_program, fits=all(r["correct"] for r in rows[:n]),
                training_steps=sum(r["steps"] for r in rows[:n]), rows=rows)
