"""Template injection and exfiltration, as an outside contributor would try them in a pull
request: on the working tree (validate and render) and, with the payload only at the ref,
through `diff --against`. Each ends with its sentence at the value's file:line:col and exit 2;
nothing runs (each payload would create a marker file), nothing of the CI's environment
is printed."""

from __future__ import annotations

import pytest

from tests.diff.diff_helpers import commit_all, git
from tests.security.sandbox_helpers import (
    A_CI_SECRET,
    BASE,
    BASE_FILE,
    ENVIRONMENTS,
    VALUE_SPOT,
    env_file,
    run_here,
    write_service,
)

UNDERSCORE = "templates may not read {name}: names starting with _ reach into Python itself"
NOT_A_VARIABLE = "{name} is not a variable templates may read; templates may read BRANCH_NAME, BUILD_ID, "

# (payload with MARKER where it would write, the start of the sentence it gets)
INJECTIONS = [
    (
        "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
        UNDERSCORE.format(name="__globals__"),
    ),
    (
        "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch MARKER') }}",
        UNDERSCORE.format(name="__import__"),
    ),
    ("{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}", UNDERSCORE.format(name="__globals__")),
    ("{{ joiner.__init__.__globals__.os.popen('touch MARKER') }}", UNDERSCORE.format(name="__globals__")),
    ("{{ namespace.__init__.__globals__.os.popen('touch MARKER') }}", UNDERSCORE.format(name="__globals__")),
    (
        "{{ ''.__class__.__mro__[1].__subclasses__()[0]('touch MARKER', shell=True) }}",
        UNDERSCORE.format(name="__subclasses__"),
    ),
    ("{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}", UNDERSCORE.format(name="__class__")),
    (
        "{{ ''|attr('__class__')|attr('__mro__') }}",
        "there is no filter 'attr' in these templates; they have abs, capitalize, ",
    ),
    ("{{ '{0.__class__.__init__.__globals__}'.format(BUILD_TAG) }}", "templates may not call format(); "),
    ("{{ '%s' % BUILD_TAG }}", "templates may not %-format text; join it with ~ instead"),
    (
        "{{ 'x'[('_' ~ '_class_' ~ '_')] }}",
        "template refused by the sandbox: access to attribute '__class__' of 'str' object is unsafe",
    ),
    ("{{ [1]|map(attribute='__class__')|list }}", UNDERSCORE.format(name="__class__")),
    ("{% with c = cycler %}{{ c.reset() }}{% endwith %}", NOT_A_VARIABLE.format(name="cycler")),
    ("{% for x in [1] %}{{ loop.__class__ }}{% endfor %}", UNDERSCORE.format(name="__class__")),
    ("{% include '/etc/passwd' %}", "templates in these files may not use {% include %}; "),
    (
        "{% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}",
        "templates in these files may not use {% macro %}; ",
    ),
]


def _payload(template: str, marker) -> str:
    return template.replace("MARKER", str(marker))


@pytest.mark.parametrize(("template", "expected"), INJECTIONS, ids=[t for t, _ in INJECTIONS])
@pytest.mark.parametrize("command", [("validate", "svc"), ("render", "svc", "--env", "staging")])
def test_an_injection_in_the_working_tree_runs_nothing(
    tmp_path, monkeypatch, capsys, template, expected, command
):
    marker = tmp_path / "executed"
    write_service(tmp_path, env_file({"X": _payload(template, marker)}))
    result = run_here(tmp_path, *command, monkeypatch=monkeypatch, capsys=capsys)
    assert result.code == 2
    assert result.stdout == ""
    (error,) = result.errors
    assert error.startswith(VALUE_SPOT + expected), error
    assert not marker.exists()
    assert A_CI_SECRET not in result.printed()


@pytest.fixture
def repository(tmp_path):
    """A git repository holding the service, with a harmless first commit."""
    write_service(tmp_path, env_file({"X": "harmless"}))
    git(tmp_path, "init", "-q", "-b", "main")
    commit_all(tmp_path, "a harmless service")
    return tmp_path


