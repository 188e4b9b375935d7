"""Options several commands share are defined once (engine/cli/options.py): one help text and
one default per flag, wherever it appears."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from engine.cli import cli, options


def commands(group: click.Group, path: str = "playbook") -> dict[str, click.Command]:
    """Every command and group under `group`, by its full name."""
    found: dict[str, click.Command] = {path: group}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(commands(command, f"{path} {name}"))
        else:
            found[f"{path} {name}"] = command
    return found


def definitions_by_flag(group: click.Group) -> dict[str, dict[str, list[str]]]:
    """flag -> {its definition (help, default, type, ...) -> the commands that use it}."""
    by_flag: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for where, command in commands(group).items():
        for param in command.params:
            if isinstance(param, click.Option):
                info = repr(sorted(param.to_info_dict().items()))
                for flag in param.opts:
                    by_flag[flag][info].append(where)
    return by_flag


def shared_definitions() -> set[str]:
    """The flags engine.cli.options defines."""

    def probe() -> None: ...

    flags: set[str] = set()
    for option in options.SHARED:
        decorated: Any = option(probe)
        flags.update(opt for param in decorated.__click_params__ for opt in param.opts)
    return flags


def test_options_with_one_name_share_one_definition():
    """`--data-dir` had six definitions across seven commands (six help texts, two defaults)."""
    differing = {
        flag: dict(seen)
        for flag, seen in definitions_by_flag(cli).items()
        if len(seen) > 1 and flag not in options.PER_COMMAND
    }
    assert differing == {}


def test_every_option_used_twice_is_defined_in_options():
    by_flag = definitions_by_flag(cli)
    repeated = {
        flag
        for flag, seen in by_flag.items()
        if sum(len(users) for users in seen.values()) > 1 and flag not in options.PER_COMMAND
    }
    assert repeated, "expected shared options such as --data-dir"
    assert repeated <= shared_definitions()


def test_claims_without_data_dir_reads_the_shared_snapshot(tmp_path: Path, monkeypatch):
    """The shared --data-dir defaults to None; claims and gallery still read ../shared/data."""
    monkeypatch.chdir(tmp_path)  # no ../shared/data beside a pytest temp folder
    assert not (tmp_path / options.REAL_DATA_DIR).exists()
    for args in (["claims"], ["report", "gallery", "--out", str(tmp_path / "docs")]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 3, (args, result.output)
        assert result.output.startswith("error: ") and "shared/data" in result.output, args
        assert len(result.output.strip().splitlines()) == 1
