"""`playbook claims`: do the theses' numbers reproduce on the data?"""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import DATA_DIR, real_data_dir
from engine.errors import ConfigError


@click.command()
@DATA_DIR
@click.option(
    "--claims-file",
    type=click.Path(path_type=Path),
    default=None,
    help="A YAML file of your own claims, checked after the built-in ones.",
)
def claims(data_dir: Path | None, claims_file: Path | None) -> None:
    """Check the theses' numeric claims on the data and say which reproduce.

    Each claim prints the number measured, the window and method, whether it reproduced and
    which method comes closest. Add claims in a YAML file like engine/reference/claims.yaml.
    """
    from engine.data.sources import DirectorySource
    from engine.research.claims import check_claims, format_claims, load_claims

    if claims_file is not None and not claims_file.is_file():
        raise ConfigError(f"claims file {claims_file} not found", "check the path")
    source = DirectorySource(real_data_dir(data_dir))
    results = check_claims(source, load_claims(extra=claims_file))
    click.echo(format_claims(results))
