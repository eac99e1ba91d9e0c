"""The scheduler registry: the one list of schedulers, and what an unknown name does."""

from __future__ import annotations

import json

import pytest

from skytrain.config.model import SCHEDULERS
from skytrain.errors import UsageError
from skytrain.schedulers import NAMES, scheduler
from tests.support import ROOT, skytrain


def test_the_registry_the_config_and_the_schema_name_the_same_schedulers():
    schema = json.loads((ROOT / "schemas" / "application.schema.json").read_text())
    assert NAMES == SCHEDULERS
    assert schema["properties"]["scheduler"]["enum"] == [*NAMES, "both"]
    assert [scheduler(name).name for name in NAMES] == list(NAMES)


def test_an_unknown_scheduler_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(UsageError, match="knows no scheduler called 'nomad'; it knows marathon, kubernetes"):
        scheduler("nomad")


def test_an_unknown_target_on_the_command_line_exits_2():
    done = skytrain("render", ROOT / "examples" / "giphy", "--env", "staging", "--target", "nomad")
    assert done.returncode == 2
    assert "invalid choice: 'nomad'" in done.stderr
