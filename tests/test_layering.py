"""DESIGN.md layering: only tui/ imports textual; tui/ reaches the backend only via client/."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import agentops_tui

PACKAGE = Path(agentops_tui.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(sub: str | None = None) -> list[Path]:
    root = PACKAGE / sub if sub else PACKAGE
    return sorted(root.rglob("*.py"))


def test_only_tui_imports_textual() -> None:
    # the text check also catches code kept in strings and run in a child process
    textual_line = re.compile(r"^\s*(from|import)\s+textual\b", re.MULTILINE)
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in _modules()
        if "tui" not in p.relative_to(PACKAGE).parts[:1]
        and (any(n == "textual" or n.startswith("textual.") for n in _imports(p))
             or textual_line.search(p.read_text(encoding="utf-8")))
    ]
    assert offenders == []


def test_tui_reaches_backend_only_through_client() -> None:
    forbidden = ("agentops_tui.server", "agentops_tui.sdk", "agentops_tui.simulator")
    offenders = [
        f"{p.relative_to(PACKAGE)} imports {n}"
        for p in _modules("tui")
        for n in _imports(p)
        if n.startswith(forbidden)
    ]
    assert offenders == []


def test_screens_and_widgets_do_not_import_the_app() -> None:
    # they see the app through tui.base's Console and ask it to navigate with messages
    def imports_app(path: Path) -> bool:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(
                    a.name == "agentops_tui.tui.app" for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and (
                    node.module == "agentops_tui.tui.app"
                    or (node.module == "agentops_tui.tui"
                        and any(a.name == "app" for a in node.names))):
                return True
        return False

    offenders = [str(p.relative_to(PACKAGE))
                 for sub in ("tui/screens", "tui/widgets") for p in _modules(sub)
                 if imports_app(p)]
    assert offenders == [], f"import the app (use tui.base instead): {offenders}"


def test_backend_modules_load_without_textual() -> None:
    code = (
        "import sys\n"
        "import agentops_tui.models, agentops_tui.core.fleet, agentops_tui.server.app\n"
        "import agentops_tui.cli\n"
        "import pkgutil, importlib\n"
        "for sub in ('client', 'sdk', 'simulator'):\n"
        "    pkg = importlib.import_module('agentops_tui.' + sub)\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "assert 'textual' not in sys.modules, sorted(m for m in sys.modules if 'textual' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_integrations_stay_out_of_the_server_and_the_console() -> None:
    forbidden = ("agentops_tui.server", "agentops_tui.tui", "textual")
    offenders = [
        f"{p.relative_to(PACKAGE)} imports {n}"
        for p in _modules("integrations")
        for n in _imports(p)
        if n.startswith(forbidden)
    ]
    assert offenders == []


def test_import_contracts_hold() -> None:
    """The contracts in pyproject.toml: client/core/models never import the server, the
    console only the client, and the server's folders follow the data flow (a module may
    import only from the layers below its own)."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports;"
         " sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))"],
        cwd=root, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_routes_hold_no_sql() -> None:
    """Routes read through `Store.read` with functions of the module that owns the data, and
    write through writer jobs: no SQL and no driver in server/routes, so a second backend
    never has to look there."""
    sql = re.compile(r"execute\(|SELECT |INSERT |UPDATE .* SET |DELETE FROM |sqlite3")
    offenders = [
        f"{p.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for p in _modules("server/routes")
        for number, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if sql.search(line)
    ]
    assert offenders == []


def test_only_the_store_speaks_to_the_database_drivers() -> None:
    """DESIGN.md's store seam: every other module works with `store.connection.Connection`,
    so a backend needs no change outside server/store/ (sqlite3 and psycopg stay there)."""
    drivers = ("sqlite3", "psycopg")
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in _modules()
        if p.relative_to(PACKAGE).parts[:2] != ("server", "store")
        and any(n.split(".")[0] in drivers for n in _imports(p))
    ]
    assert offenders == []
