"""The PR comment: rendered as GitHub would (CommonMark + tables), its table agrees with
the JSON, every changed object has a collapsible block, and the size limit holds."""

from __future__ import annotations

import json

import pytest
from diff_helpers import commit_all, git, rendered_html, table_rows


@pytest.fixture
def changed(service):
    """Two commits apart: staging changes env (ConfigMap, rolls pods), production scales."""
    git(service.root, "init", "-q", "-b", "main")
    commit_all(service.root, "before")
    service.write("staging.yml", "env:\n  LOG_LEVEL: debug\n")
    service.write("production.yml", "replicas: 7\n")
    return service


def test_the_table_counts_match_the_json_and_every_change_has_a_block(changed):
    markdown = changed.cli("--all-envs", "--against", "HEAD", "--format", "markdown")
    data = json.loads(changed.cli("--all-envs", "--against", "HEAD", "--format", "json").stdout)
    assert markdown.returncode == 0, markdown.stderr
    document = rendered_html(markdown.stdout)
    rows = {(r["environment"], r["target"]): r for r in table_rows(document)}
    assert len(rows) == len(data["results"]) == 4
    for result in data["results"]:
        row = rows[(result["environment"], result["target"])]
        for action, count in result["summary"].items():
            assert int(row[action]) == count, (result["environment"], result["target"], action)
        assert row["restarts"] == ("yes" if result["restarts"] else "no")
    changed_objects = [
        (r["environment"], r["target"], o["kind"], o["name"])
        for r in data["results"]
        for o in r["objects"]
        if o["action"] != "unchanged"
    ]
    summaries = [d.xpath("./summary")[0].text_content() for d in document.xpath("//details")]
    assert len(summaries) == len(changed_objects) > 0
    for (environment, target, kind, name), summary in zip(changed_objects, summaries, strict=True):
        assert summary.startswith(f"{environment} · {target} · ") and kind in summary and name in summary
    assert all(
        block.xpath(".//pre/code[contains(@class, 'language-diff')]") for block in document.xpath("//details")
    )


def test_restart_notes_in_the_block_titles(changed):
    markdown = changed.cli("--all-envs", "--against", "HEAD", "--format", "markdown").stdout
    summaries = [d.xpath("./summary")[0].text_content() for d in rendered_html(markdown).xpath("//details")]
    assert any("staging · kubernetes" in s and "ConfigMap" in s and "rolls pods" in s for s in summaries)
    assert any("production · kubernetes" in s and "Deployment" in s and "no restart" in s for s in summaries)
    assert any("production · marathon" in s and "no restart" in s for s in summaries)


def test_a_long_diff_is_cut_whole_blocks_at_a_time_with_a_note(changed):
    limit = 2500
    completed = changed.cli(
        "--all-envs", "--against", "HEAD", "--format", "markdown", "--markdown-limit", str(limit)
    )
    output = completed.stdout
    assert len(output) <= limit
    assert "**Truncated:**" in output
    document = rendered_html(output)
    assert len(table_rows(document)) == 4  # the table always shows every environment and target
    assert output.count("<details>") == output.count("</details>")


def test_no_changes_says_so(service):
    git(service.root, "init", "-q", "-b", "main")
    commit_all(service.root, "only")
    output = service.cli("--all-envs", "--against", "HEAD", "--format", "markdown").stdout
    assert "No changes." in output and "<details>" not in output