@pytest.mark.parametrize(("template", "expected"), INJECTIONS[:6], ids=[t for t, _ in INJECTIONS[:6]])
def test_an_injection_only_at_the_ref_runs_nothing_in_an_offline_diff(
    repository, monkeypatch, capsys, template, expected
):
    """The payload is committed on a branch; the working tree is the harmless main. The
    diff renders the branch's files and must refuse them as it refuses the working tree's."""
    marker = repository / "executed"
    git(repository, "checkout", "-q", "-b", "hostile")
    (repository / BASE_FILE).write_text(env_file({"X": _payload(template, marker)}))
    commit_all(repository, "a hostile template")
    git(repository, "checkout", "-q", "main")
    assert "touch" not in (repository / BASE_FILE).read_text()

    result = run_here(
        repository,
        "diff",
        "svc",
        "--env",
        "staging",
        "--against",
        "hostile",
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert result.code == 2
    (error,) = result.errors
    assert error.startswith(f"hostile:{BASE_FILE}:6:6: error: env.X: " + expected), error
    assert not marker.exists()
    assert A_CI_SECRET not in result.printed()


def test_the_ref_reads_the_same_explicit_variables_as_the_working_tree(repository, monkeypatch, capsys):
    """The ref's template reads what --set gives (so it renders like the working tree's literal:
    no change); a variable of the CI's environment it was not given stays out of reach there."""
    (repository / BASE_FILE).write_text(env_file({"X": "{{ RELEASE }}"}))
    commit_all(repository, "X from RELEASE")
    (repository / BASE_FILE).write_text(env_file({"X": "r1"}))
    diff = ("diff", "svc", "--env", "staging", "--against", "HEAD", "--exit-code")

    same = run_here(repository, *diff, "--set", "RELEASE=r1", monkeypatch=monkeypatch, capsys=capsys)
    assert same.code == 0, same.stderr

    refused = run_here(repository, *diff, monkeypatch=monkeypatch, capsys=capsys, RELEASE="r1")
    refused.refused([f"HEAD:{BASE_FILE}:6:6: error: env.X: " + _not_a_variable("RELEASE")])


def _not_a_variable(name: str) -> str:
    return (
        f"{name} is not a variable templates may read; templates may read BRANCH_NAME, BUILD_ID, BUILD_NUMBER, "
        "BUILD_TAG, CHANGE_BRANCH, CHANGE_ID, CHANGE_TARGET, GIT_BRANCH, GIT_COMMIT, JOB_BASE_NAME, JOB_NAME, "
        "TAG_NAME (more are allowed by templateVariables: in environments.yml, or for one run by --set NAME=VALUE)"
    )


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("{{ CI_DEPLOY_TOKEN }}", "CI_DEPLOY_TOKEN"),  # the fast path
        ("{{ CI_DEPLOY_TOKEN | default('none') }}", "CI_DEPLOY_TOKEN"),  # a default does not make it readable
        ("{{ CI_DEPLOY_TOKEN | lower }}", "CI_DEPLOY_TOKEN"),  # the sandbox
        ("{{ environ['CI_DEPLOY_TOKEN'] }}", "environ"),
        ("{{ os.environ }}", "os"),
        ("{{ config.items() }}", "config"),
    ],
)
def test_the_cis_environment_is_out_of_reach(tmp_path, monkeypatch, capsys, template, names):
    write_service(tmp_path, env_file({"X": template}))
    result = run_here(tmp_path, "render", "svc", "--env", "staging", monkeypatch=monkeypatch, capsys=capsys)
    result.refused([VALUE_SPOT + _not_a_variable(names)])


def test_environment_prefix_lists_only_the_allowed_variables(tmp_path, monkeypatch, capsys):
    """envtpl's environment('') would list the whole CI environment; here it lists the
    allowed variables that are set, and nothing else."""
    write_service(tmp_path, env_file({"X": "{{ environment('') | dictsort | map('first') | join(',') }}"}))
    result = run_here(
        tmp_path,
        *("render", "svc", "--env", "staging", "--set", "RELEASE=r1"),
        monkeypatch=monkeypatch,
        capsys=capsys,
        BUILD_TAG="jenkins-svc-7",
    )
    assert result.code == 0, result.stderr
    assert '"X": "BUILD_TAG,RELEASE"' in result.stdout
    assert A_CI_SECRET not in result.printed()


def test_an_allowed_variable_holding_a_secret_never_renders(tmp_path, monkeypatch, capsys):
    """A CI that put a token in BUILD_TAG by mistake: reading it, directly or through
    environment(), is refused, and the token is not printed."""
    token = "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"
    write_service(tmp_path, env_file({"X": "{{ BUILD_TAG }}", "Y": "{{ environment('BUILD_') }}"}))
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys, BUILD_TAG=token)
    sentence = (
        "the value of BUILD_TAG looks like a secret (GitHub Token), so no template renders it; secrets are "
        "referenced under secrets:, never filled in"
    )
    result.refused([VALUE_SPOT + sentence, f"{BASE_FILE}:7:6: error: env.Y: {sentence}"], token)


def test_a_template_variable_named_like_a_secret_is_refused_in_the_environments_file(
    tmp_path, monkeypatch, capsys
):
    write_service(
        tmp_path,
        BASE,
        environments="templateVariables: [REGION, DEPLOY_TOKEN]\n" + ENVIRONMENTS,
    )
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys)
    result.refused(
        [
            "environments.yml:1:29: error: templateVariables[1]: DEPLOY_TOKEN is named like a secret; a template "
            "variable's value can end up in any rendered object and diff, so secrets are never template "
            "variables (services reference them under secrets:)"
        ]
    )


@pytest.mark.parametrize("assignment", ["DB_PASSWORD=hunter2", "GITHUB_TOKEN=ghp_x", "1X=2", "NOEQUALS"])
def test_set_refuses_a_secrets_name_and_a_malformed_assignment(tmp_path, monkeypatch, capsys, assignment):
    write_service(tmp_path, BASE)
    with pytest.raises(SystemExit) as exit_info:
        run_here(tmp_path, "validate", "svc", "--set", assignment, monkeypatch=monkeypatch, capsys=capsys)
    assert exit_info.value.code == 2
    printed = capsys.readouterr().err
    assert "argument --set: " in printed
    assert "hunter2" not in printed
