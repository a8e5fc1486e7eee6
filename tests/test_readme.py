"""The README's examples must keep working: its spec validates and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from restgen.cli import build_parser
from restgen.spec import read_spec

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_spec_example_validates(tmp_path: Path) -> None:
    specs = [block for block in _blocks("yaml") if block.lstrip().startswith("#") or "restgen: 1" in block]
    assert specs, "the README has no example spec"
    for index, text in enumerate(specs):
        path = tmp_path / f"example{index}.yaml"
        path.write_text(text, encoding="utf-8")
        raw = read_spec(path)
        assert raw.warnings == []


def test_readme_commands_exist() -> None:
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    used = set(re.findall(r"^restgen (\w+)", "\n".join(_blocks("sh")), flags=re.MULTILINE))
    used |= set(re.findall(r"`restgen (\w+)", README.read_text(encoding="utf-8")))
    assert used, "the README names no restgen command"
    assert used <= commands, used - commands
