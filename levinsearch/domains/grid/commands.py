"""The grid domain's own command: `levinsearch grid-format`."""
from __future__ import annotations

import click

from dsl.grid.world import ASCII_HELP


@click.command(name="grid-format")
def grid_format():
    """Explain the ASCII grid format."""
    click.echo(ASCII_HELP)
