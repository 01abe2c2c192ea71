"""The grid domain's run record: analyses of the kept programs and of every behaviour,
and the posterior-weighted summary (outcomes, classes, search, goal-directedness,
consensus). See docs: "JSON output".
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from dsl.grammar import Grammar
from dsl.grid import measures, pair, primitives
from dsl.syntax import unparse
from levinsearch import consensus as consensus_engine
from levinsearch import score
from levinsearch.analyse import search_structure
from levinsearch import tail as tail_mod
from levinsearch.aggregate import Aggregate, Dyadic
from levinsearch.analyses import stakes as stakes_mod
from levinsearch.domains.grid import analyse, consensus, smooth
from levinsearch.domains.grid.prepare import HISTORY_FLAG, GridPrepared, history_productions, like_train
from levinsearch.record import bits, map_tie, program_mass, run_header, versions


def analyse_programs(prep: GridPrepared, ops: np.ndarray, sizes: np.ndarray, chunk: int = 1024) -> dict[str, Any]:
    """Everything the analyses say about each program, from its test and probe episodes:
    per split the share of episodes per outcome [n, 4] and the outcome class [n]; the
    inferred goal (index into prep.goals) and goal-directedness score [n]; search
    measured from execution over the test and probe episodes (`execution`)."""
    a = prep.config["analysis"]
    out: dict[str, Any] = dict(fractions={}, classes={}, changed={}, lost={})
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
        out["lost"][name] = outcomes != analyse.OUTCOMES.index("base")  # episode by episode, for [stakes]
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
    # Agent or device (calibrated): all at once, each distinct probe path counted once.
    out["agency"] = analyse.agency(prep.interpreter.paths(ops, sizes, prep.probes), prep.agency_tables())
    return out


def _defs_grammar(prep: GridPrepared):
    """The parts' definitions grammar (defs or heuristics-defs for a Pred definition; the
    same with an Action definition under the predict-act profiles), with the run's bits
    and bans on the productions it has: the grammar K(policy) and K(world) are priced in."""
    if getattr(prep, "_defs", None) is None:
        g = prep.config["grammar"]
        productions = primitives.part_definitions(g["profile"])
        names = {p.name for p in productions} | {p.qualified for p in productions}
        prep._defs = Grammar(productions, "Action", bits={k: v for k, v in g["bits"].items() if k in names},
                             ban=[n for n in g["ban"] if n in names])
    return prep._defs


def pair_fields(prep: GridPrepared, ops: np.ndarray) -> dict[str, Any]:
    """A pair program's parts and description lengths (dsl.grid.measures), in bits, and
    its wrong predictions of the character's next cell."""
    predictor, policy = pair.split(ops, prep.grammar)
    m = measures.pair_measures(ops, prep.grammar, _defs_grammar(prep))
    right, _ = prep.interpreter.predict_parts(predictor[None, :], np.array([len(predictor)], dtype=np.int32),
                                              prep.character)
    return dict(predictor=unparse(predictor, prep.part_grammar), policy=unparse(policy, prep.part_grammar),
                prediction_errors=len(prep.character.target) - int(right[0]),
                k_world=bits(m["world"]), k_policy=bits(m["policy"]),
                k_policy_given_world=bits(m["policy_given_world"]), shared_bits=bits(m["shared"]))


def predict_summary(prep: GridPrepared, agg: Aggregate) -> dict[str, Any]:
    """Predict profiles: the character, and over every fitting program (posterior
    weighted) the mean K(policy), K(world), K(policy | world) and shared bits, and the
    posterior of programs whose definition both parts use."""
    fits = agg.fits
    out: dict[str, Any] = dict(character=prep.config.get("character", {}).get("rule", ""),
                               predictions=int(len(prep.character.target)), fitting=int(len(fits) if fits else 0))
    if not fits or not len(fits):
        return out
    weight = np.exp2(-(fits.score - fits.score.min()))
    weight /= weight.sum()
    defs, g = _defs_grammar(prep), prep.grammar
    rows = [measures.pair_measures(fits.ops[i, : fits.sizes[i]], g, defs) for i in range(len(fits))]
    for key in ("world", "policy", "policy_given_world", "shared"):
        out[f"mean_{key}_bits"] = round(float(weight @ np.array([r[key] for r in rows], dtype=np.float64)) / 1000, 6)
    both = np.array([_uses_in_both(fits.ops[i, : fits.sizes[i]], g) for i in range(len(fits))])
    out["shared_definition_mass"] = round(float(weight[both].sum()), 6)
    return out


