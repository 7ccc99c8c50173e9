"""Where agentops keeps things. One function per path so tests can point them elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP = "agentops"


def config_dir() -> Path:
    override = os.environ.get("AGENTOPS_CONFIG_DIR")
    return Path(override) if override else user_config_path(APP, appauthor=False)


def data_dir() -> Path:
    override = os.environ.get("AGENTOPS_DATA_DIR")
    return Path(override) if override else user_data_path(APP, appauthor=False)


def config_file() -> Path:
    return config_dir() / "config.toml"


def prices_override_file() -> Path:
    return config_dir() / "pricing.toml"


def default_db() -> Path:
    return data_dir() / "agentops.db"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def bundled_themes_dir() -> Path | None:
    """The theme files that ship with agentops: inside the installed package (a wheel carries
    them as `agentops_tui/themes/`), else the repository's top-level `themes/` folder when
    running from a checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "themes", package.parents[1] / "themes"):
        if candidate.is_dir():
            return candidate
    return None


def log_file() -> Path:
    """Where the console commands' processes log: never the terminal, which the UI owns."""
    return data_dir() / "agentops.log"
