"""Options declared once: `register` and `batch` offer the same ones."""

import re

from typer.testing import CliRunner

from sarlign.pipeline.cli import app
from sarlign.pipeline.options import OPTIONS, RegisterOptions, defaults, register_options


def _flags(command: str) -> set[str]:
    shown = CliRunner().invoke(app, [command, "--help"], terminal_width=200, env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", shown.output)) - {"--help"}


def test_batch_offers_every_register_option_but_its_output_and_json():
    register, batch = _flags("register"), _flags("batch")
    assert register - {"--output", "--json", "--no-verify"} <= batch
    assert {option.flag for option in OPTIONS} <= register & batch


def test_the_declared_defaults_are_register_options_defaults():
    assert register_options(defaults()) == RegisterOptions()
    assert register_options({"max_scale_change": 3, "search_budget": 0}).gates.max_scale_change == 0.03
