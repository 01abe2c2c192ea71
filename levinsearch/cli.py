"""The `levinsearch` command. Thin: parse flags, call the pipeline, hand records to
`report` or print them as JSON. Bad input ends in one `error: ...` line and exit 2."""
from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from dsl.errors import DslError
from levinsearch import backends, config as config_mod, domains, experiments, pipeline, record as record_mod, report, runs
from levinsearch import clihelp
from levinsearch import figures as figures_mod
from levinsearch import render, terminal
from levinsearch import compare, report_diff, tables as tables_mod
from levinsearch import sweeps as sweep_mod

MAX_LISTED = 1_000_000  # programs `enumerate` lists at most


def _assignments(values: tuple[str, ...], what: str, integer: bool = False) -> dict[str, float]:
    out = {}
    for text in values:
        name, value = config_mod.parse_assignment(text, what)
        try:
            out[name] = int(value) if integer else float(value)
        except ValueError:
            kind = "a whole number" if integer else "a number"
            raise DslError(f"{what} {name}: value must be {kind}, got {value!r}") from None
    return out


def grammar_options(fn):
    """--profile, --ban, --bits and --cost, shared by every command that builds a grammar."""
    fn = click.option("--cost", "cost", multiple=True, metavar="NAME=STEPS",
                      help="Simulated-step cost of a primitive (repeatable).")(fn)
    fn = click.option("--bits", "bits", multiple=True, metavar="NAME=BITS",
                      help="Description bits of a primitive; the rest of its type share what is left (repeatable).")(fn)
    fn = click.option("--ban", "ban", multiple=True, metavar="NAME",
                      help="Remove a primitive from the grammar and renormalise its type (repeatable).")(fn)
    fn = click.option("--profile", "profile", metavar="NAME", shell_complete=clihelp.complete_profile,
                      help="Grammar profile: which productions exist; the domain's first is its default "
                           f"(profiles by domain: {clihelp.profiles_text()}).")(fn)
    return fn


def _grammar_overrides(profile, ban, bits, cost) -> dict[str, Any]:
    return dict(profile=profile, bits=_assignments(bits, "--bits"), ban=list(ban),
                cost=_assignments(cost, "--cost", integer=True))


def _stdout() -> Console:
    """The report console: --width, else $COLUMNS, else the terminal's width, else a wide
    page when piped (`terminal.report_width`)."""
    return terminal.stdout_console()


class _OutputClosed(Exception):
    """Standard output went away (a closed pipe) before everything was printed."""


def _emit_json(record: dict[str, Any]) -> None:
    try:
        sys.stdout.write(record_mod.dumps(record))
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        raise _OutputClosed from None


def _show(renderable) -> None:
    """Print a report on stdout (see `_stdout`; wide tables stacked on a narrow one)."""
    try:
        _stdout().print(render.stackable(renderable))
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        raise _OutputClosed from None


@click.group(context_settings=dict(help_option_names=["-h", "--help"], max_content_width=100))
@click.version_option(package_name="levinsearch")
def cli():
    """Simplicity-prior program search: which short programs fit the training data,
    which of them contain search, and what they do off-distribution.

    Start with `levinsearch run` (the red-door experiment) and read the report.
    """


def tail_options(fn):
    """--tail-samples, --tail-seed and --tail-max-bits: the whole-posterior estimate."""
    fn = click.option("--tail-max-bits", type=float, metavar="BITS",
                      help="Validation: sample only programs of at most BITS bits, so that an exhaustive run to "
                           "BITS gives the true values [default: no bound].")(fn)
    fn = click.option("--tail-seed", type=int, metavar="SEED",
                      help="Random stream of the tail samples [default: 0].")(fn)
    fn = click.option("--tail-samples", type=int, metavar="N",
                      help="Estimate the whole posterior: judge N programs drawn from the prior beyond the "
                           "enumeration, and give every headline over all programs with an interval (95%, or "
                           "--confidence) "
                           "[default: 0, the enumerated programs only].")(fn)
    return fn


def scale_options(fn):
    """Where and how the programs are judged; shared by run and sweep."""
    fn = click.option("--shards", type=int, metavar="N",
                      help="processes and dask backends: cut the program index space into N shards "
                           "[default: 4 per worker; processes: also at most 2²³ programs each].")(fn)
    fn = click.option("--scheduler", metavar="ADDRESS",
                      help="Dask backend: the scheduler's address (default: start a local cluster).")(fn)
    fn = click.option("--backend", type=click.Choice(backends.BACKENDS), default="local", show_default=True,
                      help="local: threads in one process; processes: worker processes on this machine "
                           "(near-linear in the cores, for long runs); dask: shards on a Dask cluster "
                           "(pip install 'levinsearch[dask]').")(fn)
    fn = click.option("--workers", type=int, metavar="N",
                      help="Threads (local; default: every core), worker processes (processes; default: one per "
                           "core) or local-cluster worker processes (dask; default: 2).")(fn)
    return fn


