"""The layers of docs/architecture.md, checked on the source: which package may import which
(every import counts, also one inside a function), and that only the scheduler registry
tells schedulers apart by name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from skytrain.schedulers import NAMES
from tests.support import ROOT

PACKAGE = ROOT / "skytrain"

# the front half (files in, data out) and the project generator, which writes files
FRONT = ("backends", "commands", "pipeline", "lifecycle", "reporting", "schedulers", "render", "diff")
# package (or module) -> what it must never import
FORBIDDEN = {
    "skytrain.config": FRONT,
    "skytrain.render": ("backends", "commands", "pipeline", "lifecycle", "reporting", "schedulers", "diff"),
    "skytrain.diff": ("backends", "commands", "pipeline", "lifecycle", "reporting"),
    "skytrain.importer": ("backends", "commands", "pipeline", "lifecycle", "reporting", "schedulers"),
    "skytrain.schedulers": ("commands", "pipeline", "lifecycle", "reporting"),
    "skytrain.backends": ("commands", "pipeline", "lifecycle", "reporting", "schedulers"),
    "skytrain.lifecycle": ("commands", "pipeline", "reporting"),
    "skytrain.reporting": ("commands", "pipeline"),
    "skytrain.pipeline": ("commands",),
    "skytrain.generator": FRONT,
    # the migration's I/O half first: a module belongs to the first layer its name starts with
    "skytrain.migration.live": ("commands", "pipeline", "reporting"),
    "skytrain.migration": (
        "backends",
        "schedulers",
        "lifecycle",
        "migration.live",
        "commands",
        "pipeline",
        "reporting",
    ),
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, relative ones made absolute."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def owner(module: str) -> str | None:
    return next((layer for layer in FORBIDDEN if module == layer or module.startswith(layer + ".")), None)


def test_no_layer_imports_what_sits_above_it():
    broken = []
    for path in sources():
        layer = owner(module_name(path))
        if layer is None:
            continue
        for line, imported in imports(path):
            for above in FORBIDDEN[layer]:
                target = f"skytrain.{above}"
                if imported == target or imported.startswith(target + "."):
                    broken.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {imported}")
    assert broken == []


@pytest.mark.parametrize(
    ("layer", "source", "expected"),
    [
        ("skytrain.pipeline", "from skytrain.commands.operate import x\n", "skytrain.commands.operate"),
        ("skytrain.render", "def f():\n    from ...backends import base\n", "skytrain.backends.base"),
        ("skytrain.backends", "import skytrain.commands.deploy\n", "skytrain.commands.deploy"),
    ],
)
def test_the_check_sees_every_kind_of_import(tmp_path, layer, source, expected):
    """The walk itself: a top-level, a relative and a lazy import each count."""
    folder = tmp_path / "skytrain" / layer.split(".")[1] / "sub"
    folder.mkdir(parents=True)
    (folder / "mod.py").write_text(source)
    assert expected in [module for _, module in imports(folder / "mod.py", tmp_path)]


def test_only_the_registry_tells_schedulers_apart_by_name():
    """No comparison with a scheduler's name outside skytrain/schedulers (the config's own
    escape-hatch keys `marathon:`/`kubernetes:` are config syntax; the emulators are the schedulers)."""
    exempt = ("skytrain/schedulers/", "skytrain/config/", "skytrain/emulators/")
    found = []
    for path in sources():
        where = str(path.relative_to(ROOT))
        if where.startswith(exempt):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Constant) and s.value in NAMES for s in sides):
                    found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert found == []
