"""The README documents every setting and every command."""

from pathlib import Path

import click

from aloft.cli import main
from aloft.config import env_names

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "aloft") -> list[str]:
    out = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out += _commands(command, path)
        else:
            out.append(path)
    return out


def test_every_setting_is_documented() -> None:
    missing = [name for name in env_names() if f"`{name}`" not in README]
    assert missing == []


def test_every_command_is_documented() -> None:
    commands = _commands(main)
    assert "aloft accounts create" in commands
    missing = [c for c in commands if f"`{c}" not in README]
    assert missing == []


def test_both_quick_start_commands_are_there() -> None:
    assert "make serve" in README and "make test" in README