def figure_options(formats: bool = True):
    """--figure-format (unless `formats` is False: show --plot goes by the file's suffix),
    --dpi and --share-axis: how a command's figures are written. The command runs with
    them as the current figure options (`figures.options`), so it passes nothing on."""
    def decorate(fn):
        @functools.wraps(fn)
        def command(*args, figure_formats=(), dpi=None, share_axis="full", **kwargs):
            chosen = figures_mod.Options(formats=tuple(dict.fromkeys(figure_formats)) or figures_mod.DEFAULT_FORMATS,
                                         dpi=figures_mod.PNG_DPI if dpi is None else dpi, share_axis=share_axis)
            with figures_mod.options(chosen):
                return fn(*args, **kwargs)

        command = click.option(
            "--share-axis", type=click.Choice(figures_mod.SHARE_AXES), default="full", show_default=True,
            help="Axes of posterior shares and probabilities, in figures and terminal plots: full: 0 to 100%; "
                 "auto: fit the data (small changes look large).")(command)
        command = click.option(
            "--dpi", type=click.IntRange(figures_mod.MIN_DPI, figures_mod.MAX_DPI), metavar="N",
            help=f"Resolution of PNG figures in dots per inch [default: {figures_mod.PNG_DPI}].")(command)
        if formats:
            command = click.option(
                "--figure-format", "figure_formats", type=click.Choice(figures_mod.FORMATS), multiple=True,
                help="Write figures in this format (repeatable) [default: svg and png].")(command)
        return command
    return decorate


confidence_option = click.option(
    "--confidence", type=float, metavar="C",
    help="Confidence level, in (0, 1), of the intervals over seeds (Student's t) and of the whole-posterior "
         "intervals [default: the experiment's, else 0.95].")


def prior_options(fn):
    """--prior-draws and --prior-concentration (run and sweep)."""
    fn = click.option("--prior-concentration", type=float, metavar="C",
                      help="Dirichlet concentration of the drawn encodings: larger stays closer to the grammar "
                           f"[default: the experiment's, else {config_mod.DEFAULT_PRIOR_CONCENTRATION:g}].")(fn)
    return click.option("--prior-draws", type=int, metavar="K",
                        help="Prior ensemble: report every headline under K encodings drawn around the grammar "
                             "(median, 5-95% range, share of draws each direction holds) [default: the "
                             "experiment's, else 0: none].")(fn)


runs_dir_option = click.option("--runs-dir", type=click.Path(file_okay=False), default=str(runs.DEFAULT_ROOT),
                               show_default=True, envvar="LEVINSEARCH_RUNS_DIR",
                               help="Where runs are saved (env LEVINSEARCH_RUNS_DIR).")


def save_options(fn):
    fn = runs_dir_option(fn)
    fn = click.option("--no-save", is_flag=True, help="Do not write a run directory.")(fn)
    return fn


@cli.command()
@click.argument("experiment", required=False, shell_complete=clihelp.complete_experiment)
@click.option("--max-bits", type=float,
              help=f"Enumerate every program of at most this many bits (0 < B <= {config_mod.MAX_BITS_LIMIT}) "
                   f"{clihelp.search_default('max_bits')}.")
@click.option("--order", type=click.Choice(config_mod.ORDERS),
              help=f"length: exhaustive, ranked by score; levin: Levin search phases {clihelp.search_default('order')}.")
@click.option("--length-weight", type=float,
              help=f"a in score = a·bits + b·time term, 0 to {config_mod.LIMITS['weight']:g} "
                   f"{clihelp.search_default('length_weight')}.")
@click.option("--time-weight", type=float,
              help=f"b in score = a·bits + b·time term, 0 to {config_mod.LIMITS['weight']:g} (0: description length; "
                   f"1 with log: Levin's Kt) {clihelp.search_default('time_weight')}.")
@click.option("--time-penalty", type=click.Choice(config_mod.TIME_PENALTIES),
              help=f"Time term: log2 of simulated steps, or the steps themselves {clihelp.search_default('time_penalty')}.")
@click.option("--fit-threshold", type=float,
              help="Share of training episodes (or terms) a kept program must get right, in (0, 1]: a hard cut "
                   f"{clihelp.search_default('fit_threshold')}.")
@click.option("--noise", type=float,
              help="Noise rate eps of the likelihood: each wrong training episode or term costs log2(1/eps) bits "
                   "[default: 0, exact fit].")
@click.option("--smooth", type=float, metavar="SIGMA",
              help="Grid: smoothed complexity; t(p) is the expected steps over perturbations of each training grid "
                   "(each cell perturbed at rate SIGMA in [0, 1)), and the test splits are perturbed too "
                   "[default: 0, none].")
@click.option("--smooth-samples", type=int, metavar="K",
              help="Grid: perturbations of each grid under --smooth, 1 to 1000 [default: 8].")