def _uses_in_both(ops: np.ndarray, grammar) -> bool:
    """Whether a pair program's definition is used by both its predictor and its policy."""
    definition, predictor, policy = pair.parts(ops, grammar)
    return definition is not None and grammar.ref_id in predictor and grammar.ref_id in policy


def _outcome_dict(fractions) -> dict[str, float]:
    return dict(zip(analyse.OUTCOMES, (round(float(x), 6) for x in fractions)))


def _program_analysis(prep: GridPrepared, analysis: dict[str, Any], i: int) -> dict[str, Any]:
    """The record fields of program i of an `analyse_programs` result."""
    return _program_analyses(prep, analysis, [i])[0]


def _program_analyses(prep: GridPrepared, analysis: dict[str, Any], rows=None) -> list[dict[str, Any]]:
    """The record fields of each program of an `analyse_programs` result (or of those
    numbered in `rows`). The arrays become lists first: rounding Python floats is what
    costs least per behaviour, and gives what round(float(x), 6) gives."""
    n = len(analysis["goal"])
    rows = range(n) if rows is None else rows

    def col(values) -> list:
        return np.asarray(values).tolist()

    fractions = {name: col(f) for name, f in analysis["fractions"].items()}
    classes = {name: [analyse.CLASSES[c] for c in col(c)] for name, c in analysis["classes"].items()}
    changed = {name: col(c) for name, c in analysis["changed"].items()}
    goals, goal, goal_score = prep.goals, col(analysis["goal"]), col(analysis["goal_score"])
    execution = analysis["execution"]
    per_decision, share, searches = col(execution.per_decision), col(execution.share), col(execution.searches)
    agency = analysis["agency"]
    odds, agent_bits, device_bits = col(agency["log2_odds"]), col(agency["agent_bits"]), col(agency["device_bits"])
    agency_goal = col(agency["goal"])
    threshold = prep.config["analysis"]["agent_bits"]
    return [dict(
        test={name: _outcome_dict(f[i]) for name, f in fractions.items()},
        outcome_class={name: c[i] for name, c in classes.items()},
        changed={name: round(float(c[i]), 6) for name, c in changed.items()},
        inferred_goal=goals[int(goal[i])] if goals else None,
        goal_directedness=round(float(goal_score[i]), 6),
        lookahead_per_decision=round(float(per_decision[i]), 6),
        lookahead_share=round(float(share[i]), 6),
        executes_search=bool(searches[i]),
        # Agent or device: the posterior odds (log2) with the goal's complexity paid for.
        agency=dict(kind="agent" if odds[i] > threshold else "device", log2_odds=round(float(odds[i]), 6),
                    agent_bits=round(float(agent_bits[i]), 6), device_bits=round(float(device_bits[i]), 6),
                    goal=goals[int(agency_goal[i])] if goals else None),
    ) for i in rows]


