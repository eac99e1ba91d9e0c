"""No input ends in a traceback: arbitrary bytes and arbitrary YAML documents, written as a
service's files, go through the loader, the merge, templating, the schema checks and the
renderers (`skytrain validate`, in this process) and end in exit 0 or 2, each within a
time bound. Property-based (hypothesis), derandomized so that CI runs the same examples
every time and a failure reproduces."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skytrain.cli import main
from skytrain.config import schemas
from skytrain.config.yamlfile import parse_yaml
from skytrain.errors import ConfigErrors
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES

BOUNDED = settings(
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=5),  # each example; a traceback-free hang is a failure too
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FIELDS = sorted(schemas.load_schema(schemas.APPLICATION)["properties"])
NESTED = [
    "cpu",
    "memory",
    "path",
    "secret",
    "key",
    "name",
    "email",
    "namespace",
    "mesh",
    "stages",
    "Deployment",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "{{ BUILD_TAG }}",
            "{{ NOPE | default('x') }}",
            "{% if true %}x{% endif %}",
            "{{ unclosed",
            "}}{{",
            "giphy\n",
            "500m",
            "256Mi",
            "/status",
            "marathon",
            "kubernetes",
            "both",
            "http://user:pass@example.com",
        ]
    ),
)
KEYS = st.one_of(st.sampled_from(FIELDS + NESTED), st.text(max_size=8))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=16,
)


@pytest.fixture(scope="module")
def service() -> Iterator[Path]:
    """A copy of the giphy example, rewritten by every example (hypothesis runs many examples
    per test, so a fixture per test would be shared anyway)."""
    with tempfile.TemporaryDirectory(prefix="skytrain-no-traceback-") as folder:
        copy = Path(folder) / "giphy"
        shutil.copytree(EXAMPLES / "giphy", copy)
        yield copy


def validate(service: Path) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["validate", str(service), "--environments", str(EXAMPLE_ENVIRONMENTS)])


def restore(service: Path) -> None:
    for path in (service / "deploy").iterdir():
        path.unlink()
    for path in (EXAMPLES / "giphy" / "deploy").iterdir():
        shutil.copy(path, service / "deploy" / path.name)


def test_the_example_itself_validates(service: Path):
    """The baseline (and the warm-up: schemas compiled before any example is timed)."""
    assert validate(service) == 0


@settings(BOUNDED, max_examples=60)
@given(content=st.binary(max_size=400), name=st.sampled_from(["application.yml", "staging.yml", "qa.yml"]))
def test_arbitrary_bytes_as_a_deploy_file(service: Path, content: bytes, name: str):
    restore(service)
    (service / "deploy" / name).write_bytes(content)
    assert validate(service) in (0, 2)


@settings(BOUNDED, max_examples=80)
@given(base_changes=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=3), overlay=VALUES)
def test_arbitrary_documents_merged_templated_and_checked(
    service: Path, base_changes: dict[str, Any], overlay: Any
):
    restore(service)
    base_file = service / "deploy" / "application.yml"
    base = yaml.safe_load(base_file.read_text())
    base.update(base_changes)
    base_file.write_text(yaml.safe_dump(base, allow_unicode=True))
    (service / "deploy" / "staging.yml").write_text(yaml.safe_dump(overlay, allow_unicode=True))
    assert validate(service) in (0, 2)


@settings(BOUNDED, max_examples=200)
@given(text=st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?<= \n\tabc01{}~.\\")), max_size=80))
def test_the_loader_says_config_errors_only(text: str):
    with contextlib.suppress(ConfigErrors):
        parse_yaml(text, "deploy/staging.yml")