@click.option("--time-measure", type=click.Choice(config_mod.TIME_MEASURES),
              help="Grid: t(p) from the steps per training grid: their total, mean or worst (max) "
                   "[default: total].")
@tail_options
@grammar_options
@click.option("--train-envs", type=int, help="Number of training environments.")
@click.option("--test-envs", type=int, help="Number of environments in every test split.")
@click.option("--horizon", type=int, help="Episode length in every split.")
@click.option("--seed", type=int, help="Seed of every environment generator.")
@click.option("--trust", metavar="RULE:V",
              help="Consensus (seq, grid): trust the top:N behaviours, or ratio:ALPHA, those within ALPHA (0, 1] of "
                   "the best's posterior (then the query bound is set in advance); replaces the consensus lists.")
@click.option("--seeds", type=int, metavar="N",
              help="Run on N environment seeds (seed, seed+1, ...) and report every summary figure as a mean "
                   "with an interval (95%, or --confidence) [default: the experiment's seeds, else 1].")
@confidence_option
@prior_options
@click.option("--top", type=int,
              help=f"How many fitting programs, and behaviours, the report lists {clihelp.search_default('top')}.")
@click.option("--keep", type=int,
              help="How many of the best fitting programs the record keeps (its hypotheses list; the summary covers "
                   f"every fitting program) {clihelp.search_default('keep')}.")
@click.option("--batch-size", type=int,
              help="The largest batch of programs judged at once (a stop or checkpoint happens between batches; "
                   f"batches are sized by wall time up to this) {clihelp.search_default('batch_size')}.")
@scale_options
@save_options
@click.option("--resume", metavar="RUN", shell_complete=clihelp.complete_run,
              help="Continue an interrupted saved run with its own settings (a run directory, a name under the "
                   "runs directory, or 'latest'); setting flags are refused with it.")
@figure_options()
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Progress on stderr [default: on, off under --json].")
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON on stdout (nothing else there).")
def run(experiment, as_json, profile, ban, bits, cost, workers, backend, scheduler, shards, no_save, runs_dir, resume,
        show_progress, **flags):
    """Run EXPERIMENT (a bundled name or a .toml path; default red-door) and report.

    Flags override the experiment file; the report says which values came from flags.
    The run is saved under runs/ (see `levinsearch runs`); Ctrl-C stops at the next
    batch and keeps what was finished, and `--resume RUN` goes on from there.
    `--seeds N` (N > 1) prints the multi-seed report, and `--json` then a sweep record
    of one point. Flags of another domain are refused (e.g. --train-envs on a seq
    experiment).

    Examples:

    \b
      levinsearch run red-door --time-weight 1
      levinsearch run --ban plan --fit-threshold 0.7 --top 5
      levinsearch run my_experiment.toml --bits red=4 --json --no-save > run.json
      levinsearch run red-door --seeds 5 --max-bits 16
      levinsearch run red-door --tail-samples 1000000
      levinsearch run occam
      levinsearch run --resume latest
    """
    root = Path(runs_dir)
    backends.validate(backend, workers, scheduler, shards)
    if resume:
        given = [k for k, v in flags.items() if v is not None] + (["experiment"] if experiment else [])
        given += ["ban"] * bool(ban) + ["bits"] * bool(bits) + ["cost"] * bool(cost) + ["profile"] * bool(profile)
        saved, config = runs.open_for_resume(resume, root, command="run", what="run", given=sorted(set(given)),
                                             no_save=no_save,
                                             wrong_command="{path}: only runs can be resumed (this is a {command})")
        domains.get(str(config.get("domain")))
        runs.check_resumed_config(config, saved.path / "manifest.json", domains)
    else:
        overrides = dict(flags, **_grammar_overrides(profile, ban, bits, cost))
        config = experiments.resolve(experiments.load(experiment or experiments.DEFAULT_EXPERIMENT), overrides,
                                     domains=domains)
        saved = None
    if config.get("seeds", 1) > 1:
        if resume:
            raise DslError("--resume continues single-seed runs; a multi-seed run keeps each finished seed in "
                           "its run directory (points/)")
        domain = domains.get(config["domain"])
        saved = None if no_save else runs.create(config, "run", root, extra=dict(seeds=config["seeds"]))
        _run_points(domain, [], [({}, config)], domain.sweep_split([config], None), domain.default_metric, saved,
                    as_json, show_progress, dict(backend=backend, workers=workers, scheduler=scheduler,
                                                 shards=shards))
        return
    prepared = pipeline.prepare(config)
    if saved is None and not no_save:
        saved = runs.create(config, "run", root)
    options = dict(backend=backend, workers=workers, scheduler=scheduler, shards=shards)
    if show_progress is None:
        show_progress = not as_json
    with saved.lock() if saved is not None else contextlib.nullcontext():
        record = _with_progress(show_progress, render.plain_text(config["name"]),
                                lambda progress: runs.execute(prepared, saved, progress=progress,
                                                              resume=bool(resume), **options), prepared)
        _finish(record, report.run_report(record), saved, as_json, record["enumeration"]["interrupted"])