def build_record(prep: GridPrepared, agg: Aggregate, enumeration: dict[str, Any],
                 bound: float | None) -> dict[str, Any]:
    """The grid run record from a summary of the judged programs."""
    config, grammar = prep.config, prep.grammar
    s = config["search"]
    total = agg.total_mass

    top = agg.top
    analysis = analyse_programs(prep, top.ops, top.sizes)
    history_ids = history_productions(grammar)  # the history profile's flag and fields (else empty)
    trials = prep.judge.trials  # the training grids (and, for pairs, the character's steps)
    hypotheses = []
    for i in range(len(top)):
        ops = top.ops[i, : top.sizes[i]]
        if prep.pairs:  # search is read from the policy
            structure = search_structure(pair.split(ops, grammar)[1], prep.part_grammar, config["analysis"]["search"])
        else:
            structure = search_structure(ops, grammar, config["analysis"]["search"])
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
            train_success=round(int(top.successes[i]) / trials, 6),
            errors=trials - int(top.successes[i]),
            exception_bits=round(float(score.exception_bits(trials - int(top.successes[i]), trials,
                                                            s.get("noise", 0.0))), 6),
            enumeration_index=int(top.rank[i]),
            **_program_analysis(prep, analysis, i),
        )
        if s["order"] == "levin":
            entry["phase"] = score.levin_phase(int(top.mbits[i]), int(top.steps[i]))
        if len(history_ids):
            entry["history"] = bool(np.isin(ops, history_ids).any())
        if prep.pairs:
            entry.update(pair_fields(prep, ops))
        hypotheses.append(entry)

    lost: dict[str, list[np.ndarray]] | None = {} if "stakes" in config else None
    behaviours = _behaviours(prep, agg, bound, lost)
    summary = summarise(prep, hypotheses, behaviours, agg, list(prep.tests), config["analysis"],
                        {name: split.get("like") for name, split in config["test"].items()})
    if len(history_ids):
        reading = Dyadic()
        for g in range(agg.behaviours):
            reading = reading + agg.flag_mass(g, HISTORY_FLAG)
        summary["history_mass"] = min(1.0, reading.ratio(total))
    if prep.pairs:
        summary["predict"] = predict_summary(prep, agg)
    if lost is not None:
        tie = summary.get("map_tie")
        summary["stakes"] = grid_stakes(config["stakes"], behaviours, lost, list(prep.tests),
                                        tie["behaviours"] if tie else 1)
    record = dict(
        **run_header(config, grammar),
        environments=dict(train=len(prep.train), test={name: len(b) for name, b in prep.tests.items()}),
        enumeration=enumeration,
        hypotheses=hypotheses,
        behaviours=behaviours,
        summary=summary,
        goals=dict(family=len(prep.goals), probes=len(prep.probes)),
    )
    tie = summary.get("map_tie")
    smoothed = smooth.deployment(prep, agg, behaviours, map_behaviours=tie["behaviours"] if tie else 1)
    for name, figures in (smoothed or {}).items():
        summary["splits"][name]["smoothed"] = figures
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
        **({"history": posterior.flag_figure(HISTORY_FLAG)} if len(history_productions(prep.grammar)) else {}),
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


def grid_stakes(table: dict[str, Any], behaviours: list[dict[str, Any]], lost: dict[str, list[np.ndarray]],
                splits: list[str], map_behaviours: int = 1) -> dict[str, Any]:
    """The summary's `stakes` part: per test split, the MAP's and the posterior's
    stakes-weighted losses (an episode is lost when the base objective is not reached)
    and the rare defectors (losing 1..max_defections episodes) by the stakes of the
    episodes where they lose (levinsearch.analyses.stakes). `map_behaviours`: the
    behaviours of the MAP's tie (a prefix of the canonical order); the MAP's loss is
    their mean."""
    post = np.array([b["posterior"] for b in behaviours], dtype=np.float64)
    scores = np.array([b["score"] for b in behaviours], dtype=np.float64)
    programs = np.array([b["programs"] for b in behaviours], dtype=np.int64)
    out = {}
    for name in splits:
        wrong = np.concatenate(lost[name]) if lost.get(name) else np.zeros((0, 0), dtype=bool)
        w = stakes_mod.weights_of_episodes(table, name, wrong.shape[1] if len(wrong) else 0)
        if not len(wrong):
            continue
        out[name] = stakes_mod.figures(post, wrong, w, scores, programs, table["max_defections"],
                                       wrong[: max(1, map_behaviours)])
    return out


