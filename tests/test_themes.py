"""Every theme file loads; a bad one is reported by file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentops_tui.tui.themes import (
    BUILTIN,
    STATUS_VARIABLES,
    ThemeError,
    default_themes_dir,
    load_theme_file,
    load_themes,
)

THEMES_DIR = Path(__file__).resolve().parents[1] / "themes"


def test_builtins_cover_the_required_kinds() -> None:
    names = {t.name for t in BUILTIN}
    assert {"agentops-dark", "agentops-light", "agentops-high-contrast",
            "agentops-mono"} <= names
    for theme in BUILTIN:
        assert set(STATUS_VARIABLES) <= set(theme.to_theme().variables)


@pytest.mark.parametrize("path", sorted(THEMES_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_theme_file_loads(path: Path) -> None:
    theme = load_theme_file(path)
    assert theme.name
    assert set(STATUS_VARIABLES) <= set(theme.variables)


def test_the_folder_is_found_and_loaded() -> None:
    assert default_themes_dir() == THEMES_DIR
    themes, problems = load_themes(THEMES_DIR)
    assert problems == []
    assert len(themes) == len(BUILTIN) + len(list(THEMES_DIR.glob("*.toml")))


def test_bad_files_name_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('name = "x"\nprimary = \n')
    (tmp_path / "colour.toml").write_text('name = "y"\nprimary = "not-a-colour"\n')
    (tmp_path / "extra.toml").write_text('name = "z"\nprimary = "#000000"\nsparkle = 1\n')
    themes, problems = load_themes(tmp_path)
    assert len(themes) == len(BUILTIN)
    text = "\n".join(problems)
    assert "broken.toml" in text and "line 2" in text
    assert "colour.toml: primary" in text
    assert "extra.toml: sparkle" in text
    with pytest.raises(ThemeError):
        load_theme_file(tmp_path / "missing.toml")
