"""`skytrain completion bash|zsh`: the scripts load in the real shells, and bash completes what
cli.COMMANDS lists (whatever it lists: the expectations are computed from it), the global
options after a command, choices, and service directories. Skips without zsh, except under
CI=true, where .ci/run installs it."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from skytrain.cli import COMMANDS
from skytrain.schedulers import NAMES
from skytrain.terminal import COLOR_CHOICES
from tests.support import EXAMPLES, ROOT, require_tool, skytrain


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    done = skytrain("completion", "bash")
    assert done.returncode == 0, done.stderr
    script = tmp_path_factory.mktemp("completion") / "skytrain.bash"
    script.write_text(done.stdout)
    return script


def bash(script: Path, commands: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"source {shlex.quote(str(script))} && {commands}"],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def complete(script: Path, line: str, cwd: Path = ROOT) -> list[str]:
    """What bash offers for TAB at the end of `line`, through the function `complete -p`
    registered for skytrain, called as bash's programmable completion calls it."""
    words = line.split(" ")
    function = re.search(r"-F (\S+) skytrain$", bash(script, "complete -p skytrain").strip())
    assert function, "the script registers a completion function for skytrain"
    call = (
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
        f"COMP_LINE={shlex.quote(line)}; COMP_POINT={len(line)}; "
        f"{function[1]} skytrain {shlex.quote(words[-1])} {shlex.quote(words[-2])}; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    return sorted(filter(None, bash(script, call, cwd).splitlines()))


def test_bash_offers_the_commands_that_start_with_what_was_typed(bash_script: Path) -> None:
    assert complete(bash_script, "skytrain d") == sorted(c for c in COMMANDS if c.startswith("d"))
    assert "deploy" in complete(bash_script, "skytrain d") and "diff" in complete(bash_script, "skytrain d")
    assert complete(bash_script, "skytrain de") == sorted(c for c in COMMANDS if c.startswith("de"))
    assert complete(bash_script, "skytrain ") == sorted(COMMANDS)


def test_bash_completes_global_options_after_a_command_and_choices(bash_script: Path) -> None:
    assert complete(bash_script, "skytrain deploy --col") == ["--color"]
    assert complete(bash_script, "skytrain --qu") == ["--quiet"]
    assert complete(bash_script, "skytrain deploy examples/giphy --color ") == sorted(COLOR_CHOICES)
    assert complete(bash_script, "skytrain deploy examples/giphy --target ") == sorted(NAMES)
    assert complete(bash_script, "skytrain pipeline r") == ["run"]
    assert complete(bash_script, "skytrain completion ") == ["bash", "zsh"]


def test_bash_completes_a_service_directory(bash_script: Path) -> None:
    offered = complete(bash_script, "skytrain validate examples/gi", cwd=EXAMPLES.parent)
    assert offered == ["examples/giphy"]


def test_zsh_registers_the_completion_and_lists_every_command(tmp_path: Path) -> None:
    zsh = require_tool("zsh")
    done = skytrain("completion", "zsh")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("#compdef skytrain")
    (tmp_path / "_skytrain").write_text(done.stdout)
    # as installed: a file in $fpath that compinit finds; the command list comes from the
    # script's own function, with zsh's _describe replaced by a printer
    shown = subprocess.run(
        [
            zsh,
            "-f",
            "-c",
            f"fpath=({shlex.quote(str(tmp_path))} $fpath); autoload -Uz compinit && compinit -u -D; "
            'print -r -- "$_comps[skytrain]"; '
            f'eval "$(<{shlex.quote(str(tmp_path / "_skytrain"))})"; '
            "_describe() { print -rl -- ${(P)2} }; _shtab_skytrain_commands",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "_skytrain"
    assert sorted(line.split(":", 1)[0] for line in lines[1:]) == sorted(COMMANDS)