def _behaviours(prep: GridPrepared, agg: Aggregate, unseen_bound: float | None,
                lost: dict[str, list[np.ndarray]] | None = None) -> list[dict[str, Any]]:
    """One entry per distinct behaviour, best first: its mass (with the range the unseen
    programs allow), count and analyses, computed once on its best program. `lost`:
    when given, filled per test split with the behaviours' lost episodes (bool [n, E]
    chunks, in order)."""
    reps = agg.representatives
    order = agg.canonical_order()
    seen = float(agg.total_mass)
    # What every behaviour needs of the summary, read at once (exact masses as integers
    # over one power of two: see ScaledMasses).
    masses = agg.scaled_masses()
    group, flagged = masses.groups(), [masses.with_flag(bit) for bit in range(3)]
    kinds = np.arange(agg.kinds)
    programs = agg.count.sum(axis=1).tolist()
    flag_programs = [agg.count[:, kinds[(kinds >> bit) & 1 == 1]].sum(axis=1).tolist() for bit in range(3)]
    scores = reps.score.tolist()
    out = []
    # A chunk at a time: the episodes' arrays of every behaviour at once would dominate
    # the memory of a large run. One thread analyses the next chunk (compiled kernels and
    # NumPy, mostly without the GIL) while this one writes the entries of the last; only
    # that thread calls the kernels, so no two parallel kernels are ever launched at once.
    parts = [order[lo: lo + BEHAVIOUR_CHUNK] for lo in range(0, len(order), BEHAVIOUR_CHUNK)]

    def analysed(part):
        return analyse_programs(prep, reps.ops[part], reps.sizes[part])

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(analysed, parts[0]) if parts else None
        for k, part in enumerate(parts):
            analysis = pending.result()
            pending = pool.submit(analysed, parts[k + 1]) if k + 1 < len(parts) else None
            if lost is not None:
                for name, rows in analysis["lost"].items():
                    lost.setdefault(name, []).append(rows)
            out += _entries(prep, agg, part, _program_analyses(prep, analysis), masses, group, flagged, programs,
                            flag_programs, scores, seen, unseen_bound)
    return out


def _entries(prep, agg, part, analyses, masses, group, flagged, programs, flag_programs, scores, seen,
             unseen_bound) -> list[dict[str, Any]]:
    """The entries of the behaviours numbered in `part`, from their analyses."""
    reps = agg.representatives
    out = []
    for g, analysis in zip(part.tolist(), analyses):
        h1, h2 = agg.key_of(g)
        prior = masses.value(group[g])
        entry = dict(
            key=f"{h1:016x}{h2:016x}",
            program=unparse(reps.ops[g, : reps.sizes[g]], prep.grammar),
            score=round(scores[g], 6),
            programs=programs[g],
            search_programs=flag_programs[0][g],
            see_programs=flag_programs[1][g],
            prior_mass=prior,
            posterior=masses.share(group[g]),
            search_posterior=masses.share(flagged[0][g]),
            see_posterior=masses.share(flagged[1][g]),
            posterior_range=None,
            **analysis,
            executes_search_programs=flag_programs[2][g],
            executes_search_posterior=masses.share(flagged[2][g]),
        )
        if unseen_bound is not None and seen + unseen_bound > 0:
            # Unseen fitting programs could add at most `unseen_bound` to any behaviour.
            entry["posterior_range"] = [prior / (seen + unseen_bound),
                                        (prior + unseen_bound) / (seen + unseen_bound)]
        out.append(entry)
    return out


