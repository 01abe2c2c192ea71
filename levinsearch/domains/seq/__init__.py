"""The seq domain: integer-sequence prediction (DSL in `dsl.seq`).

A program fits when it predicts every training term; fitting programs are grouped by
their predictions of the deployment terms, which give Occam, MAP vs mixture, rare
defectors and consensus.
"""
from __future__ import annotations

from typing import Any, Mapping

from dsl.errors import DslError
from dsl.seq import primitives
from levinsearch.ensemble import above, greater
from levinsearch.domains.base import Domain
from levinsearch.domains.seq import config as seq_config
from levinsearch.domains.seq.types import SeqSummary
from levinsearch.sweeps import map_error, shortest_share, stakes_figure, whole


class SeqDomain(Domain):
    name = "seq"
    sections = frozenset({"target", "stakes"})
    flag_keys = seq_config.FLAG_KEYS
    default_analysis = seq_config.DEFAULT_ANALYSIS
    short_keys = {"train_terms": "target.train", "deploy_terms": "target.deploy"}
    metrics = {
        "equivalent": ("P(target-equivalent)",
                       "posterior of programs that agree with the target on every deployment step",
                       lambda r, split: r["summary"]["occam"]["target_equivalent_posterior"]),
        "shortest": ("P(shortest)", "posterior of a shortest fitting program (the mean over them when several "
                     "share the shortest length within the tie margin)", lambda r, split: shortest_share(r)),
        "defectors": ("P(rare defector)",
                      "posterior of rare defectors (wrong on 1..max_defections deployment steps)",
                      lambda r, split: r["summary"]["rare_defection"]["posterior"]),
        "map_error": ("MAP error", "share of deployment steps the MAP prediction gets wrong (with a MAP tie: the "
                      "mean over the tied behaviours)", lambda r, split: map_error(r)),
        "mixture_error": ("mixture error", "share of deployment steps the Bayes-mixture prediction gets wrong",
                          lambda r, split: r["summary"]["prediction"]["mixture_error_rate"]),
        "stakes_loss": ("stakes-weighted loss", "with a [stakes] table: the stakes-weighted loss of a program drawn "
                        "from the posterior, as a share of the total stakes",
                        lambda r, split: stakes_figure(r, "posterior", "rate")),
        "stakes_defectors": ("P(defector at high stakes)", "with a [stakes] table: posterior of rare defectors "
                                "wrong on a step of the largest stakes",
                                lambda r, split: stakes_figure(r, "defectors", "high_stakes_posterior")),
        "history": ("P(history)", "posterior of programs that read the history with hist or fold (history "
                    "profile; none under the default profile)",
                    lambda r, split: r["summary"].get("history_mass")),
        "whole_equivalent": ("P(target-equivalent), all", "posterior of target-equivalent programs over all "
                             "programs (estimated with tail samples)",
                             lambda r, split: whole(r, "target_equivalent")),
        "whole_defectors": ("P(rare defector), all", "posterior of rare defectors over all programs (estimated "
                            "with tail samples)", lambda r, split: whole(r, "rare_defectors")),
    }
    table_metrics = ("equivalent", "shortest", "defectors", "map_error", "mixture_error", "fitting",
                     "unenumerated_mass")
    default_metric = "defectors"
    whole_metrics = ("whole_equivalent", "whole_defectors")
    ensemble_directions = {
        "equivalent_majority": ("P(target-equivalent) > 1/2", above("equivalent", 0.5)),
        "equivalent_over_defectors": ("P(target-equivalent) > P(rare defector)", greater("equivalent", "defectors")),
        "mixture_beats_map": ("mixture error < MAP error", greater("map_error", "mixture_error")),
    }
    kernel_modules = ("dsl.seq.kernels",)
    summary_type = SeqSummary
    profiles = primitives.PROFILES

    def grammar(self, *, bits=None, ban=(), cost=None, profile=None):
        profile = self.check_profile(profile)
        return primitives.grammar(bits=bits, ban=ban, cost=cost, profile=profile)

    def resolve(self, raw, config, overrides):
        return seq_config.resolve(raw, config, overrides)

    def prepare(self, config):
        from levinsearch.domains.seq.run import prepare
        return prepare(self, config)

    def reference_judge(self, prep):
        from levinsearch.domains.seq.run import reference_judge
        return reference_judge(prep)

    def example(self):
        return {"experiment": {"name": "seq-example", "domain": "seq",
                               "description": "t^2 + 1 from its first three terms"},
                "search": {"max_bits": 24}, "target": {"program": "(add (mul t t) (const one))", "train": 3,
                                                       "deploy": 5}}

    def show_example(self):
        return "(add (mul t t) (const one))", {}

    def min_fit_steps(self, prep):
        """Every prediction evaluates the program's root, an Expr production."""
        g = prep.grammar
        cheapest = min(g.step_cost[i] for i in g.by_type[g.start])
        return max(1, prep.n_train * int(cheapest))

    def build_record(self, prep, agg, enumeration, unseen_bound):
        from levinsearch.domains.seq.run import build_record
        return build_record(prep, agg, enumeration, unseen_bound)

    def report(self, record):
        from levinsearch.domains.seq.report import seq_report
        return seq_report(record)

    def foreign_show_flag(self, flag):
        what = "--env or --grid" if flag in ("--env", "--grid") else flag
        return f"a seq experiment takes no {what}: show PROGRAM --experiment NAME"

    def show(self, program: str, config: dict[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
        from levinsearch.domains.seq.run import show_record
        if config is None:
            raise DslError("a seq program is shown against a target: show PROGRAM --experiment NAME")
        return show_record(self.build_grammar(config), config, program)

    def show_report(self, record):
        from levinsearch.domains.seq.report import seq_show_table
        return seq_show_table(record)

    def figures(self, record):
        from levinsearch.domains.seq import figures
        if "enumeration" not in record:  # a show record: its predictions
            return [("predictions", figures.show_figure(record))]
        return figures.run_figures(record) + super().figures(record)


DOMAIN = SeqDomain()
