"""The README stays true: its Python snippet runs, its commands parse, its set-up commands are CI's."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from graphrec.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_snippet_runs(capsys: pytest.CaptureFixture) -> None:
    snippet = _blocks("python")[0]
    exec(compile(snippet, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert 0.0 <= float(printed) <= 1.0


def test_every_graphrec_command_parses() -> None:
    parser = build_parser()
    commands = [line.strip() for block in _blocks("bash") for line in block.splitlines()
                if line.strip().startswith("graphrec ")]
    assert len(commands) >= 8
    for command in commands:
        argv = shlex.split(command.split("#")[0])[1:]
        args = parser.parse_args(argv)
        assert callable(args.handler), command


def test_ci_runs_the_readme_test_command() -> None:
    test_command = next(block for block in _blocks("bash") if "pytest" in block).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command.split("&&")[-1].strip() in ci.splitlines()
