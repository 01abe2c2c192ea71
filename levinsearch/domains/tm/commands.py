"""The tm domain's own commands: `levinsearch tm busy-beaver`, `levinsearch tm ctm` and
`levinsearch tm show`. Thin: parse flags, call `census_run` or `show`, print."""
from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from dsl.errors import DslError
from levinsearch import render, runs, terminal
from levinsearch.backends import BACKENDS
from levinsearch.clihelp import complete_run
from levinsearch.domains.tm.config import LIMITS, bit_string
from levinsearch.record import dumps


def _stdout() -> Console:
    return terminal.stdout_console()


def _render_text(renderable) -> str:
    console = render.console(width=terminal.PIPED_WIDTH, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _emit(record, renderable, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(dumps(record))
        sys.stdout.flush()
    else:
        _stdout().print(render.stackable(renderable))
        sys.stdout.flush()


@click.group(name="tm")
def tm_group():
    """Turing machines (Busy Beaver formalism): exhaustive censuses and single machines.

    `levinsearch run tm-occam` and the other tm-* experiments search machines that
    output a training prefix; these commands look at all machines of n states.
    """


def census_options(fn):
    fn = terminal.width_option(fn)
    fn = click.option("--json", "as_json", is_flag=True, help="Print the census record as JSON on stdout.")(fn)
    fn = click.option("--progress/--no-progress", "show_progress", default=None,
                      help="Progress on stderr [default: on, off under --json].")(fn)
    fn = click.option("--resume", metavar="RUN", shell_complete=complete_run, help="Continue an interrupted saved census (a run directory, "
                                                      "a name under --runs-dir, or 'latest').")(fn)
    fn = click.option("--runs-dir", type=click.Path(file_okay=False), default=str(runs.DEFAULT_ROOT),
                      show_default=True, envvar="LEVINSEARCH_RUNS_DIR", help="Where runs are saved.")(fn)
    fn = click.option("--no-save", is_flag=True, help="Do not write a run directory.")(fn)
    fn = click.option("--shards", type=int, metavar="N", help="processes, dask: cut the work into N shards "
                                                                "[default: 4 per worker, at most 2^25 units each].")(fn)
    fn = click.option("--scheduler", metavar="ADDRESS", help="Dask: a running scheduler (default: a local cluster).")(fn)
    fn = click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True,
                      help="local: threads in one process; processes: worker processes on this machine; "
                           "dask: shards on a Dask cluster.")(fn)
    fn = click.option("--workers", type=int, metavar="N",
                      help="Threads (local; default: every core) or worker processes (processes: default one per "
                           "core; dask: default 2).")(fn)
    fn = click.option("--brute", is_flag=True, help="Run every machine instead of the symmetry-reduced census "
                                                    "(the same result, about 9 times the work at n = 4).")(fn)
    fn = click.option("--cap", type=int, metavar="C", help="Step cap [default: S(N), the known Busy Beaver value; "
                                                           "required for N > 4].")(fn)
    fn = click.option("--states", "n", type=int, metavar="N", help="Number of states (1 .. 6; N <= 4 in minutes).")(fn)
    return fn


def _census(command: str, n, cap, brute, workers, backend, scheduler, shards, no_save, runs_dir, resume,
            show_progress, as_json, top=None, prefix=None, deploy=8):
    from levinsearch.domains.tm.census_run import census_config, execute
    from levinsearch.domains.tm.report import census_report

    root = Path(runs_dir)
    if resume:
        given = [name for name, v in (("--states", n), ("--cap", cap)) if v is not None] + (["--brute"] if brute else [])
        saved, config = runs.open_for_resume(resume, root, command=f"tm {command}", what="census", given=given,
                                             no_save=no_save,
                                             wrong_command=f"{{path}}: not a tm {command} run (it is a {{command}})")
        # The manifest's config must be one this command makes (edited by hand, even with
        # its digest recomputed, it is not resumed).
        # (A default cap, S(n), and the same cap given by --cap differ only in cap_source.)
        makes = []
        for cap_flag in (None, config.get("step_cap")):
            try:
                makes.append(census_config(command, config["states"], cap_flag, config["method"] == "reduced"))
            except (KeyError, TypeError, DslError):
                pass
        if config not in makes:
            raise DslError(f"{saved.path / 'manifest.json'}: its config is not one `levinsearch tm {command}` "
                           "makes (edited?); it cannot be resumed")
    else:
        if n is None:
            raise DslError("give --states N (or --resume RUN)")
        config = census_config(command, n, cap, not brute)
        saved = None
    if show_progress is None:
        show_progress = not as_json
    from levinsearch.backends import validate
    validate(backend, workers, scheduler, shards)
    if saved is None and not no_save:
        saved = runs.create(config, f"tm {command}", root)
    with saved.lock() if saved is not None else contextlib.nullcontext():
        with _progress(show_progress, config) as progress:
            record = execute(config, saved, resume=bool(resume), backend=backend, workers=workers,
                                        scheduler=scheduler, shards=shards, progress=progress, top=top,
                                        prefix=prefix, deploy=deploy)
        rendered = census_report(render.printable(record))
        if saved is not None:
            saved.write_record(record, _render_text(rendered))
        _emit(record, rendered, as_json)
    if not record["complete"]:
        sys.exit(130)


@contextlib.contextmanager
def _progress(enabled: bool, config):
    if not enabled:
        yield None
        return
    from dsl.tm.census import total

    err = render.console(stderr=True)
    machines = total(config["states"])
    if not err.is_terminal:
        # A log rather than a terminal: plain throttled lines (the run command's too).
        lines = terminal.PlainLines()

        def plain(census, position, space, seconds):
            rate = census.machines / seconds if seconds > 0 else 0.0
            lines(lambda: f"{config['name']}: {seconds:8.1f} s  {census.machines:,} of {machines:,} machines "
                          f"({100 * census.machines / machines:.1f}%, {rate:,.0f}/s)  S >= {census.max_steps}  "
                          f"Sigma >= {census.max_ones}  outputs {len(census.outputs):,}")

        try:
            yield plain
        finally:
            lines.close()
        return
    columns = (TextColumn("{task.description}", style="bold", markup=False), BarColumn(), TextColumn("{task.fields[done]}"),
               TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[found]}"), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"{config['name']}", total=machines, done="", rate="", found="")

        def progress(census, position, space, seconds):
            rate = census.machines / seconds if seconds > 0 else 0.0
            bar.update(task, completed=census.machines, done=f"{census.machines:,}/{machines:,} machines",
                       rate=f"{rate:,.0f}/s", found=f"S ≥ {census.max_steps} Σ ≥ {census.max_ones} "
                                                    f"· {len(census.outputs):,} outputs")

        yield progress


@tm_group.command(name="busy-beaver")
@census_options
def busy_beaver(n, cap, brute, workers, backend, scheduler, shards, no_save, runs_dir, resume, show_progress,
                as_json):
    """Every N-state machine run from the blank tape for at most C steps: S(N) (most
    steps), Σ(N) (most ones) among the halting ones, and the champion machines.

    Running machines to a cap proves lower bounds only; with the default cap, the known
    S(N), the result is exact (the report says what the cap proves). N <= 3 takes under
    a second, N = 4 about two minutes on two cores. Ctrl-C stops at the next batch and
    keeps what was done; --resume RUN goes on from there.
    """
    _census("busy-beaver", n, cap, brute, workers, backend, scheduler, shards, no_save, runs_dir, resume,
            show_progress, as_json)


@tm_group.command(name="ctm")
@census_options
@click.option("--top", type=int, metavar="K", help="Show only the K most frequent outputs (the record keeps all).")
@click.option("--prefix", metavar="BITS", help="Also tabulate how the outputs that start with BITS continue "
                                               "(allowed with --resume: the census is not recomputed).")
@click.option("--deploy", type=int, metavar="K", help="With --prefix: how many symbols after it [default: 8].")
def ctm(n, cap, brute, workers, backend, scheduler, shards, no_save, runs_dir, resume, show_progress, as_json, top,
        prefix, deploy):
    """The output distribution D(N) of all halting N-state machines (coding theorem
    method): every output string with its count, D and K = −log2 D, completed by
    complementation as in the published tables and OEIS A141474; and the classes of
    every machine (halted / did not halt within the cap, with cap S(N): never halts).
    """
    if top is not None and top < 1:
        raise DslError(f"--top must be at least 1, got {top}")
    if prefix is not None:
        bit_string(prefix, "--prefix")
        if len(prefix) > LIMITS["prefix"]:
            raise DslError(f"--prefix must be at most {LIMITS['prefix']:,} bits")
    if deploy is not None and prefix is None:
        raise DslError("--deploy counts the symbols after --prefix: give --prefix too")
    deploy = 8 if deploy is None else deploy
    if not 1 <= deploy <= LIMITS["deploy"]:
        raise DslError(f"--deploy must be between 1 and {LIMITS['deploy']:,}, got {deploy}")
    _census("ctm", n, cap, brute, workers, backend, scheduler, shards, no_save, runs_dir, resume, show_progress,
            as_json, top, prefix, deploy)


@tm_group.command(name="show")
@terminal.width_option
@click.argument("machine")
@click.option("--cap", type=int, metavar="C", help="Step cap [default: S(n) for the machine's n states, or the "
                                                   "experiment's].")
@click.option("--experiment", help="Show the machine against this tm experiment's prefix and continuation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def show(machine, cap, experiment, as_json):
    """Run MACHINE, e.g. "(tm2 1RB 1LB 1LA 1H)", from the blank tape: its table, bits,
    steps, whether it halted, its output (the visited tape segment) and the tape trace."""
    from levinsearch import domains, experiments

    domain = domains.get("tm")
    config = None
    if experiment:
        raw = experiments.load(experiment)
        if experiments.domain_of(raw, domains) is not domain:
            raise DslError(f"{experiment} is not a tm experiment")
        config = experiments.resolve(raw, domains=domains)
    record = domain.show(machine, config, dict(cap=cap))
    _emit(record, domain.show_report(render.printable(record)), as_json)
