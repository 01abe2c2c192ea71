"""The grid domain: policies in gridworlds (DSL in `dsl.grid`).

A program fits when it reaches the base objective in the training grids; fitting
programs are grouped by what they do on the test and probe grids, checked for embedded
search and classed by where they go off-distribution.
"""
from __future__ import annotations

from typing import Any, Mapping

from dsl.errors import DslError
from dsl.grid import primitives
from levinsearch.domains.base import Domain
from levinsearch.domains.grid import config as grid_config
from levinsearch.domains.grid.types import GridBehaviour, GridHypothesis, GridSummary
from levinsearch.ensemble import above, greater
from levinsearch.sweeps import stakes_figure, whole


def _split(record: dict, split: str) -> dict:
    return record["summary"]["splits"][split]


def _class_distribution(record: dict, split: str | None) -> dict[str, float]:
    """The posterior over outcome classes on a split (none without a split)."""
    if not split:
        return {}
    return {k: v["mass"] for k, v in _split(record, split)["classes"].items()}


class GridDomain(Domain):
    name = "grid"
    sections = frozenset({"train", "test", "stakes", "character"})
    experiment_keys = frozenset({"base", "proxy"})
    flag_keys = grid_config.FLAG_KEYS
    default_analysis = grid_config.DEFAULT_ANALYSIS
    short_keys = {"base": "experiment.base", "proxy": "experiment.proxy", "train_envs": "train.envs",
                  "character": "character.rule"}
    metrics = {
        "stakes_loss": ("stakes-weighted loss", "with a [stakes] table: the stakes-weighted loss (episodes where "
                        "the base objective is not reached) of a policy drawn from the posterior on the split, as a "
                        "share of its total stakes",
                        lambda r, split: stakes_figure(r, "posterior", "rate", split)),
        "search": ("P(search)", "posterior mass of programs with embedded search",
                   lambda r, split: r["summary"]["search_mass"]),
        "agents": ("P(agent)", "posterior mass of behaviours that are agents rather than devices (calibrated "
                   "goal-directedness)", lambda r, split: r["summary"].get("agent_mass")),
        "executes_search": ("P(executes search)", "posterior mass of programs that search in execution "
                            "([analysis] execution_search of their decisions used lookahead)",
                            lambda r, split: r["summary"]["executes_search_mass"]),
        "proxy_given_executes_search": ("P(proxy | executes search)", "share of the mass that searches in "
                                        "execution that is pseudo-aligned on the split",
                                        lambda r, split: _split(r, split)["executes_search"]["class_share"]["pseudo"]),
        "proxy_given_search": ("P(proxy | search)",
                               "share of the search mass that is pseudo-aligned on the split",
                               lambda r, split: _split(r, split)["search"]["class_share"]["pseudo"]),
        "robust": ("P(robust)", "posterior mass of robustly aligned programs on the split",
                   lambda r, split: _split(r, split)["classes"]["robust"]["mass"]),
        "pseudo": ("P(pseudo)", "posterior mass of pseudo-aligned programs on the split",
                   lambda r, split: _split(r, split)["classes"]["pseudo"]["mass"]),
        "capability_failure": ("P(capability failure)", "posterior mass of capability failures on the split",
                               lambda r, split: _split(r, split)["classes"]["capability_failure"]["mass"]),
        "base": ("base episodes", "share of test episodes the posterior sends to the base objective",
                 lambda r, split: _split(r, split)["outcome_mass"]["base"]),
        "proxy": ("proxy episodes", "share of test episodes the posterior sends to the proxy",
                  lambda r, split: _split(r, split)["outcome_mass"]["proxy"]),
        "history": ("P(history)", "posterior of programs that read the episode's trajectory with visited "
                    "(grid history profile; none under the other profiles)",
                    lambda r, split: r["summary"].get("history_mass")),
        "shared_bits": ("shared bits", "predict profiles: posterior mean of K(policy) - K(policy | world), the bits "
                        "the policy shares with the predictor", lambda r, split: r["summary"].get("predict", {})
                        .get("mean_shared_bits")),
        "shared_definition": ("P(shared definition)", "predict profiles: posterior of programs whose definition "
                              "both the predictor and the policy use",
                              lambda r, split: r["summary"].get("predict", {}).get("shared_definition_mass")),
        "whole_search": ("P(search), all", "P(search) over all programs (estimated with tail samples)",
                         lambda r, split: whole(r, "search")),
        "whole_robust": ("P(robust), all", "P(robust) on the split over all programs (estimated with tail samples)",
                         lambda r, split: whole(r, "splits", split, "classes", "robust")),
        "whole_pseudo": ("P(pseudo), all", "P(pseudo) on the split over all programs (estimated with tail samples)",
                         lambda r, split: whole(r, "splits", split, "classes", "pseudo")),
        "whole_capability_failure": ("P(capability failure), all", "P(capability failure) on the split over all "
                                     "programs (estimated with tail samples)",
                                     lambda r, split: whole(r, "splits", split, "classes", "capability_failure")),
        "whole_executes_search": ("P(executes search), all", "P(executes search) over all programs (estimated "
                                  "with tail samples)", lambda r, split: whole(r, "executes_search")),
        "whole_agents": ("P(agent), all", "P(agent) over all programs (estimated with tail samples)",
                         lambda r, split: whole(r, "agent")),
        "whole_base": ("base episodes, all", "share of test episodes sent to the base objective, over all programs "
                       "(estimated with tail samples)", lambda r, split: whole(r, "splits", split, "outcome", "base")),
        "whole_proxy": ("proxy episodes, all", "share of test episodes sent to the proxy, over all programs "
                        "(estimated with tail samples)", lambda r, split: whole(r, "splits", split, "outcome", "proxy")),
    }
    table_metrics = ("search", "executes_search", "proxy_given_search", "robust", "capability_failure", "fitting",
                     "unenumerated_mass")
    default_metric = "search"
    whole_metrics = ("whole_search", "whole_robust", "whole_pseudo")  # in the sweep table
    sweep_distributions = {"outcome_class": _class_distribution}
    ensemble_directions = {
        "pseudo_over_robust": ("pseudo > robust", greater("pseudo", "robust")),
        "robust_over_pseudo": ("robust > pseudo", greater("robust", "pseudo")),
        "proxy_over_base": ("proxy episodes > base episodes", greater("proxy", "base")),
        "search_majority": ("P(search) > 1/2", above("search", 0.5)),
        "agent_majority": ("P(agent) > 1/2", above("agents", 0.5)),
    }
    kernel_modules = ("dsl.grid.kernels",)
    summary_type = GridSummary
    behaviour_type = GridBehaviour
    hypothesis_type = GridHypothesis
    #: default: search (plan, greedy) is the only competent way to move; heuristics adds
    #: reactive heading, wall-following, memory and richer sensing (docs/grid-heuristics.md).
    profiles = primitives.PROFILES
    smoothing = True  # [search] smooth: perturbed training and test grids (docs/grid.md)

    def grammar(self, *, bits=None, ban=(), cost=None, profile=None):
        return primitives.grammar(bits=bits, ban=ban, cost=cost, profile=self.check_profile(profile))

    def header_fields(self, exp):
        return grid_config.header_fields(exp)

    def resolve(self, raw, config, overrides):
        return grid_config.resolve(raw, config, overrides)

    def prepare(self, config):
        from levinsearch.domains.grid.prepare import prepare
        return prepare(self, config)

    def reference_judge(self, prep):
        from levinsearch.domains.grid.prepare import reference_judge
        return reference_judge(prep)

    def example(self):
        return {"experiment": {"name": "grid-example", "description": "red doors in training, blue at test"},
                "search": {"max_bits": 14},
                "train": {"envs": 6, "height": 6, "width": 6},
                "test": {"blue_doors": {"envs": 4, "doors": {"colours": ["blue"]},
                                        "distractors": {"count": 2, "colours": ["red"]}}},
                "analysis": {"probes": {"envs": 6}, "goal_bits": 8}}

    def show_example(self):
        return "(plan door)", {"env_ref": "blue_doors:0"}

    def min_fit_steps(self, prep):
        from levinsearch.domains.grid.prepare import min_fit_steps
        return min_fit_steps(prep)

    def build_record(self, prep, agg, enumeration, unseen_bound):
        from levinsearch.domains.grid.record import build_record
        return build_record(prep, agg, enumeration, unseen_bound)

    def report(self, record):
        from levinsearch.domains.grid.report import run_report
        return run_report(record)

    def sweep_split(self, configs: list[dict[str, Any]], requested: str | None) -> str:
        split = requested or next(iter(configs[0]["test"]))
        for config in configs:
            if split not in config["test"]:
                raise DslError(f"--split: no test split {split!r} (this experiment has: {', '.join(config['test'])})")
        return split

    def commands(self):
        from levinsearch.domains.grid.commands import grid_format
        return [grid_format]

    @property
    def show_options(self):
        from levinsearch.domains.grid.commands import SHOW_OPTIONS
        return SHOW_OPTIONS

    def show_overrides(self, options):
        """With --env, the split is generated again: with --seed and --horizon, if given."""
        return dict(seed=options.get("seed"), horizon=options.get("horizon")) if options.get("env_ref") else {}

    def show(self, program: str, config: dict[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
        from levinsearch.domains.grid.show import show
        return show(self, program, config, options)

    def show_report(self, record):
        from levinsearch.domains.grid.report import show_panel
        return show_panel(record)

    def figures(self, record):
        from levinsearch.domains.grid import figures
        if "enumeration" not in record:  # a show record: its trajectory
            return [("trajectory", figures.trajectory_figure(record))]
        return figures.run_figures(record) + super().figures(record)


DOMAIN = GridDomain()
