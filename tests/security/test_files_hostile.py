"""Hostile deploy files and hostile checkouts (docs/security.md, "Files and parsing"): links
out of the service, outputs through planted links, files too large, too deep or too many
values, trailing newlines, and the settings that used to end in a traceback. Each case
ends with its own sentence and exit 2; nothing outside the checkout is read or written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.security.hostile import Checkout, count_line

LINK_OUT = (
    "this file is a link to a place outside the service directory (giphy); skytrain reads only files "
    "inside it, so replace the link with the file itself"
)
PLANTED = (
    "is a symbolic link, and skytrain does not write through links inside the working directory "
    "(a checkout can bring one); remove it or choose another path"
)


# -- links in the service's files --------------------------------------------------------------


def test_an_overlay_that_links_outside_the_service_is_refused_unread(checkout: Checkout):
    staging = checkout.deploy / "staging.yml"
    staging.unlink()
    staging.symlink_to(checkout.secret_file)
    assert checkout.only_error("validate", "giphy") == (
        f"giphy/deploy/staging.yml:1:1: error: (top level): {LINK_OUT}"
    )


def test_a_link_out_that_leads_nowhere_is_refused_too(checkout: Checkout):
    (checkout.deploy / "qa.yml").symlink_to(checkout.outside / "missing.yml")
    code, _, err = checkout.run("validate", "giphy")
    assert code == 2
    assert f"giphy/deploy/qa.yml:1:1: error: (top level): {LINK_OUT}" in err


def test_a_deploy_folder_that_links_outside_is_refused(checkout: Checkout):
    (checkout.outside / "deploy").mkdir()
    (checkout.outside / "deploy" / "application.yml").write_text("name: elsewhere\n")
    os.rename(checkout.deploy, checkout.root / "real-deploy")
    checkout.deploy.symlink_to(checkout.outside / "deploy")
    code, _, err = checkout.run("validate", "giphy")
    assert code == 2
    assert err == (
        "skytrain: error: giphy/deploy is a link to a folder outside the service directory (giphy); skytrain "
        "reads a service's files only from inside its directory, so replace the link with the folder itself\n"
    )


def test_a_link_that_stays_inside_the_service_is_read(checkout: Checkout):
    shared = checkout.service / "shared"
    shared.mkdir()
    os.rename(checkout.deploy / "staging.yml", shared / "staging.yml")
    (checkout.deploy / "staging.yml").symlink_to("../shared/staging.yml")
    code, out, _ = checkout.run("validate", "giphy")
    assert code == 0
    assert "staging (marathon, kubernetes)" in out


def test_an_environments_file_in_the_service_that_links_outside_is_refused(checkout: Checkout):
    (checkout.service / "skytrain-environments.yml").symlink_to(checkout.secret_file)
    code, _, err = checkout.run("validate", "giphy")
    assert code == 2
    assert err == (
        "skytrain: error: giphy/skytrain-environments.yml is a link to a place outside the service "
        "directory; skytrain reads only files inside it, so replace the link with the file itself\n"
    )


# -- links at a git ref (diff --against) --------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def commit(checkout: Checkout) -> None:
    git(checkout.root, "add", "-A")
    git(checkout.root, "commit", "-qm", "state at the ref")


@pytest.fixture
def repository(checkout: Checkout) -> Checkout:
    git(checkout.root, "init", "-q", "-b", "main")
    commit(checkout)
    return checkout


def test_a_link_out_at_the_ref_is_never_followed(repository: Checkout):
    staging = repository.deploy / "staging.yml"
    text = staging.read_text()
    staging.unlink()
    staging.symlink_to("../../../outside/credentials.yml")
    commit(repository)
    staging.unlink()
    staging.write_text(text)
    assert repository.only_error("diff", "giphy", "--env", "staging", "--against", "HEAD") == (
        "HEAD:giphy/deploy/staging.yml:1:1: error: (top level): this file is a link to a place outside the "
        "service directory at that ref; skytrain reads only files inside it, so replace the link with the "
        "file itself"
    )


def test_a_deploy_folder_linking_out_at_the_ref_is_refused(repository: Checkout):
    os.rename(repository.deploy, repository.root / "kept")
    repository.deploy.symlink_to("../../outside")
    commit(repository)
    repository.deploy.unlink()
    os.rename(repository.root / "kept", repository.deploy)
    code, _, err = repository.run("diff", "giphy", "--env", "staging", "--against", "HEAD")
    assert code == 2
    assert (
        "HEAD:giphy/deploy:1:1: error: (top level): this folder is a link to a place outside the service "
        "directory at that ref" in err
    )


def test_a_link_inside_the_service_at_the_ref_is_followed(repository: Checkout):
    shared = repository.service / "shared"
    shared.mkdir()
    (shared / "staging.yml").write_text("replicas: 5\n")
    staging = repository.deploy / "staging.yml"
    staging.unlink()
    staging.symlink_to("../shared/staging.yml")
    commit(repository)
    staging.unlink()
    staging.write_text("replicas: 2\n")
    code, out, _ = repository.run(
        "diff", "giphy", "--env", "staging", "--target", "kubernetes", "--against", "HEAD", "--format", "json"
    )
    assert code == 0
    assert '"old": 5' in out and '"new": 2' in out


# -- outputs ------------------------------------------------------------------------------------


def test_render_into_a_planted_link_is_refused_and_writes_nothing(checkout: Checkout):
    (checkout.root / "build").symlink_to(checkout.outside)
    code, out, err = checkout.run("render", "giphy", "--env", "staging", "-o", "build/giphy")
    assert code == 2 and out == ""
    assert err == f"skytrain: error: -o build/giphy: build {PLANTED}\n"
    assert checkout.outside_untouched()


def test_render_never_writes_through_a_planted_file_link(checkout: Checkout):
    out_dir = checkout.root / "out"
    out_dir.mkdir()
    (out_dir / "giphy.marathon.json").symlink_to(checkout.secret_file)
    code, _, err = checkout.run("render", "giphy", "--env", "staging", "-o", "out")
    assert code == 2
    assert err == f"skytrain: error: -o out/giphy.marathon.json: it {PLANTED}\n"
    assert checkout.outside_untouched()


def test_junit_through_a_planted_folder_link_is_refused_before_validating(checkout: Checkout):
    (checkout.root / "reports").symlink_to(checkout.outside)
    code, _, err = checkout.run("validate", "giphy", "--junit", "reports/credentials.yml")
    assert code == 2
    assert err == f"skytrain: error: --junit reports/credentials.yml: reports {PLANTED}\n"
    assert checkout.outside_untouched()


def test_junit_to_a_folder(checkout: Checkout):
    (checkout.root / "build").mkdir()
    code, _, err = checkout.run("validate", "giphy", "--junit", "build")
    assert code == 2
    assert err == "skytrain: error: --junit build: this is a folder; give a file name inside it\n"


def test_junit_below_a_file(checkout: Checkout):
    (checkout.root / "a-file").write_text("")
    code, _, err = checkout.run("validate", "giphy", "--junit", "a-file/x.xml")
    assert code == 2
    assert (
        err
        == "skytrain: error: --junit a-file/x.xml: a-file is a file, so nothing can be written inside it\n"
    )


def test_junit_where_nothing_can_be_written(checkout: Checkout):
    code, _, err = checkout.run("validate", "giphy", "--junit", "/proc/skytrain-junit.xml")
    assert code == 2
    assert err.startswith("skytrain: error: --junit /proc/skytrain-junit.xml: cannot write there (")


def test_junit_is_written_whole_with_no_temporary_file_left(checkout: Checkout):
    code, _, _ = checkout.run("validate", "giphy", "--junit", "reports/junit.xml")
    assert code == 0
    assert [p.name for p in (checkout.root / "reports").iterdir()] == ["junit.xml"]
    assert (checkout.root / "reports" / "junit.xml").read_text().startswith("<?xml")


def test_routes_into_a_planted_link_is_refused(checkout: Checkout):
    (checkout.root / "mesh").symlink_to(checkout.outside)
    code, _, err = checkout.run("routes", "--fleet", ".", "--env", "staging", "--out", "mesh/routes")
    assert code == 2
    assert err == f"skytrain: error: --out mesh/routes: mesh {PLANTED}\n"
    assert checkout.outside_untouched()


def environments_with_marathon(checkout: Checkout, url: str) -> Path:
    path = checkout.root / "platform.yml"
    path.write_text(
        "environments:\n"
        + "".join(
            f"  {env}:\n    marathon: {{url: {url!r}, group: /{env}}}\n    kubernetes: {{context: {env}}}\n"
            for env in ("dev", "staging", "production")
        )
    )
    return path


def test_deploy_with_an_unwritable_junit_sends_nothing(checkout: Checkout, httpserver):
    environments = environments_with_marathon(checkout, httpserver.url_for("/").rstrip("/"))
    (checkout.root / "build").mkdir()
    code, _, err = checkout.run(
        "deploy", "giphy", "--env", "staging", "--target", "marathon", "--environments", environments,
        "--junit", "build",
    )  # fmt: skip
    assert code == 2
    assert err == "skytrain: error: --junit build: this is a folder; give a file name inside it\n"
    assert httpserver.log == []


def test_pipeline_run_with_a_junit_below_a_file_sends_nothing(checkout: Checkout, httpserver):
    environments = environments_with_marathon(checkout, httpserver.url_for("/").rstrip("/"))
    (checkout.root / "a-file").write_text("")
    code, _, err = checkout.run(
        "pipeline", "run", "giphy", "--environments", environments, "--yes", "--junit", "a-file/x.xml"
    )
    assert code == 2
    assert "--junit a-file/x.xml: a-file is a file, so nothing can be written inside it" in err
    assert httpserver.log == []


# -- settings that used to end in a traceback ----------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan"])
def test_a_marathon_timeout_that_is_no_number_of_seconds(checkout: Checkout, httpserver, monkeypatch, value):
    monkeypatch.setenv("SKYTRAIN_MARATHON_TIMEOUT", value)
    environments = environments_with_marathon(checkout, httpserver.url_for("/").rstrip("/"))
    code, _, err = checkout.run(
        "deploy", "giphy", "--env", "staging", "--target", "marathon", "--environments", environments
    )
    assert code == 2
    assert err == (
        "skytrain: error: SKYTRAIN_MARATHON_TIMEOUT must be a number of seconds above 0 and at most 3600 "
        f"(the default is 10); got {value!r}\n"
    )
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("content", "command", "problem"),
    [
        ("clusters: [\n  token: abc", "deploy", "it is not valid YAML (line 2: "),
        (
            "- 1\n- 2\n",
            "status",
            "it is not a kubeconfig (a YAML mapping of clusters, contexts and users, in UTF-8)\n",
        ),
    ],
    ids=["not-yaml", "a-list"],
)
def test_a_kubeconfig_that_is_not_one(checkout: Checkout, monkeypatch, content, command, problem):
    kubeconfig = checkout.outside / "kubeconfig"
    kubeconfig.write_text(content)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    code, _, err = checkout.run(command, "giphy", "--env", "staging", "--target", "kubernetes")
    assert code == 2
    assert err.startswith(
        f"skytrain: error: cannot configure the Kubernetes client from {kubeconfig} for context 'staging': "
        + problem
    )
    assert "abc" not in err


def test_a_negative_markdown_limit(checkout: Checkout):
    with pytest.raises(SystemExit) as exit_info:
        checkout.run("diff", "giphy", "--env", "staging", "--against", "HEAD", "--markdown-limit", "-5")
    assert exit_info.value.code == 2
    assert (
        "argument --markdown-limit: must be a whole number of characters, at least 1000; got '-5'"
        in checkout.capsys.readouterr().err
    )


# -- size, depth, values ------------------------------------------------------------------------


def write_overlay(checkout: Checkout, text: str, name: str = "staging.yml") -> None:
    (checkout.deploy / name).write_text(text)


def test_a_50_megabyte_file_is_refused_unread(checkout: Checkout):
    with (checkout.deploy / "staging.yml").open("w") as stream:
        stream.write("env:\n")
        line = "  K: " + "x" * 95 + "\n"
        stream.write(line * (50 * 1024 * 1024 // len(line)))
    assert checkout.only_error("validate", "giphy") == (
        "giphy/deploy/staging.yml:1:1: error: (top level): this file is over 1,048,576 bytes, far larger than "
        "any deploy file needs, so skytrain does not read it"
    )


def test_the_platform_moves_the_size_limit(checkout: Checkout, monkeypatch):
    monkeypatch.setenv("SKYTRAIN_MAX_FILE_BYTES", "100")
    code, _, err = checkout.run("validate", "giphy")
    assert code == 2
    assert "giphy/deploy/application.yml:1:1: error: (top level): this file is over 100 bytes" in err


@pytest.mark.parametrize("variable", ["SKYTRAIN_MAX_FILE_BYTES", "SKYTRAIN_MAX_DEPTH", "SKYTRAIN_MAX_VALUES"])
def test_a_limit_that_is_not_a_number(checkout: Checkout, monkeypatch, variable):
    monkeypatch.setenv(variable, "lots")
    code, _, err = checkout.run("validate", "giphy")
    assert code == 2
    assert err.startswith(f"skytrain: error: {variable} must be a whole number above 0")
    assert err.endswith("; got 'lots'\n")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("kubernetes: " + "[" * 100 + "]" * 100 + "\n", "1:76"),
        ("kubernetes: " + "[" * 999 + "]" * 999 + "\n", "1:76"),
        ("kubernetes: " + "[" * 5000 + "]" * 5000 + "\n", "1:1012"),  # libyaml's own bound comes first
        ("kubernetes:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(999)), "65:65"),
    ],
    ids=["100-brackets", "999-brackets", "5000-brackets", "999-indented"],
)
def test_nesting_deeper_than_the_limit(checkout: Checkout, text, where):
    write_overlay(checkout, text)
    error = checkout.only_error("validate", "giphy")
    assert error.startswith(f"giphy/deploy/staging.yml:{where}: error: ")
    assert error.endswith(
        ": this file nests lists and mappings more than 64 levels deep; no deploy file needs that many: flatten it"
    )


def test_many_keys_are_about_size_not_aliases(checkout: Checkout):
    write_overlay(checkout, "env:\n" + "".join(f"  K{i}: v\n" for i in range(800_000)))
    code, _, err = checkout.run("validate", "giphy")
    assert code == 2
    assert "this file is over 1,048,576 bytes" in err
    assert "alias" not in err


def test_many_values_in_a_small_file_are_about_their_number(checkout: Checkout):
    write_overlay(checkout, "args: [" + ",".join(["1"] * 30_000) + "]\n")
    assert checkout.only_error("validate", "giphy") == (
        "giphy/deploy/staging.yml:1:40004: error: args[19998]: this file has more than 20000 values, far more "
        "than any deploy file needs; make it smaller"
    )


def test_a_billion_laughs_is_about_aliases(checkout: Checkout):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(8)]
    write_overlay(checkout, "marathon:\n" + "".join(f"  {line}\n" for line in lines))
    error = checkout.only_error("validate", "giphy")
    assert error.endswith(": YAML aliases (*name) expand this file past 20000 values; write it out plainly")


def test_an_alias_inside_its_own_anchor(checkout: Checkout):
    write_overlay(checkout, "marathon: &loop\n  labels: *loop\n")
    assert checkout.only_error("validate", "giphy") == (
        "giphy/deploy/staging.yml:2:11: error: marathon.labels: this value refers to itself "
        "(an alias *name inside its own &name); write it out plainly"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<<: 1\n", "1:5: error: (top level): a merge key (<<) takes a mapping or a list of mappings"),
        ("replicas: !!bool maybe\n", "1:11: error: replicas: this is not a !!bool; write a plain value"),
    ],
)
def test_yaml_that_used_to_raise_a_traceback(checkout: Checkout, text, message):
    write_overlay(checkout, text)
    code, _, err = checkout.run("validate", "giphy")
    assert code == 2
    assert f"giphy/deploy/staging.yml:{message}" in err


# -- trailing newlines and each file on its own ---------------------------------------------------


@pytest.mark.parametrize(
    ("line", "written", "field"),
    [
        ("name: giphy", 'name: "giphy\\n"', "name"),
        ("  path: /status", '  path: "/status\\n"', "healthCheck.path"),
        ("  memory: 256Mi", '  memory: "256Mi\\n"', "resources.memory"),
        ("    key: api-key", '    key: "api-key\\n"', "secrets.GIPHY_API_KEY.key"),
        ("  - media", '  - "media\\n"', "dependencies[1]"),
        (
            "image: registry.example.com/giphy:{{ BUILD_TAG | default('latest') }}",
            'image: "giphy:1\\n"',
            "image",
        ),
    ],
)
def test_a_trailing_newline_never_passes(checkout: Checkout, line, written, field):
    base = checkout.deploy / "application.yml"
    text = base.read_text()
    assert line + "\n" in text
    base.write_text(text.replace(line + "\n", written + "\n", 1))
    for command in (["validate", "giphy"], ["render", "giphy", "--env", "staging", "--target", "kubernetes"]):
        code, out, err = checkout.run(*command)
        assert code == 2 and out == ""
        assert f": error: {field}: " in err
        assert err.endswith(count_line(1) + "\n")


def test_an_overridden_base_value_is_still_checked_once(checkout: Checkout):
    base = checkout.deploy / "application.yml"
    base.write_text(base.read_text().replace("replicas: 2\n", 'replicas: "lots"\n'))
    for overlay in ("dev.yml", "production.yml"):
        assert "replicas:" in (checkout.deploy / overlay).read_text()
    assert checkout.only_error("validate", "giphy") == (
        'giphy/deploy/application.yml:10:11: error: replicas: expected a whole number, got "lots"'
    )


def test_an_overlay_error_is_reported_once_at_its_spot(checkout: Checkout):
    (checkout.deploy / "staging.yml").write_text("replicas: 2\nresources: {cpus: 1}\n")
    assert checkout.only_error("validate", "giphy") == (
        "giphy/deploy/staging.yml:2:13: error: resources.cpus: unknown field 'cpus'; did you mean 'cpu'?"
    )
