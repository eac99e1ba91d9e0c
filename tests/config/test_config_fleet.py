"""The fleet as a whole (`skytrain validate --fleet DIR`, and a `fleet:` in the environments
file for `validate` and the pipeline's validate stage): every dependency names a service of
the fleet, no two services share a name, and dependency cycles are reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from skytrain.config.fleet import DependencyEntry, Member, _cycles_in
from skytrain.errors import Location
from tests.support import EXAMPLES, skytrain

CYCLE = (
    "media → organization → media is a dependency cycle (in dev, production, staging): if each needs the next "
    "to answer before it is healthy, none of them can start first (in a new environment, or on the other "
    "scheduler); make sure one starts without the others"
)


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """A copy of the examples: three services and the platform's environments file."""
    shutil.copytree(EXAMPLES, tmp_path / "fleet")
    return tmp_path / "fleet"


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_example_fleet_validates_and_its_cycle_is_a_warning() -> None:
    done = skytrain("validate", "--fleet", "examples")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "ok  fleet examples: 3 services, every dependency one of them"
    assert done.stderr.splitlines() == [
        f"examples/media/deploy/application.yml:27:5: warning: dependencies[0]: {CYCLE}"
    ]


def test_a_dependency_on_no_service_of_the_fleet_is_an_error_at_its_line(fleet: Path) -> None:
    replace(fleet / "giphy/deploy/application.yml", "  - organization\n", "  - organisation\n")
    (fleet / "giphy/deploy/staging.yml").write_text("dependencies: [media, search]\n")
    done = skytrain("validate", "--fleet", "fleet", cwd=fleet.parent)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert errors == [
        "fleet/giphy/deploy/application.yml:30:5: error: dependencies[0]: organisation is not a service of "
        "the fleet in fleet; did you mean 'organization'?",
        "fleet/giphy/deploy/staging.yml:1:23: error: dependencies[1]: search is not a service of the fleet in "
        "fleet; its services are giphy, media, organization",
    ]
    assert done.stderr.splitlines()[-1] == "2 errors; nothing was sent to any scheduler."


def test_two_services_of_one_name_are_an_error_at_the_second(fleet: Path) -> None:
    shutil.copytree(fleet / "media", fleet / "media-v2")
    done = skytrain("validate", "--fleet", "fleet", cwd=fleet.parent)
    assert done.returncode == 2
    assert (
        "fleet/media-v2/deploy/application.yml:2:7: error: name: media is also the name of fleet/media "
        "(fleet/media/deploy/application.yml:2:7); two services of a fleet cannot share a name"
    ) in done.stderr


def test_a_cycle_in_one_environment_is_reported_once_where_it_starts(fleet: Path) -> None:
    (fleet / "media/deploy/application.yml").write_text(
        (fleet / "media/deploy/application.yml").read_text().replace("  - organization\n", "  - giphy\n")
    )
    (fleet / "media/deploy/staging.yml").write_text("dependencies: []\n")  # no cycle in staging
    done = skytrain("validate", "--fleet", "fleet", cwd=fleet.parent)
    assert done.returncode == 0, done.stderr
    said = "if each needs the next to answer before it is healthy, none of them"
    assert done.stderr.splitlines() == [
        "fleet/giphy/deploy/application.yml:30:5: warning: dependencies[0]: giphy → organization → media → giphy "
        f"is a dependency cycle (in dev, production): {said} can start first (in a new environment, or on the "
        "other scheduler); make sure one starts without the others",  # organization is on a cycle too
        "fleet/giphy/deploy/application.yml:31:5: warning: dependencies[1]: giphy → media → giphy is a "
        "dependency cycle (in dev, production): if each needs the next to answer before it is healthy, none of "
        "them can start first (in a new environment, or on the other scheduler); make sure one starts without "
        "the others",
    ]


def member(name: str, *calls: str) -> Member:
    where = Location("f", 1, 1)
    return Member(Path(name), name, where, {"dev": tuple(DependencyEntry(c, where, "") for c in calls)})


def test_every_service_on_a_cycle_is_on_a_reported_one_starting_at_its_first_name() -> None:
    members = [member("a", "b"), member("b", "c", "a"), member("c", "a"), member("d", "d"), member("e", "a")]
    found = _cycles_in({m.name: m for m in members}, "dev")
    assert sorted(found) == [("a", "b", "a"), ("a", "b", "c", "a"), ("d", "d")]


def configure_fleet(fleet: Path, where: str = ".") -> None:
    environments = fleet / "skytrain-environments.yml"
    environments.write_text(f"fleet: {where}\n" + environments.read_text())


def test_a_fleet_in_the_environments_file_checks_validate_and_the_pipelines_validate_stage(
    fleet: Path,
) -> None:
    configure_fleet(fleet)
    replace(fleet / "giphy/deploy/application.yml", "  - media\n", "  - medai\n")
    said = (
        "giphy/deploy/application.yml:31:5: error: dependencies[1]: medai is not a service of the fleet in "
    )
    for command in (("validate", "giphy"), ("pipeline", "run", "giphy", "--until", "validate")):
        done = skytrain(*command, cwd=fleet)
        assert done.returncode == 2, command
        assert f"{said}{fleet}; did you mean 'media'?" in done.stderr, command

    done = skytrain("validate", "media", cwd=fleet)  # media's own finding only: its cycle
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"media/deploy/application.yml:27:5: warning: dependencies[0]: {CYCLE}"
    ]
    done = skytrain("pipeline", "run", "organization", "--until", "validate", cwd=fleet)
    assert done.returncode == 0, done.stderr
    assert "organization → media → organization is a dependency cycle" in done.stderr


def test_a_service_outside_the_fleet_is_checked_in_place_of_its_copy_there(
    fleet: Path, tmp_path: Path
) -> None:
    """CI builds one service's checkout against the platform's checkout of the fleet, which
    holds an older copy of it: that copy is not a second service of the same name."""
    platform = tmp_path / "platform.yml"
    platform.write_text(f"fleet: {fleet}\n" + (fleet / "skytrain-environments.yml").read_text())
    checkout = tmp_path / "workspace" / "giphy_PR-12"
    shutil.copytree(fleet / "giphy", checkout)
    done = skytrain("validate", checkout, "--environments", platform, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    replace(checkout / "deploy/application.yml", "  - organization\n", "  - billing\n")
    done = skytrain("validate", checkout, "--environments", platform, cwd=tmp_path)
    assert done.returncode == 2
    assert "error: dependencies[0]: billing is not a service of the fleet in" in done.stderr


def test_a_fleet_named_next_to_the_service_stays_inside_its_folder(fleet: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    for service in ("organization", "media"):
        shutil.copytree(fleet / service, elsewhere / service)
    configure_fleet(fleet, str(elsewhere))
    done = skytrain("validate", "organization", cwd=fleet)
    assert done.returncode == 2
    assert (
        f"skytrain-environments.yml:1:8: error: fleet: {elsewhere} lies outside {fleet}; this file was found "
        "next to the service, where a pull request can change it"
    ) in done.stderr
    done = skytrain("validate", "organization", "--environments", "skytrain-environments.yml", cwd=fleet)
    assert done.returncode == 0, done.stderr  # named explicitly: the CI's (trusted) file
