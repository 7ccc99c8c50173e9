"""What an installed package carries: one version, type information, the theme files."""

from __future__ import annotations

import importlib.util
import shutil
import tomllib
from pathlib import Path

import agentops_tui
from agentops_tui import paths

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_has_one_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/agentops_tui/__init__.py"
    assert agentops_tui.__version__.count(".") == 2


def test_the_package_is_typed_licensed_and_runnable() -> None:
    package = Path(agentops_tui.__file__).parent
    assert (package / "py.typed").exists() and (package / "__main__.py").exists()
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "Typing :: Typed" in PYPROJECT["project"]["classifiers"]


def test_the_wheel_carries_the_theme_files() -> None:
    wheel = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"] == {"themes": "agentops_tui/themes"}
    assert sorted(p.name for p in (ROOT / "themes").glob("*.toml")) == ["dusk.toml", "paper.toml"]


def test_installed_themes_are_found_in_the_package_first(tmp_path: Path) -> None:
    """An installed copy of paths.py, with the themes beside it as the wheel lays them out."""
    package = tmp_path / "site-packages" / "agentops_tui"
    (package / "themes").mkdir(parents=True)
    shutil.copy(paths.__file__, package / "paths.py")
    spec = importlib.util.spec_from_file_location("installed_paths", package / "paths.py")
    assert spec is not None and spec.loader is not None
    installed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(installed)
    assert installed.bundled_themes_dir() == (package / "themes").resolve()
    shutil.rmtree(package / "themes")
    assert installed.bundled_themes_dir() is None  # and no checkout around it either


def test_a_checkout_finds_the_top_level_themes_folder() -> None:
    assert paths.bundled_themes_dir() == ROOT / "themes"