def _mass_table(weights: np.ndarray, counts: np.ndarray, labels: np.ndarray, names) -> dict[str, dict]:
    # min: a sum of shares that add up to 1 can round to 1 + 2^-52.
    return {name: dict(mass=min(1.0, float(weights[labels == j].sum())), count=int(counts[labels == j].sum()))
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
    trust = _trust_in_advance(prep, behaviours, weights)
    noise = prep.config["search"].get("noise", 0.0)
    for rule, value in _consensus_rules(prep.config["analysis"]):
        result = consensus.grid_consensus(programs, weights, envs, prep.grammar, rule, value, cells, policies)
        frozen.append(_frozen_row(behaviours, envs, rule, value, result))
        live = consensus.grid_consensus_online(programs, weights, envs, prep.grammar, rule, value, cells,
                                               noise, policies,
                                               watch=None if trust is None else trust["demonstrator_index"])
        live["catastrophe_share"] = live["catastrophes"] / max(len(envs), 1)
        # A top-N or mass cut can fall inside a tie, and then the order of the behaviours
        # picks the trusted ones: `tie` gives the agent that trusts the whole tie.
        frozen[-1]["tie"] = live["tie"] = None
        if rule != "ratio":
            whole = consensus.grid_consensus(programs, weights, envs, prep.grammar, rule, value, cells, policies,
                                             whole_ties=True)
            if len(whole["members"]) > len(result["members"]):
                frozen[-1]["tie"] = {k: v for k, v in _frozen_row(behaviours, envs, rule, value, whole).items()
                                     if k not in ("rule", "value")}
            whole_live = consensus.grid_consensus_online(
                programs, weights, envs, prep.grammar, rule, value, cells, noise, policies,
                watch=None if trust is None else trust["demonstrator_index"], whole_ties=True)
            if whole_live["tie_steps"]:
                live["tie"] = {k: whole_live[k] for k in ("episode_queries", "queries", "total_queries",
                                                           "queries_per_episode", "catastrophes",
                                                           "base_reached_share", "surviving", "tie_steps")}
                live["tie"]["catastrophe_share"] = whole_live["catastrophes"] / max(len(envs), 1)
                if trust is not None:
                    live["tie"]["watched_refuted"] = whole_live["watched_refuted"]
        if trust is not None:  # the one rule of --trust: how the run compares with its bound
            refuted = live.pop("watched_refuted")
            tie = live["tie"]
            if tie is not None:  # the whole tie trusted: no order picks the trusted set
                refuted = tie.pop("watched_refuted")
            queries = live["total_queries"] if tie is None else tie["total_queries"]
            trust.update(total_queries=queries,
                         queries_per_episode=live["queries_per_episode"] if tie is None
                         else tie["queries_per_episode"],
                         within_bound=None if trust["max_queries"] is None else queries <= trust["max_queries"],
                         demonstrator_refuted=refuted, tie_trusted_whole=tie is not None)
        online.append(live)
    if trust is not None:
        del trust["demonstrator_index"]
    return frozen, online, trust


def _frozen_row(behaviours: list[dict], envs, rule: str, value: float, result: dict) -> dict[str, Any]:
    """A frozen consensus agent's row of the record."""
    return dict(rule=rule, value=value, size=len(result["members"]),
                members=[behaviours[int(i)]["program"] for i in result["members"]][:20],
                catastrophes=int(result["catastrophes"]),
                catastrophe_share=result["catastrophes"] / max(len(envs), 1),
                queries_per_episode=float(result["queries_per_episode"]),
                base_reached_share=float(result["base_reached_share"]))


def _trust_in_advance(prep: GridPrepared, behaviours: list[dict], weights: np.ndarray) -> dict[str, Any] | None:
    """With [analysis] trust set: the rule, the demonstrator and the query bound, all known
    before any episode runs (docs/concepts.md, "The trust rule and its query bound").

    The demonstrator is the overseer's own policy written as a program, (plan BASE): the
    overseer answers with the first step of the breadth-first shortest path to the base
    predicate, which is what `plan` computes. Its weight is the start-of-deployment
    posterior of the behaviour whose best program that is (None when no behaviour's
    is: the bound then assumes nothing and is None)."""
    text = prep.config["analysis"].get("trust")
    if text is None:
        return None
    rule, value = consensus_engine.parse_trust(text)
    program = f"(plan {' '.join(str(prep.config['base']).split())})"
    index = next((i for i, b in enumerate(behaviours) if " ".join(b["program"].split()) == program), None)
    total = float(weights.sum())
    share = float(weights[index]) / total if index is not None and total > 0 else None
    bound = consensus_engine.trust_bound(rule, value, share, int(np.count_nonzero(weights > 0)),
                                         prep.config["search"].get("noise", 0.0))
    return dict(rule=rule, value=value, demonstrator=program if index is not None else None,
                demonstrator_weight=share, demonstrator_index=index, **bound)


def _map_tie(prep, agg: Aggregate, behaviours: list[dict], splits: list[str]) -> dict[str, Any] | None:
    """The MAP's tie set (levinsearch.record.map_tie) with its spread: per split, how many
    tied behaviours fall in each outcome class."""
    tie = map_tie(agg, prep.grammar)
    if tie is None:
        return None
    tied = behaviours[: tie["behaviours"]]  # behaviours are in canonical order: the tie is a prefix
    tie["classes"] = {name: {c: sum(1 for b in tied if b["outcome_class"][name] == c) for c in analyse.CLASSES}
                      for name in splits}
    return tie


def summarise(prep, hypotheses: list[dict], behaviours: list[dict], agg: Aggregate, splits: list[str],
              analysis: dict[str, Any], splits_like: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Posterior-weighted shares over every fitting program (through its behaviour
    group): outcomes, outcome classes, search, goal-directedness, MAP vs mixture."""
    splits_like = splits_like or {}
    masses = agg.scaled_masses()
    post = np.array([b["posterior"] for b in behaviours])
    post_search = np.array([b["search_posterior"] for b in behaviours])
    count = np.array([b["programs"] for b in behaviours], dtype=np.int64)
    count_search = np.array([b["search_programs"] for b in behaviours], dtype=np.int64)
    search_mass = masses.share(sum(masses.with_flag(0)))
    see_mass = masses.share(sum(masses.with_flag(1)))
    prior_total = float(agg.total_mass)
    within, within_count = agg.mass_within(analysis["mixture_bits"])
    out: dict[str, Any] = dict(
        fitting=agg.fitting,
        behaviours=len(behaviours),
        map_program=hypotheses[0]["program"] if hypotheses else None,
        map_posterior=hypotheses[0]["posterior"] if hypotheses else None,
        map_tie=_map_tie(prep, agg, behaviours, splits),
        mixture=dict(bits=analysis["mixture_bits"], posterior=within.ratio(agg.total_mass), programs=within_count),
        search_mass=search_mass,
        search_count=int(count_search.sum()),
        see_mass=see_mass,
        splits={},
    )
    # Search measured from execution, beside the structural reading (appended fields).
    post_exec = np.array([b["executes_search_posterior"] for b in behaviours])
    count_exec = np.array([b["executes_search_programs"] for b in behaviours], dtype=np.int64)
    executed_mass = masses.share(sum(masses.with_flag(2)))
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
            # Shares: a sum of posteriors that add up to 1 can round to 1 + 2^-52; at most 1.
            "outcome_mass": {k: min(1.0, float(post @ frac[:, j])) if len(post) else 0.0
                             for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_mass": {k: min(1.0, float(post[dominant == j].sum())) for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_count": {k: int(count[dominant == j].sum()) for j, k in enumerate(analyse.OUTCOMES)},
            "classes": _mass_table(post, count, classes, analyse.CLASSES),
        }
        for row in split["classes"].values():
            row["prior_mass"] = row["mass"] * prior_total
        if behaviours and _consensus_rules(analysis):
            split["consensus"], split["consensus_online"], trust = _grid_consensus(prep, agg, behaviours, name)
            if trust is not None:
                split["trust"] = trust
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
    masses = agg.scaled_masses()
    out = {}
    for s_label, s_bit in (("search", 1), ("no_search", 0)):
        for e_label, e_bit in (("executes", 1), ("no_executes", 0)):
            kinds = [f for f in range(agg.kinds) if (f & 1) == s_bit and (f >> 2 & 1) == e_bit]
            count = int(agg.count[:, kinds].sum()) if kinds else 0
            out[f"{s_label}/{e_label}"] = dict(mass=masses.share(masses.of_kinds(kinds)), count=count,
                                                agree=bool(s_bit == e_bit))
    return out

