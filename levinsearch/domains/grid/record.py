"""The grid domain's run record: analyses of the kept programs and of every behaviour,
and the posterior-weighted summary (outcomes, classes, search, goal-directedness,
consensus). See docs: "JSON output".
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dsl.syntax import unparse
from levinsearch import analyse, consensus, score
from levinsearch import tail as tail_mod
from levinsearch.aggregate import Aggregate, Dyadic
from levinsearch.domains.grid.prepare import GridPrepared, like_train
from levinsearch.record import bits, program_mass, run_header, versions


def analyse_programs(prep: GridPrepared, ops: np.ndarray, sizes: np.ndarray, chunk: int = 256) -> dict[str, Any]:
    """Everything the analyses say about each program, from its test and probe episodes:
    per split the share of episodes per outcome [n, 4] and the outcome class [n]; the
    inferred goal (index into prep.goals) and goal-directedness score [n]; search
    measured from execution over the test and probe episodes (`execution`)."""
    a = prep.config["analysis"]
    out: dict[str, Any] = dict(fractions={}, classes={}, changed={})
    reached_by_split = {}
    traces = []
    if like_train(prep.config):
        # A split copies the training grids: classes there too, to compare against.
        reached, moves, _ = prep.run(ops, sizes, prep.train)
        reached_by_split["train"] = reached
        out["classes"]["train"] = analyse.outcome_classes(reached, moves, prep.train.dims, prep.distances["train"],
                                                          prep.base_train, a["class_threshold"], a["competence"])
    for name, batch in prep.tests.items():
        traces.append(prep.run_traced(ops, sizes, batch))
        reached, moves = traces[-1].reached, traces[-1].moves
        reached_by_split[name] = reached
        like = prep.config["test"][name].get("like")
        if like is not None:
            # Same layouts as `like`, plus trigger objects: how often does the program act differently?
            out["changed"][name] = (reached != reached_by_split[like]).mean(axis=1) if reached.shape[1] else \
                np.zeros(len(reached))
        outcomes = analyse.episode_outcomes(reached, batch.dims, prep.base_cells[name], prep.proxy_cells[name])
        out["fractions"][name] = analyse.outcome_fractions(outcomes)
        out["classes"][name] = analyse.outcome_classes(reached, moves, batch.dims, prep.distances[name],
                                                       prep.base_cells[name], a["class_threshold"], a["competence"])
    traces.append(prep.run_traced(ops, sizes, prep.probes))
    reached, moves = traces[-1].reached, traces[-1].moves
    out["execution"] = prep.execution_search(traces)
    goal = np.zeros(len(ops), dtype=np.int64)
    goal_score = np.zeros(len(ops))
    for i in range(0, len(ops), chunk):  # bounded memory: [G, chunk, E] at a time
        part = slice(i, i + chunk)
        goal[part], goal_score[part], _ = analyse.goal_directedness(
            reached[part], moves[part], prep.probes.dims, prep.distances["probes"], prep.goal_cells,
            a["goal_min_share"])
    out["goal"], out["goal_score"] = goal, goal_score
    # Agent or device (calibrated): chunks bound the [chunk, goals, betas] arrays.
    tables = prep.agency_tables()
    agency = [analyse.agency(prep.interpreter.paths(ops[i: i + chunk], sizes[i: i + chunk], prep.probes), tables)
              for i in range(0, len(ops), chunk)]
    out["agency"] = {key: np.concatenate([part[key] for part in agency]) if agency else np.zeros(0)
                     for key in ("agent_bits", "device_bits", "log2_odds", "goal")}
    return out


def _outcome_dict(fractions: np.ndarray) -> dict[str, float]:
    return dict(zip(analyse.OUTCOMES, (round(float(x), 6) for x in fractions)))


def _program_analysis(prep: GridPrepared, analysis: dict[str, Any], i: int) -> dict[str, Any]:
    """The record fields of program i of an `analyse_programs` result."""
    return dict(
        test={name: _outcome_dict(f[i]) for name, f in analysis["fractions"].items()},
        outcome_class={name: analyse.CLASSES[int(c[i])] for name, c in analysis["classes"].items()},
        changed={name: round(float(c[i]), 6) for name, c in analysis["changed"].items()},
        inferred_goal=prep.goals[int(analysis["goal"][i])] if prep.goals else None,
        goal_directedness=round(float(analysis["goal_score"][i]), 6),
        lookahead_per_decision=round(float(analysis["execution"].per_decision[i]), 6),
        lookahead_share=round(float(analysis["execution"].share[i]), 6),
        executes_search=bool(analysis["execution"].searches[i]),
        agency=_agency(prep, analysis["agency"], i),
    )


def _agency(prep: GridPrepared, agency: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    """Agent or device: the posterior odds (log2) with the goal's complexity paid for."""
    odds = float(agency["log2_odds"][i])
    return dict(kind="agent" if odds > prep.config["analysis"]["agent_bits"] else "device",
                log2_odds=round(odds, 6), agent_bits=round(float(agency["agent_bits"][i]), 6),
                device_bits=round(float(agency["device_bits"][i]), 6),
                goal=prep.goals[int(agency["goal"][i])] if prep.goals else None)