def _finish(record: dict[str, Any], rendered, saved, as_json: bool, interrupted: bool) -> None:
    """Save the record and the rendered report with the run, then print one of them
    (JSON or the report); an interrupted run exits with 130, as after any Ctrl-C."""
    if saved is not None:
        saved.write_record(record, _render_text(rendered))
    if as_json:
        _emit_json(record)
    else:
        _show(rendered)
    if saved is not None:  # the figures, into RUN/figures/ (or why not): one line
        _error(figures_mod.draw_saved(record, saved.path, interrupted, domain=domains.get(record["domain"])))
    if interrupted:
        sys.exit(130)


def _render_text(renderable) -> str:
    console = render.console(width=terminal.PIPED_WIDTH, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _with_progress(enabled: bool, name: str, work, prep):
    """Run work(progress) with a progress display on stderr (or none): a bar on a
    terminal, plain throttled lines otherwise (`terminal.PlainLines`)."""
    err = render.console(stderr=True)
    if not enabled:
        return work(None)
    if not backends.kernels_cached(prep.domain, with_tail=prep.tail is not None):
        err.print(Text("compiling kernels on first use (cached afterwards)…", style="dim"))
    if not err.is_terminal:
        lines = terminal.PlainLines()

        def plain(t) -> None:
            lines(lambda: _progress_line(name, t))

        try:
            return work(plain)
        finally:
            lines.close()
    columns = (TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[fitting]}"), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        overall = bar.add_task(f"{name}: all lengths", total=None, rate="", fitting="")
        level = bar.add_task("", total=None, rate="", fitting="")

        def progress(t) -> None:
            rate = t.done / t.seconds if t.seconds > 0 else 0.0
            bar.update(overall, completed=t.done, total=t.total, rate=f"{rate:,.0f} programs/s",
                       fitting=f"{t.fitting:,} fitting · {t.behaviours:,} behaviours")
            what = "tail samples" if t.phase == "tail" else f"{t.level_bits:g} bits"
            bar.update(level, description=f"{name}: {what}", completed=t.level_done, total=t.level_total)

        return work(progress)


def _progress_line(name: str, t) -> str:
    """One plain progress line (a log's, when stderr is not a terminal)."""
    rate = t.done / t.seconds if t.seconds > 0 else 0.0
    share = f"{100 * t.done / t.total:.1f}%" if t.total else "—"
    what = "tail samples" if t.phase == "tail" else f"{t.level_bits:g} bits"
    return (f"{name}: {t.seconds:8.1f} s  {t.done:,} of {t.total:,} programs ({share}, {rate:,.0f}/s)  "
            f"{what}: {t.level_done:,} of {t.level_total:,}  {t.fitting:,} fitting · {t.behaviours:,} behaviours")


def _sweep_help() -> str:
    # Built from the registries, so that `sweep --help` lists every short name and metric
    # without docs that a wheel does not install.
    intro = f"""Run EXPERIMENT at every combination of the --set values and tabulate the metrics.

    Every point is resolved and validated, and its environments built, before the first
    one runs (at most {sweep_mod.MAX_POINTS:,} points). The report has one row of metrics per
    point, the distances between the points' posteriors, and a plot of --metric against
    the first setting.

    KEY is a dotted path into the experiment file (search.time_weight, train.envs,
    target.train, ...) or a short name of the experiment's domain."""
    values = """Values are TOML values (0.5, "red", ["plan","greedy"]); a bare word of letters,
    digits and _-.+ is a string. Values are separated by commas outside brackets, braces
    and quotes; a value replaces what the file has at that path (lists are not merged)."""
    examples = """Examples:

    \b
      levinsearch sweep double-edged-sword --set time_weight=0,0.5,1,2
      levinsearch sweep red-door --set 'ban=[],["plan"],["plan","greedy"]' --max-bits 16
      levinsearch sweep diversity-fix --set train.variant.share=0,0.1,0.2 --set seed=5,6
      levinsearch sweep occam --set train_terms=3,4,5,6 --json --no-save > sweep.json"""
    return "\n\n".join([inspect.cleandoc(intro), f"Short names: {clihelp.short_keys_text()}.",
                          inspect.cleandoc(values), clihelp.metric_table(), inspect.cleandoc(examples)])


@cli.command(name="sweep", help=_sweep_help())
@click.argument("experiment", shell_complete=clihelp.complete_experiment)
@click.option("--set", "settings", multiple=True, required=True, metavar="KEY=V1,V2,...",
              help="A setting to vary (repeatable: the grid of all combinations, first --set outermost). KEY is a "
                   "path in the experiment file (search.time_weight, train.envs) or a short name (time_weight, "
                   "ban, seed; all listed above).")
@click.option("--metric", metavar="NAME", shell_complete=clihelp.complete_metric,
              help=f"The metric plotted against the first setting; by domain: {clihelp.metric_names_text()}.")
@click.option("--split", "split_name", help="The test split the metrics read [default: the experiment's first].")
@click.option("--max-bits", type=float, help="Override max_bits at every point.")
@click.option("--seeds", type=int, metavar="N",
              help="Run every point on N environment seeds (seed, seed+1, ...); the table shows means and "
                   "intervals (95%, or --confidence) [default: the experiment's seeds, else 1].")
@click.option("--tail-samples", type=int, metavar="N",
              help="Estimate the whole posterior at every point from N samples beyond the enumeration "
                   "(see `run --help`).")
@confidence_option
@prior_options
@figure_options()
@scale_options
@save_options
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Progress on stderr [default: on, off under --json].")
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print the sweep record as JSON on stdout.")
def sweep(experiment, settings, metric, split_name, max_bits, seeds, tail_samples, confidence, prior_draws,
          prior_concentration, workers, backend, scheduler, shards, no_save, runs_dir, show_progress, as_json):
    backends.validate(backend, workers, scheduler, shards)
    raw = experiments.load(experiment)
    domain = experiments.domain_of(raw, domains)
    metric = sweep_mod.chosen_metric(domain, metric)
    parsed = [sweep_mod.parse_setting(text, domain) for text in settings]
    if confidence is not None:
        config_mod.confidence(confidence, "--confidence")
    points = sweep_mod.point_configs(raw, parsed, dict(max_bits=max_bits, seeds=seeds, tail_samples=tail_samples,
                                                       confidence=confidence, prior_draws=prior_draws,
                                                       prior_concentration=prior_concentration), domains=domains)
    split = domain.sweep_split([config for _, config in points], split_name)
    saved = None if no_save else runs.create(points[0][1], "sweep", Path(runs_dir),
                                             extra=dict(settings=[dict(key=k, values=v) for k, v in parsed]))
    _run_points(domain, parsed, points, split, metric, saved, as_json, show_progress,
                dict(backend=backend, workers=workers, scheduler=scheduler, shards=shards))


def _run_points(domain, parsed, points, split, metric, saved, as_json, show_progress, options) -> None:
    """Run every point of a sweep (each with its seeds), save each record as it comes,
    and finish with the sweep record (a multi-seed run is a sweep of one point)."""
    seed_configs = [experiments.seed_configs(config) for _, config in points]
    # Every point and seed is prepared first: bad settings fail before any run starts.
    prepared = [[pipeline.prepare(c) for c in configs] for configs in seed_configs]
    if show_progress is None:
        show_progress = not as_json
    done: list[tuple[dict, list[dict]]] = []
    total = sum(len(p) for p in prepared)
    with saved.lock() if saved is not None else contextlib.nullcontext():
        try:
            stop = False
            for k, (setting, _), preps in zip(range(1, len(points) + 1), points, prepared):
                label = ", ".join(f"{key.split('.')[-1]}={value}" for key, value in setting.items())
                records = []
                for prep in preps:
                    seed = f"seed {prep.config['seed']}" if len(preps) > 1 else ""
                    name = f"[{k}/{len(points)}] {label}" if setting else prep.config["name"]
                    record = _with_progress(show_progress, render.plain_text(" ".join(x for x in (name, seed) if x)),
                                            lambda progress: runs.execute(prep, None, progress=progress, **options),
                                            prep)
                    records.append(record)
                    if saved is not None:
                        saved.write_point(k, record, prep.config["seed"] if len(preps) > 1 else None)
                    if record["enumeration"]["interrupted"]:
                        stop = True
                        break
                done.append((setting, records))
                if stop:
                    break
        except KeyboardInterrupt:
            if saved is not None:
                saved.mark("interrupted", f"stopped at once during point {len(done) + 1} of {len(points)}; "
                                          f"points 1..{len(done)} are saved", total=len(points), position=len(done))
            raise
        except DslError as exc:
            if saved is not None:
                saved.mark("failed", str(exc), total=len(points), position=len(done))
            raise
        finished = sum(len(records) for _, records in done)
        interrupted = finished < total or done[-1][1][-1]["enumeration"]["interrupted"]
        record = sweep_mod.sweep_record(points[0][1]["name"], domain, parsed, done, split, metric, interrupted)
        if saved is not None:
            record["run"] = str(saved.path)
            saved.update_manifest(status="interrupted" if interrupted else "complete", total=len(points),
                                  position=len(done),
                                  reason=f"stopped after {finished} of {total} runs" if interrupted else None)
        _finish(record, report.sweep_report(record), saved, as_json, interrupted)


@cli.command(name="report")
@click.argument("run_ref", metavar="[RUN]", default="latest", shell_complete=clihelp.complete_run)
@runs_dir_option
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print the saved record as JSON on stdout.")
@click.option("--figures", "draw_figures", is_flag=True,
              help="Redraw the run's figures (SVG and PNG, or --figure-format) into RUN/figures/ from its saved "
                   "record (pip install 'levinsearch[plots]').")
@figure_options()
def report_command(run_ref, runs_dir, as_json, draw_figures):
    """Show a saved RUN's report again, without recomputing (default: the latest run).

    RUN is a run directory, the name of one under the runs directory, a string that
    matches exactly one name there (such as its timestamp), or `latest`. A stopped
    run whose record was deferred gets it built from its checkpoint first.

    Examples:

    \b
      levinsearch report
      levinsearch report 20261123-200527 --json > run.json
    """
    saved = runs.open_run(run_ref, Path(runs_dir))
    if not (saved.path / "record.json").exists() and saved.manifest().get("record") == "deferred":
        _error(f"building the record of {saved.path} from its checkpoint…")
        runs.build_deferred_record(saved, domains)
    record = saved.record(domains)
    with _damaged_record(saved.path / "record.json"):
        rendered = report.sweep_report(record) if record.get("schema") == sweep_mod.SCHEMA else \
            report.run_report(record)
        if as_json or draw_figures:
            # The record is printed, or drawn, only if its report can be built: a field the
            # schema leaves open, edited by hand, is refused here as in the text report
            # (which _show renders anyway).
            render.console(file=io.StringIO(), width=120).print(rendered)
        if draw_figures:
            paths = figures_mod.write_run_figures(record, saved.path, domain=domains.get(record["domain"]))
            _error(figures_mod.written_line(paths, saved.path / figures_mod.FIGURES_DIR))
        if as_json:
            _emit_json(record)
            return
        _show(rendered)


@contextlib.contextmanager
def _damaged_record(path: Path):
    """A record that passed its checks but still breaks the report (a field the schema
    leaves open, changed by hand) is reported as damaged, in one line."""
    try:
        yield
    except DslError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        raise DslError(f"{path}: damaged record ({type(exc).__name__}: {str(exc)[:120]})") from None


def _saved_record(run_ref: str, runs_dir: str):
    """A saved run (as `report` finds it: a directory, a name under --runs-dir, or
    'latest') and its checked record, built first from its checkpoint if deferred."""
    saved = runs.open_run(run_ref, Path(runs_dir))
    if not (saved.path / "record.json").exists() and saved.manifest().get("record") == "deferred":
        _error(f"building the record of {saved.path} from its checkpoint…")
        runs.build_deferred_record(saved, domains)
    return saved, saved.record(domains)


def _emit_text(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        raise _OutputClosed from None


@cli.command(name="export")
@click.argument("run_ref", metavar="[RUN]", default="latest", shell_complete=clihelp.complete_run)
@click.option("--format", "fmt", type=click.Choice(tables_mod.FORMATS), default="csv", show_default=True,
              help="csv (no extra needed), parquet (pip install 'levinsearch[table]') or json (a list of rows).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write the files into DIR [default: RUN/export/].")
@runs_dir_option
def export_command(run_ref, fmt, out_dir, runs_dir):
    """Write every table of a saved RUN (a run or a sweep; default: the latest) into
    files, one per table (behaviours.csv, hypotheses.csv, ...; see docs/export.md)."""
    saved, record = _saved_record(run_ref, runs_dir)
    directory = Path(out_dir) if out_dir else saved.path / "export"
    with _damaged_record(saved.path / "record.json"):
        written = tables_mod.write_tables(record, directory, fmt)
    _emit_text("".join(f"{render.plain_text(str(path))}\t{rows:,} row{'' if rows == 1 else 's'}\n"
                       for path, rows in written))


@cli.command(name="diff")
@click.argument("run_a", metavar="RUN_A", shell_complete=clihelp.complete_run)
@click.argument("run_b", metavar="RUN_B", shell_complete=clihelp.complete_run)
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the behaviours whose posterior changed to list (largest change first).")
@runs_dir_option
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON on stdout.")
def diff_command(run_a, run_b, top, runs_dir, as_json):
    """Compare two saved runs (or two sweeps): the settings that differ, every headline
    figure of both with its change (B - A), and the behaviours that gained or lost
    posterior. RUN_A and RUN_B as for `report` (a directory, a name, or 'latest')."""
    saved_a, a = _saved_record(run_a, runs_dir)
    saved_b, b = _saved_record(run_b, runs_dir)
    configs = tuple(s.manifest().get("config") for s in (saved_a, saved_b))
    with _damaged_record(Path(f"{saved_a.path / 'record.json'} or {saved_b.path / 'record.json'}")):
        result = compare.diff(a, b, top=top, configs=configs, domains=domains)
        rendered = None if as_json else report_diff.diff_report(result)
    if as_json:
        _emit_json(result)
    else:
        _show(rendered)


@cli.command(name="runs")
@runs_dir_option
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON on stdout.")
def list_runs(runs_dir, as_json):
    """List saved runs, oldest first: name, command, experiment, time, status
    (running, interrupted, complete, failed or corrupt), progress and why it stopped."""
    rows = runs.list_runs(Path(runs_dir))
    if as_json:
        _emit_json(dict(schema="levinsearch.runs/1", runs=rows))
    else:
        _show(report.runs_table(rows, runs_dir))


@cli.command()
@click.argument("domain", type=click.Choice(domains.names()), metavar="DOMAIN")
@click.option("--max-bits", type=float, required=True, help="Longest programs to list, in bits.")
@click.option("--limit", type=int, default=1000, show_default=True, help="List at most this many programs.")
@click.option("--counts", is_flag=True, help="Show the number of programs and their Kraft mass per length instead.")
@grammar_options
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def enumerate(domain, max_bits, limit, counts, profile, ban, bits, cost, as_json):
    """List DOMAIN's programs in order of description length (ties: docs/grid.md, "Enumeration order").

    Examples:

    \b
      levinsearch enumerate grid --max-bits 14 --counts
      levinsearch enumerate seq --max-bits 12 --limit 22
    """
    if not 0 < max_bits <= config_mod.MAX_BITS_LIMIT:
        raise DslError(f"--max-bits must be in (0, {config_mod.MAX_BITS_LIMIT}], got {max_bits:g}")
    if not 0 <= limit <= MAX_LISTED:
        raise DslError(f"--limit must be between 0 and {MAX_LISTED:,}, got {limit}")
    grammar = domains.get(domain).grammar(**_grammar_overrides(profile, ban, bits, cost))
    record = record_mod.enumeration_record(grammar, max_bits, domain=domain, limit=limit, counts=counts)
    if as_json:
        _emit_json(record)
    else:
        _show(report.enumeration_table(record))


@cli.command()
@click.argument("domain", type=click.Choice(domains.names()), metavar="DOMAIN")
@grammar_options
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def dsl(domain, profile, ban, bits, cost, as_json):
    """Show DOMAIN's grammar: types, productions, bits and step costs.

    Examples:

    \b
      levinsearch dsl grid
      levinsearch dsl grid --ban plan --bits red=2
      levinsearch dsl seq --ban bit0
    """
    record = record_mod.grammar_record(domains.get(domain).grammar(**_grammar_overrides(profile, ban, bits, cost)), domain)
    if as_json:
        _emit_json(record)
    else:
        _show(report.grammar_table(record))


@cli.command()
@click.argument("program")
@click.option("--experiment", shell_complete=clihelp.complete_experiment,
              help="Take the environment from this experiment's splits (a bundled name or a .toml path).")
@grammar_options
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="OUT.svg|OUT.png|OUT.pdf",
              help="Also draw the figure (a grid: the trajectory) into this file (pip install 'levinsearch[plots]').")
@terminal.width_option
@figure_options(formats=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def show(program, experiment, profile, ban, bits, cost, plot_path, as_json, **flags):
    """Run PROGRAM on one environment: bits, simulated steps, outcome and trajectory.

    Give --grid FILE, or --experiment NAME with --env SPLIT:INDEX. For a seq
    experiment (--experiment NAME alone): PROGRAM's prediction of every target term,
    right or wrong, and its simulated steps.

    Examples:

    \b
      levinsearch show "(plan red)" --experiment red-door --env blue_doors:0
      levinsearch show "(add (mul t x1) (const one))" --experiment occam
    """
    grammar = _grammar_overrides(profile, ban, bits, cost)
    raw = experiments.load(experiment) if experiment else None
    domain = experiments.domain_of(raw, domains) if raw is not None else domains.get(domains.DEFAULT)
    # The flags come from every domain (Domain.show_options); another domain's is refused.
    own = {option.name for option in domain.show_options}
    foreign = [option for option in _SHOW_OPTIONS if option.name not in own and flags.get(option.name) is not None]
    if foreign:
        raise DslError(domain.foreign_show_flag(foreign[0].opts[0]))
    options = dict({name: flags[name] for name in own}, **grammar)
    config = None if raw is None else experiments.resolve(raw, dict(domain.show_overrides(options), **grammar),
                                                                    domains=domains)
    record = domain.show(program, config, options)
    if plot_path:
        _error(f"figure: {figures_mod.save_single(record, Path(plot_path), domain)}")
    if as_json:
        _emit_json(record)
    else:
        _show(domain.show_report(render.printable(record)))


@cli.command(name="experiments")
@terminal.width_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def list_experiments(as_json):
    """List the bundled experiments (and those of installed plug-in domains)."""
    for line in domains.problems():  # plug-ins left out, one line each
        _error(line)
    rows = []
    for name, path in experiments.bundled().items():
        raw = experiments.load(str(path))
        rows.append(dict(name=name, path=str(path), question=experiments.question(str(path)),
                         description=raw.get("experiment", {}).get("description", "")))
    if as_json:
        _emit_json(dict(schema="levinsearch.experiments/1", experiments=rows))
        return
    from rich.table import Table
    t = Table("experiment", "question", "description", title="bundled experiments", title_justify="left")
    for row in rows:
        t.add_row(row["name"], row["question"], row["description"])
    _show(t)


def _add_domain_commands() -> None:
    """Each registered domain's own commands (Domain.commands), e.g. `levinsearch tm ...`.
    A plug-in domain's that fail or clash are left out with one line: they never stop the CLI."""
    for name in domains.names():
        builtin = name in domains.builtin_names()
        try:
            commands = domains.get(name).commands()
        except Exception as exc:
            if builtin:
                raise
            _error(f"plug-in domain {name!r}: its commands are left out ({type(exc).__name__}: {exc})")
            continue
        for command in commands:
            if command.name in cli.commands:
                if builtin:
                    raise RuntimeError(f"domain {name!r} adds a command {command.name!r} that exists already")
                _error(f"plug-in domain {name!r}: its command {command.name!r} exists already; left out")
                continue
            cli.add_command(command)


#: The `show` flags the domains declare (Domain.show_options), each once.
_SHOW_OPTIONS: list[click.Option] = []


def _add_show_options() -> None:
    """Each registered domain's `show` flags, after --experiment (a flag two domains
    declare must be declared alike, and is read by both; a plug-in's that clashes is
    left out with one line)."""
    for name in domains.names():
        for option in domains.get(name).show_options:
            same = [o for o in _SHOW_OPTIONS if o.name == option.name or set(o.opts) & set(option.opts)]
            if same:
                if same[0].name != option.name or same[0].opts != option.opts:
                    if name in domains.builtin_names():
                        raise RuntimeError(f"domain {name!r} declares show flag {option.opts[0]} unlike another "
                                           "domain")
                    _error(f"plug-in domain {name!r}: its show flag {option.opts[0]} clashes with another "
                           "domain's; left out")
                continue
            _SHOW_OPTIONS.append(option)
    at = [p.name for p in show.params].index("experiment") + 1
    show.params[at:at] = _SHOW_OPTIONS


def _error(text: str) -> None:
    """One line on stderr, whatever the terminal's encoding can show (user text in it
    without control characters or escape sequences)."""
    line = render.plain_text(text.replace("\n", " "))
    try:
        click.echo(line, err=True)
    except (UnicodeEncodeError, OSError, ValueError):
        sys.stderr.buffer.write(line.encode("utf-8", "backslashreplace") + b"\n")


_add_domain_commands()  # after _error, which they use
_add_show_options()


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


def _quiet_stdout() -> None:
    """Send further output to /dev/null (stdout was closed, or the reader went away)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        sys.stdout = open(os.devnull, "w")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI and turns bad input into one error line (exit 2),
    other failures into one line (exit 1), and Ctrl-C into exit 130; never a traceback
    (set LEVINSEARCH_DEBUG=1 to see one)."""
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", None)
    # SIGTERM outside a search (which handles it like Ctrl-C) stops like Ctrl-C: exit 130.
    signal.signal(signal.SIGTERM, _terminate)
    if sys.stdout is None:  # started with stdout closed: the run is still saved
        sys.stdout = open(os.devnull, "w")
        _error("note: standard output is closed; nothing will be printed there")
    # Records made by this command carry it, as typed (their provenance).
    typed = record_mod.COMMAND.set(shlex.join(["levinsearch", *(sys.argv[1:] if argv is None else argv)]))
    try:
        cli.main(args=argv, prog_name="levinsearch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except DslError as exc:
        _error(f"error: {exc}")
        sys.exit(2)
    except click.UsageError as exc:
        if no_args is not None and isinstance(exc, no_args):
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(0)
        _error(f"error: {exc.format_message()}")
        sys.exit(2)
    except click.ClickException as exc:
        _error(f"error: {exc.format_message()}")
        sys.exit(exc.exit_code or 1)
    except runs.RecordDeferred as exc:
        _error(f"interrupted: {exc}")
        sys.exit(130)
    except (KeyboardInterrupt, click.Abort):
        _error("interrupted")
        sys.exit(130)
    except (_OutputClosed, BrokenPipeError):
        _quiet_stdout()
        _error("note: standard output was closed before everything was printed (a saved run is complete)")
        sys.exit(0)
    except MemoryError:
        _error("error: out of memory (lower --max-bits, --keep or the number of environments)")
        sys.exit(1)
    except OSError as exc:
        _error(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        sys.exit(1)
    except Exception as exc:  # a bug: one line, and the traceback on request
        if os.environ.get("LEVINSEARCH_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (please report it; LEVINSEARCH_DEBUG=1 shows "
               "the traceback)")
        sys.exit(1)
    finally:
        record_mod.COMMAND.reset(typed)
