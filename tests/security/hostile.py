"""A service as a pull request could write it, in a temporary checkout, and the CLI run on
it in this process: what the hostile-input tests of this folder share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from skytrain.cli import main

# what a file outside the checkout holds: never to be echoed, never to be overwritten
OUTSIDE_SECRET = "token: s3cr3t-outside-the-checkout\n"


@dataclass
class Checkout:
    """`root` is the working directory (the checkout); `service` the giphy example in it;
    `outside` a folder beside the checkout with a file no run may read or write."""

    root: Path
    service: Path
    outside: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def deploy(self) -> Path:
        return self.service / "deploy"

    @property
    def secret_file(self) -> Path:
        return self.outside / "credentials.yml"

    def run(self, *args: str | Path) -> tuple[int, str, str]:
        """`skytrain ARGS` through skytrain.cli.main: (exit code, stdout, stderr)."""
        self.capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def only_error(self, *args: str | Path) -> str:
        """The one config error `skytrain ARGS` reports (it must exit 2 with exactly one)."""
        code, out, err = self.run(*args)
        assert code == 2 and out == ""
        error, summary = err.splitlines()
        assert summary == count_line(1)
        return error

    def outside_untouched(self) -> bool:
        return self.secret_file.read_text() == OUTSIDE_SECRET and sorted(self.outside.iterdir()) == [
            self.secret_file
        ]


def count_line(errors: int) -> str:
    return f"{errors} error{'s' if errors != 1 else ''}; nothing was sent to any scheduler."
