"""Templates that would exhaust the machine: each is refused with its own sentence and exit 2
by a fresh `skytrain validate` whose address space is capped (a template that allocated
gigabytes would end in MemoryError instead) and which must finish within the timeout."""

from __future__ import annotations

import pytest

from tests.security.sandbox_helpers import (
    A_CI_SECRET,
    BASE_FILE,
    VALUE_SPOT,
    env_file,
    run_capped,
    write_service,
)

STOPPED = ", and was stopped; templates fill in short values such as image tags"
RANGE = "range() here would have more than 10000 items; templates loop over little"

BOMBS = [
    ("{{ range(10**9) | list }}", RANGE),
    ("{% for x in range(10**9) %}x{% endfor %}", RANGE),
    ("{{ 'A' * 10**10 }}", "this template repeats text or a list beyond 64 KiB" + STOPPED),
    ("{{ [0] * 10**10 }}", "this template repeats text or a list beyond 64 KiB" + STOPPED),
    ("{{ [[0] * 10000] * 10000 }}", "this template repeats text or a list beyond 64 KiB" + STOPPED),
    ("{{ 10**(10**10) }}", "this template raises a number to a power beyond 4096 bits"),
    ("{{ (2**4000) * (2**4000) }}", "this template multiplies numbers beyond 4096 bits"),
    (
        "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
        "the templates of this file ran for more than 1 s and were stopped (a loop over too much?); "
        "templates fill in short values such as image tags",
    ),
    (
        "{% for a in range(10000) %}{% for b in range(10000) %}AAAA{% endfor %}{% endfor %}",
        "this template renders a value beyond 64 KiB" + STOPPED,
    ),
    ("{{ range(10000) | join('A' * 10) }}", "this template joins a list beyond 64 KiB" + STOPPED),
    (
        "{% set a = 'A' * 40000 %}{% set a = a ~ a %}{% set a = a ~ a %}{{ a }}",
        "this template joins text with ~ beyond 64 KiB" + STOPPED,
    ),
    ("{{ ('A' * 1000) | replace('A', 'B' * 1000) }}", "this template replaces text beyond 64 KiB" + STOPPED),
    ("{{ ('A' * 1000).replace('A', 'B' * 1000) }}", "this template replaces text beyond 64 KiB" + STOPPED),
    (
        "{% set l = range(9000) | list %}{% set l = l + l %}{% set l = l + l %}{{ l | length }}",
        "this template adds text or lists beyond 64 KiB" + STOPPED,
    ),
    ("{{ 'x'.ljust(10**10) }}", "templates may not call ljust(); they may call range(), environment() and "),
    ("{{ lipsum(10**6) }}", "lipsum is not a variable templates may read; "),
    ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "template refused: it is nested too deeply"),
]


@pytest.mark.parametrize(("template", "expected"), BOMBS, ids=[t[:60] for t, _ in BOMBS])
def test_a_resource_bomb_is_refused_in_bounded_time_and_memory(tmp_path, template, expected):
    write_service(tmp_path, env_file({"X": template}))
    result = run_capped(tmp_path, "validate", "svc")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    (error,) = result.errors
    assert error.startswith(VALUE_SPOT + expected), error
    assert A_CI_SECRET not in result.printed()


def test_the_templates_of_one_file_render_at_most_a_mebibyte_together(tmp_path):
    """Each value under 64 KiB, twenty of them 1.2 MB: the file's output budget stops the
    18th (17 x 60,000 characters fit in 1 MiB)."""
    values = {f"X{i:02d}": "{{ 'A' * 60000 }}" for i in range(20)}
    write_service(tmp_path, env_file(values))
    result = run_capped(tmp_path, "validate", "svc")
    assert result.code == 2
    assert result.errors[0] == (
        f"{BASE_FILE}:23:8: error: env.X17: the templates of this file render more than 1 MiB together, and were "
        "stopped; templates fill in short values such as image tags"
    )


@pytest.mark.parametrize(
    ("template", "tag_length", "expected"),
    [
        ("{{ BUILD_TAG }}" * 5, 20_000, "this template renders a value beyond 64 KiB" + STOPPED),
        (
            "{{ BUILD_TAG }}",
            70_000,
            "the value of BUILD_TAG is longer than 64 KiB; templates fill in short values",
        ),
    ],
)
def test_the_fast_path_keeps_the_same_bounds(tmp_path, template, tag_length, expected):
    write_service(tmp_path, env_file({"X": template}))
    result = run_capped(tmp_path, "validate", "svc", BUILD_TAG="a" * tag_length)
    result.refused([VALUE_SPOT + expected])
