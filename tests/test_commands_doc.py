"""docs/commands.md is generated from the click commands (levinsearch/docgen.py) and
must be current; shell completion offers experiment, run and profile names."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from levinsearch import clihelp, docgen, domains, experiments
from levinsearch.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_commands_md_is_current():
    current = docgen.OUTPUT.read_text(encoding="utf-8")
    assert current == docgen.generate(), (
        f"docs/commands.md is stale: run `{docgen.REGENERATE}` (or `{docgen.REGENERATE_LONG}`) and commit it")


def test_the_page_covers_every_command_and_option():
    text = docgen.generate()
    assert text.startswith("# Commands\n")
    assert "This page is generated" in text and "make docs" in text

    def walk(command: click.Command, path: list[str]) -> None:
        assert f"`{' '.join(['levinsearch', *path])}" in text, path
        for param in command.params:
            for opt in getattr(param, "opts", []) if isinstance(param, click.Option) else []:
                assert opt in text, (path, opt)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, path + [name])

    walk(cli, [])
    # The drift of issue 23: the tm group, report --figures, show --plot, every domain.
    for needle in ("## `levinsearch tm COMMAND`", "### `levinsearch tm ctm`", "`--figures`", "`--plot",
                   "DOMAIN is one of: " + ", ".join(f"`{d}`" for d in domains.names()) + "."):
        assert needle in text, needle
    assert f"The {len(experiments.bundled())} bundled experiments" in text
    for name in experiments.bundled():
        assert f"| `{name}` |" in text


def test_check_mode_reports_a_stale_page(tmp_path):
    page = tmp_path / "commands.md"
    page.write_text("# Commands\n\nold text\n", encoding="utf-8")
    assert docgen.main(["--check", "--output", str(page)]) == 1
    assert docgen.main(["--output", str(page)]) == 0
    assert docgen.main(["--check", "--output", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == docgen.generate()


def test_help_lists_values_from_the_registries():
    runner = CliRunner()
    # click wraps help text (at hyphens too); join the wrapped lines back
    run_help = " ".join(runner.invoke(cli, ["run", "--help"], terminal_width=200).output.split()).replace("- ", "-")
    for d in domains.names():
        for profile in domains.get(d).profiles:
            assert f"{d}: " in run_help and profile in run_help
    sweep_help = " ".join(runner.invoke(cli, ["sweep", "--help"], terminal_width=200).output.split())
    assert "docs/commands.md" not in sweep_help
    from levinsearch import sweeps
    for d in domains.names():
        for metric in sweeps.metrics_of(domains.get(d)):
            assert metric in sweep_help, metric
        for key in sweeps.short_keys(domains.get(d)):
            assert key in sweep_help, key


# ------------------------------------------------------------------ shell completion
def names(items) -> list[str]:
    return [item.value for item in items]


def test_experiment_completion(tmp_path, monkeypatch):
    assert names(clihelp.complete_experiment(None, None, "tm-")) == \
        [n for n in experiments.bundled() if n.startswith("tm-")] == \
        ["tm-alternating", "tm-defectors", "tm-occam", "tm-time-penalty"]
    (tmp_path / "mine.toml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert names(clihelp.complete_experiment(None, None, "m")) == ["mine.toml"]
    assert names(clihelp.complete_experiment(None, None, "")) == [*experiments.bundled(), "mine.toml", "sub/"]
    assert names(clihelp.complete_experiment(None, None, f"{tmp_path}/s")) == [f"{tmp_path}/sub/"]


def make_runs(root: Path) -> None:
    for name in ("20261201-024619-red-door", "20261201-024731-occam"):
        (root / name).mkdir(parents=True)
        (root / name / "manifest.json").write_text("{}")
    (root / "bench-1").mkdir()  # no manifest: not a run


def complete(args: str, env: dict[str, str]) -> list[str]:
    """What bash completion offers for `levinsearch ARGS` (click's own machinery)."""
    words = ["levinsearch", *args.split(" ")]
    full = dict(os.environ, _LEVINSEARCH_COMPLETE="bash_complete", COMP_WORDS=" ".join(words),
                COMP_CWORD=str(len(words) - 1), PYTHONPATH=str(ROOT), **env)
    out = subprocess.run([sys.executable, "-c", "from levinsearch.cli import main; main()"], env=full,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [line.split(",", 1)[1] for line in out.stdout.splitlines()]


def test_run_and_experiment_names_complete_through_click(tmp_path):
    make_runs(tmp_path / "runs")
    env = dict(LEVINSEARCH_RUNS_DIR=str(tmp_path / "runs"))
    assert complete("report ", env) == ["latest", "20261201-024619-red-door", "20261201-024731-occam"]
    assert complete("report 2026", env) == ["20261201-024619-red-door", "20261201-024731-occam"]
    other = tmp_path / "other"
    make_runs(other)
    (other / "20261202-000000-seq").mkdir()
    (other / "20261202-000000-seq" / "manifest.json").write_text("{}")
    assert complete(f"run --runs-dir {other} --resume 20261202", env) == ["20261202-000000-seq"]
    assert complete("run red-d", env) == ["red-door"]
    assert complete("sweep occ", env) == ["occam"]
    assert complete("show x --experiment consensus", env) == ["consensus", "consensus-grid"]
    assert complete("run --profile h", env) == ["heuristics", "heuristics-cued", "heuristics-defs", "heuristics-predict",
                                               "heuristics-predict-act",
                                               "history"]
    assert complete("sweep occam --metric def", env) == ["defectors"]
