"""The platform team's environments file: where it is found, what it may say, what it means."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_helpers import BASE_YAML, ENVIRONMENTS_YAML, dedent, write_service

from skytrain.config import environments as envs
from skytrain.config.environments import find_environments_file, load_environments
from skytrain.errors import ConfigErrors, UsageError
from tests.support import skytrain


def _file(path: Path, text: str = ENVIRONMENTS_YAML) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """fleet/skytrain-environments.yml above fleet/svc, plus an explicit and an $ENV file."""
    service = write_service(tmp_path / "fleet" / "svc", {"application.yml": BASE_YAML}, environments=None)
    return {
        "service": service,
        "walked": _file(tmp_path / "fleet" / "skytrain-environments.yml"),
        "explicit": _file(tmp_path / "explicit.yml"),
        "from_env": _file(tmp_path / "from-env.yml"),
        "system": _file(tmp_path / "etc" / "environments.yml"),
    }


def test_explicit_flag_wins_over_everything(tree):
    environ = {envs.ENV_VAR: str(tree["from_env"])}
    assert find_environments_file(str(tree["explicit"]), tree["service"], environ) == tree["explicit"]


def test_then_the_environment_variable(tree):
    environ = {envs.ENV_VAR: str(tree["from_env"])}
    assert find_environments_file(None, tree["service"], environ) == tree["from_env"]


def test_then_the_file_in_the_service_directory_or_a_parent(tree):
    assert find_environments_file(None, tree["service"], {}).resolve() == tree["walked"].resolve()
    nearer = _file(tree["service"] / "skytrain-environments.yml")
    assert find_environments_file(None, tree["service"], {}).resolve() == nearer.resolve()


def test_then_the_system_path(tree, monkeypatch):
    tree["walked"].unlink()
    monkeypatch.setattr(envs, "SYSTEM_PATH", tree["system"])
    assert find_environments_file(None, tree["service"], {}) == tree["system"]


def test_no_file_anywhere_says_how_to_give_one(tree, monkeypatch):
    tree["walked"].unlink()
    monkeypatch.setattr(envs, "SYSTEM_PATH", tree["system"].with_name("missing.yml"))
    with pytest.raises(UsageError, match=r"pass --environments FILE, set \$SKYTRAIN_ENVIRONMENTS"):
        find_environments_file(None, tree["service"], {})


def test_an_explicit_file_that_does_not_exist(tree):
    with pytest.raises(UsageError, match="does not exist"):
        find_environments_file(str(tree["service"] / "nope.yml"), tree["service"], {})


def test_the_cli_follows_the_same_order(tree):
    broken = _file(tree["from_env"], "environments: {}\n")
    result = skytrain("validate", tree["service"], SKYTRAIN_ENVIRONMENTS=str(broken))
    assert result.returncode == 2
    assert "from-env.yml:1:15: error: environments: must have at least 1 entry" in result.stderr
    result = skytrain(
        "validate", tree["service"], "--environments", tree["explicit"], SKYTRAIN_ENVIRONMENTS=str(broken)
    )
    assert "from-env.yml" not in result.stderr


def test_what_an_environment_means(tmp_path):
    loaded = load_environments(_file(tmp_path / "e.yml"))
    assert loaded.names() == ["dev", "staging", "production", "legacy", "cloud"]
    assert loaded["dev"].marathon.version == "1.4" and loaded["dev"].marathon.legacy_networking
    assert not loaded["staging"].marathon.legacy_networking  # default 1.7
    assert loaded["staging"].kubernetes.namespace == "web"
    assert loaded["legacy"].kubernetes is None
    assert (
        loaded["cloud"].marathon is None
        and loaded["cloud"].kubernetes.version == envs.DEFAULT_KUBERNETES_VERSION
    )


BROKEN_ENVIRONMENTS = {
    "credentials in the Marathon URL": (
        """
        environments:
          staging:
            marathon:
              url: http://admin:hunter2@marathon:8080
        """,
        "4:12: error: environments.staging.marathon.url: a Marathon URL is http(s)://host[:port][/path] "
        "with no user:password@ in it",
    ),
    "unknown key": (
        """
        environments:
          staging:
            kubernetes:
              contxt: staging
        """,
        "4:7: error: environments.staging.kubernetes.contxt: unknown field 'contxt'; did you mean 'context'?",
    ),
    "version as a number": (
        """
        environments:
          dev:
            marathon: {url: "http://m", version: 1.4}
        """,
        "3:42: error: environments.dev.marathon.version: expected a string, got 1.4",
    ),
    "no environments": ("environments: {}\n", "1:15: error: environments: must have at least 1 entry"),
    "bad environment name": (
        """
        environments:
          Staging: {}
        """,
        "2:3: error: environments.Staging: an environment name is lowercase letters, digits and dashes; got 'Staging'",
    ),
    "bad mesh host": (
        """
        environments:
          dev:
            mesh: {mesosAgents: ["10.0.0.1; evil"]}
        """,
        "3:26: error: environments.dev.mesh.mesosAgents[0]: a host is a DNS name or IPv4 address",
    ),
    "not a mapping": ("- dev\n- staging\n", "1:1: error: (top level): expected a mapping, got a list"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ENVIRONMENTS))
def test_environments_file_schema_errors(tmp_path, case):
    text, expected = BROKEN_ENVIRONMENTS[case]
    path = _file(tmp_path / "envs.yml", dedent(text))
    with pytest.raises(ConfigErrors) as exc:
        load_environments(path)
    shown = [str(e) for e in exc.value.errors]
    assert any(expected in line for line in shown), shown
    assert all(line.startswith(str(path)) for line in shown)
