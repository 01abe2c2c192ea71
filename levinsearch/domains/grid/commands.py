"""The grid domain's own command, `levinsearch grid-format`, and its flags of
`levinsearch show` (`SHOW_OPTIONS`)."""
from __future__ import annotations

import click

from dsl.grid.world import ASCII_HELP


@click.command(name="grid-format")
def grid_format():
    """Explain the ASCII grid format."""
    click.echo(ASCII_HELP)


#: `levinsearch show` flags of the grid: which environment, its horizon, the objectives.
SHOW_OPTIONS = (
    click.Option(["--grid", "grid_file"], type=click.Path(dir_okay=False),
                 help="An ASCII grid file (see `levinsearch grid-format`)."),
    click.Option(["--env", "env_ref"], metavar="SPLIT:INDEX", help="Which environment, e.g. train:0 or blue_doors:3."),
    click.Option(["--horizon"], type=int, help="Episode length (default: the grid's or the split's)."),
    click.Option(["--seed"], type=int, help="Seed of the experiment's generators."),
    click.Option(["--base"], help="Base objective predicate [default: door, or the experiment's]."),
    click.Option(["--proxy"], help="Proxy predicate [default: red, or the experiment's]."),
)