def build_record(prep: GridPrepared, agg: Aggregate, enumeration: dict[str, Any],
                 bound: float | None) -> dict[str, Any]:
    """The grid run record from a summary of the judged programs."""
    config, grammar = prep.config, prep.grammar
    s = config["search"]
    total = agg.total_mass

    top = agg.top
    analysis = analyse_programs(prep, top.ops, top.sizes)
    hypotheses = []
    for i in range(len(top)):
        ops = top.ops[i, : top.sizes[i]]
        structure = analyse.search_structure(ops, grammar, config["analysis"]["search"])
        entry = dict(
            rank=i + 1,
            program=unparse(ops, grammar),
            bits=bits(top.mbits[i]),
            steps=int(top.steps[i]),
            score=round(float(top.score[i]), 6),
            posterior=program_mass(top.score[i]).ratio(total),
            search=structure.search,
            search_constructs=structure.constructs,
            mesa_objective=structure.mesa_objectives,
            train_success=round(int(top.successes[i]) / len(prep.train), 6),
            errors=len(prep.train) - int(top.successes[i]),
            exception_bits=round(float(score.exception_bits(len(prep.train) - int(top.successes[i]), len(prep.train),
                                                            s.get("noise", 0.0))), 6),
            enumeration_index=int(top.rank[i]),
            **_program_analysis(prep, analysis, i),
        )
        if s["order"] == "levin":
            entry["phase"] = score.levin_phase(int(top.mbits[i]), int(top.steps[i]))
        hypotheses.append(entry)

    behaviours = _behaviours(prep, agg, bound)
    summary = summarise(prep, hypotheses, behaviours, agg, list(prep.tests), config["analysis"],
                        {name: split.get("like") for name, split in config["test"].items()})
    record = dict(
        **run_header(config, grammar),
        environments=dict(train=len(prep.train), test={name: len(b) for name, b in prep.tests.items()}),
        enumeration=enumeration,
        hypotheses=hypotheses,
        behaviours=behaviours,
        summary=summary,
        goals=dict(family=len(prep.goals), probes=len(prep.probes)),
    )
    if prep.tail is not None:
        summary["whole_posterior"], record["tail"] = whole_posterior(prep, agg, behaviours)
    record["versions"] = versions()
    return record


def _tail_analyses(prep: GridPrepared, agg: Aggregate, behaviours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The analyses of every tail behaviour (by the tail's group index): the enumerated
    behaviour's where the enumeration showed it, else those of its best sample."""
    tail = agg.tail
    by_key = {b["key"]: b for b in behaviours}
    out: list[dict[str, Any] | None] = [None] * tail.behaviours
    new = []
    for g in range(tail.behaviours):
        h1, h2 = tail.key_of(g)
        known = by_key.get(f"{h1:016x}{h2:016x}")
        if known is not None:
            out[g] = known
        else:
            new.append(g)
    reps = tail.representatives
    for j in range(0, len(new), BEHAVIOUR_CHUNK):
        part = np.array(new[j: j + BEHAVIOUR_CHUNK], dtype=np.int64)
        width = max(int(reps.sizes[part].max()), 1)
        analysis = analyse_programs(prep, reps.ops[part, :width], reps.sizes[part])
        for k, g in enumerate(part.tolist()):
            out[g] = _program_analysis(prep, analysis, k)
    return out


def whole_posterior(prep: GridPrepared, agg: Aggregate, behaviours: list[dict[str, Any]]
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The headline figures over all programs (exact over the enumerated ones, with the
    tail estimated from its samples; levinsearch.tail), and the record's `tail` part."""
    posterior = tail_mod.Posterior(prep, agg)
    tail_rows = _tail_analyses(prep, agg, behaviours) if agg.tail is not None else []
    order = agg.canonical_order()
    exact_rows = [None] * agg.behaviours
    for j, g in enumerate(order):
        exact_rows[g] = behaviours[j]
    tail_mass, tail_flags = posterior.tail_sums()

    def values(rows, read) -> np.ndarray:
        return np.array([read(r) for r in rows], dtype=np.float64)

    def figure(read) -> dict[str, Any] | None:
        return posterior.figure(values(exact_rows, read), values(tail_rows, read))

    out: dict[str, Any] = dict(
        tail=posterior.share(),
        search=posterior.flag_figure(0),
        executes_search=posterior.flag_figure(2),
        agent=figure(lambda r: r["agency"]["kind"] == "agent"),
        splits={name: dict(
            classes={c: figure(lambda r, c=c: r["outcome_class"][name] == c) for c in analyse.CLASSES},
            outcome={k: figure(lambda r, k=k: r["test"][name][k]) for k in analyse.OUTCOMES},
        ) for name in prep.tests},
    )
    first = next(iter(prep.tests), None)

    def describe(groups: list[int]) -> list[dict[str, Any]]:
        return [dict(outcome_class=tail_rows[g]["outcome_class"], agency=tail_rows[g]["agency"]["kind"],
                     search_share=float(tail_flags[g, 0] / tail_mass[g]) if tail_mass[g] > 0 else None)
                for g in groups]

    section = posterior.section(posterior.largest(describe=describe))
    section["first_split"] = first
    return out, section


#: Behaviours analysed at once when the record is built.
BEHAVIOUR_CHUNK = 4096


def _behaviours(prep: GridPrepared, agg: Aggregate, unseen_bound: float | None) -> list[dict[str, Any]]:
    """One entry per distinct behaviour, best first: its mass (with the range the unseen
    programs allow), count and analyses, computed once on its best program."""
    reps = agg.representatives
    order = agg.canonical_order()
    seen = float(agg.total_mass)
    out = []
    for j, g in enumerate(order):
        if j % BEHAVIOUR_CHUNK == 0:
            # A chunk at a time: the episodes' arrays of every behaviour at once would
            # dominate the memory of a large run.
            part = order[j: j + BEHAVIOUR_CHUNK]
            analysis = analyse_programs(prep, reps.ops[part], reps.sizes[part])
        ops = reps.ops[g, : reps.sizes[g]]
        mass = agg.group_mass(g)
        h1, h2 = agg.key_of(g)
        entry = dict(
            key=f"{h1:016x}{h2:016x}",
            program=unparse(ops, prep.grammar),
            score=round(float(reps.score[g]), 6),
            programs=int(agg.count[g].sum()),
            search_programs=agg.flag_count(g, 0),
            see_programs=agg.flag_count(g, 1),
            prior_mass=float(mass),
            posterior=mass.ratio(agg.total_mass),
            search_posterior=agg.flag_mass(g, 0).ratio(agg.total_mass),
            see_posterior=agg.flag_mass(g, 1).ratio(agg.total_mass),
            posterior_range=None,
            **_program_analysis(prep, analysis, j % BEHAVIOUR_CHUNK),
            executes_search_programs=agg.flag_count(g, 2),
            executes_search_posterior=agg.flag_mass(g, 2).ratio(agg.total_mass),
        )
        if unseen_bound is not None and seen + unseen_bound > 0:
            # Unseen fitting programs could add at most `unseen_bound` to any behaviour.
            entry["posterior_range"] = [float(mass) / (seen + unseen_bound),
                                        (float(mass) + unseen_bound) / (seen + unseen_bound)]
        out.append(entry)
    return out


def _mass_table(weights: np.ndarray, counts: np.ndarray, labels: np.ndarray, names) -> dict[str, dict]:
    return {name: dict(mass=float(weights[labels == j].sum()), count=int(counts[labels == j].sum()))
            for j, name in enumerate(names)}


def _defection(behaviours: list[dict], name: str, like: str | None, post: np.ndarray,
               count: np.ndarray) -> dict[str, Any]:
    """On a split that copies `like` and adds trigger objects: the posterior share of
    episodes that change, and the programs robust on `like` but not here (treacherous)."""
    changed = np.array([b["changed"][name] for b in behaviours])
    robust_before = np.array([like is not None and like in b["outcome_class"]
                              and b["outcome_class"][like] == "robust" for b in behaviours], dtype=bool)
    robust_after = np.array([b["outcome_class"][name] == "robust" for b in behaviours], dtype=bool)
    treacherous = robust_before & ~robust_after
    see = np.array([b["see_posterior"] for b in behaviours])
    return dict(like=like, changed_share=float(post @ changed), changed_mass=float(post[changed > 0].sum()),
                treacherous_mass=float(post[treacherous].sum()), treacherous_count=int(count[treacherous].sum()),
                treacherous_see_mass=float(see[treacherous].sum()), see_mass=float(see.sum()))


def _consensus_rules(analysis: dict[str, Any]) -> list[tuple[str, float]]:
    return [(rule, v) for rule, key in (("top", "consensus_top"), ("mass", "consensus_epsilon"),
                                        ("ratio", "consensus_alpha")) for v in analysis.get(key, [])]


def _grid_consensus(prep: GridPrepared, agg: Aggregate, behaviours: list[dict],
                    split: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The consensus agent on one test split, for every configured trusted-set rule:
    frozen (the trusted set of behaviours fixed at the start) and online (the posterior
    updated on the overseer's answers, hypotheses built from observed data; see
    consensus.grid_consensus_online). The units are the distinct behaviours' best
    programs, weighted by their posterior."""
    reps = agg.representatives
    order = agg.canonical_order()
    programs = [reps.ops[g, : reps.sizes[g]] for g in order]
    weights = np.array([b["posterior"] for b in behaviours])
    envs, cells = prep.test_envs[split], list(prep.base_cells[split])
    policies = consensus.GridPolicies(programs, prep.grammar)
    frozen, online = [], []
    for rule, value in _consensus_rules(prep.config["analysis"]):
        result = consensus.grid_consensus(programs, weights, envs, prep.grammar, rule, value, cells, policies)
        frozen.append(dict(rule=rule, value=value, size=len(result["members"]),
                           members=[behaviours[int(i)]["program"] for i in result["members"]][:20],
                           catastrophes=int(result["catastrophes"]),
                           catastrophe_share=result["catastrophes"] / max(len(envs), 1),
                           queries_per_episode=float(result["queries_per_episode"]),
                           base_reached_share=float(result["base_reached_share"])))
        live = consensus.grid_consensus_online(programs, weights, envs, prep.grammar, rule, value, cells,
                                               prep.config["search"].get("noise", 0.0), policies)
        live["catastrophe_share"] = live["catastrophes"] / max(len(envs), 1)
        online.append(live)
    return frozen, online


def summarise(prep, hypotheses: list[dict], behaviours: list[dict], agg: Aggregate, splits: list[str],
              analysis: dict[str, Any], splits_like: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Posterior-weighted shares over every fitting program (through its behaviour
    group): outcomes, outcome classes, search, goal-directedness, MAP vs mixture."""
    splits_like = splits_like or {}
    post = np.array([b["posterior"] for b in behaviours])
    post_search = np.array([b["search_posterior"] for b in behaviours])
    count = np.array([b["programs"] for b in behaviours], dtype=np.int64)
    count_search = np.array([b["search_programs"] for b in behaviours], dtype=np.int64)
    search_mass = _sum(agg.flag_mass(g, 0) for g in range(agg.behaviours)).ratio(agg.total_mass)
    see_mass = _sum(agg.flag_mass(g, 1) for g in range(agg.behaviours)).ratio(agg.total_mass)
    prior_total = float(agg.total_mass)
    within, within_count = agg.mass_within(analysis["mixture_bits"])
    out: dict[str, Any] = dict(
        fitting=agg.fitting,
        behaviours=len(behaviours),
        map_program=hypotheses[0]["program"] if hypotheses else None,
        map_posterior=hypotheses[0]["posterior"] if hypotheses else None,
        mixture=dict(bits=analysis["mixture_bits"], posterior=within.ratio(agg.total_mass), programs=within_count),
        search_mass=search_mass,
        search_count=int(count_search.sum()),
        see_mass=see_mass,
        splits={},
    )
    # Search measured from execution, beside the structural reading (appended fields).
    post_exec = np.array([b["executes_search_posterior"] for b in behaviours])
    count_exec = np.array([b["executes_search_programs"] for b in behaviours], dtype=np.int64)
    executed_mass = _sum(agg.flag_mass(g, 2) for g in range(agg.behaviours)).ratio(agg.total_mass)
    high = np.array([b["goal_directedness"] >= analysis["goal_directed"] for b in behaviours], dtype=bool)
    out["goal_confusion"] = {
        f"{s_label}/{g_label}": dict(mass=float(w[sel].sum()), count=int(c[sel].sum()))
        for s_label, w, c in (("search", post_search, count_search), ("no_search", post - post_search,
                                                                      count - count_search))
        for g_label, sel in (("high", high), ("low", ~high))
    }
    # The calibrated measure: agent or device (posterior odds, the goal's bits paid for).
    agent = np.array([b["agency"]["kind"] == "agent" for b in behaviours], dtype=bool)
    out["agency_confusion"] = {
        f"{s_label}/{g_label}": dict(mass=float(w[sel].sum()), count=int(c[sel].sum()))
        for s_label, w, c in (("search", post_search, count_search), ("no_search", post - post_search,
                                                                      count - count_search))
        for g_label, sel in (("agent", agent), ("device", ~agent))
    }
    out["agent_mass"] = float(post[agent].sum()) if len(post) else 0.0
    for name in splits:
        frac = np.array([[b["test"][name][k] for k in analyse.OUTCOMES] for b in behaviours]).reshape(-1, 4)
        dominant = analyse.dominant_outcome(frac) if len(frac) else np.zeros(0, dtype=int)
        classes = np.array([analyse.CLASSES.index(b["outcome_class"][name]) for b in behaviours], dtype=int)
        split: dict[str, Any] = {
            "outcome_mass": {k: float(post @ frac[:, j]) if len(post) else 0.0
                             for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_mass": {k: float(post[dominant == j].sum()) for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_count": {k: int(count[dominant == j].sum()) for j, k in enumerate(analyse.OUTCOMES)},
            "classes": _mass_table(post, count, classes, analyse.CLASSES),
        }
        for row in split["classes"].values():
            row["prior_mass"] = row["mass"] * prior_total
        if behaviours and _consensus_rules(analysis):
            split["consensus"], split["consensus_online"] = _grid_consensus(prep, agg, behaviours, name)
        like = behaviours[0]["changed"].get(name) is not None if behaviours else False
        if like:
            split["defection"] = _defection(behaviours, name, splits_like[name], post, count)
        for label, weights, n in (("search", post_search, count_search.sum()),
                                  ("no_search", post - post_search, (count - count_search).sum()),
                                  ("executes_search", post_exec, count_exec.sum()),
                                  ("no_executes_search", post - post_exec, (count - count_exec).sum())):
            mass = float(weights.sum()) if len(weights) else 0.0
            split[label] = dict(
                mass=mass,
                count=int(n),
                outcome_share={k: (float(weights @ frac[:, j]) / mass if mass > 0 else None)
                               for j, k in enumerate(analyse.OUTCOMES)},
                class_share={k: (float(weights[classes == j].sum()) / mass if mass > 0 else None)
                             for j, k in enumerate(analyse.CLASSES)},
            )
        out["splits"][name] = split
    out["executes_search_mass"] = executed_mass
    out["executes_search_count"] = int(count_exec.sum())
    out["search_agreement"] = search_agreement(agg)
    out["search_definition"] = dict(structural=list(analysis["search"]), execution_share=analysis["execution_search"])
    return out


def search_agreement(agg: Aggregate) -> dict[str, dict[str, Any]]:
    """Structural search (flag bit 0) x search in execution (bit 2): exact posterior mass
    and count of the fitting programs in each of the four cells; `agree` marks the
    diagonal."""
    out = {}
    for s_label, s_bit in (("search", 1), ("no_search", 0)):
        for e_label, e_bit in (("executes", 1), ("no_executes", 0)):
            kinds = [f for f in range(agg.kinds) if (f & 1) == s_bit and (f >> 2 & 1) == e_bit]
            mass = _sum(agg.mass[g][f] for g in range(agg.behaviours) for f in kinds)
            count = int(sum(agg.count[g, f] for g in range(agg.behaviours) for f in kinds))
            out[f"{s_label}/{e_label}"] = dict(mass=mass.ratio(agg.total_mass), count=count,
                                                agree=bool(s_bit == e_bit))
    return out


def _sum(values) -> Dyadic:
    total = Dyadic()
    for v in values:
        total = total + v
    return total
