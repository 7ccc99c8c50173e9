"""`agentops web`: the console in a real headless Chromium, its access token, its refusals."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentops_tui.cli import main

from conftest import CommandProcess, LiveServer
from waiting import wait_for

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ACCESS_TOKEN = "open-sesame-for-the-browser"

# Run before the page's own scripts: textual-serve keeps its xterm.js terminal in a closure,
# so catch the object that owns it as it sets `fitAddon` (right after `terminal`), and read
# the screen from xterm's buffer whichever renderer (WebGL, canvas) draws it.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, 'fitAddon', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'fitAddon', {value, writable: true, configurable: true});
    if (this.terminal && !window.agentopsTerminal) window.agentopsTerminal = this.terminal;
  },
});
"""
SCREEN_TEXT = """
const term = window.agentopsTerminal;
if (!term) return '';
const buffer = term.buffer.active;
const lines = [];
for (let row = 0; row < term.rows; row++) {
  const line = buffer.getLine(buffer.viewportY + row);
  lines.push(line ? line.translateToString(true) : '');
}
return lines.join('\\n');
"""


class WebProcess(CommandProcess):
    """`agentops web` as an operator runs it, on a free port it reports once listening."""

    listening = r"the console on http://127\.0\.0\.1:(\d+)"
    stop_seconds = 30.0

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.backend_token = ""
        super().__init__("web", *args, env=env)


def descendants_argv(pid: int) -> list[list[str]]:
    return [argv for _, argv in descendants(pid)]


def descendants(pid: int) -> list[tuple[int, list[str]]]:
    """A process's children, theirs, and so on, with their command lines (Linux /proc)."""
    found: list[tuple[int, list[str]]] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            found.append((child, [part.decode(errors="replace") for part in argv if part]))
            pending.append(child)
    return found


@pytest.fixture
def web(live: LiveServer) -> Iterator[WebProcess]:
    """`agentops web` in front of a real backend, its tokens given through the environment."""
    backend_token = live.token_for("operator")
    env = dict(os.environ, AGENTOPS_TOKEN=backend_token, AGENTOPS_WEB_TOKEN=ACCESS_TOKEN)
    process = WebProcess("--url", live.url, env=env)
    process.backend_token = backend_token
    try:
        yield process
    finally:
        log = process.stop()
        assert process.proc.returncode == 0, log


def test_web_refuses_a_non_loopback_address_without_an_access_token(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["web", "--host", "0.0.0.0", "--url", "http://127.0.0.1:8787"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without an access token" in err
    assert "--access-token" in err


def test_web_needs_a_backend_or_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["web"]) == 2
    assert "give --url" in capsys.readouterr().err
    assert main(["web", "--url", "ftp://example.invalid"]) == 2
    assert "--url must start with http:// or https://" in capsys.readouterr().err


def test_web_says_when_its_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert main(["web", "--port", str(busy), "--url", "http://127.0.0.1:8787"]) == 2
    assert f"cannot listen on 127.0.0.1:{busy}" in capsys.readouterr().err


def test_web_pages_need_the_access_token_once(web: WebProcess) -> None:
    with httpx.Client(base_url=web.url, trust_env=False, timeout=10) as client:
        for path in ("/", "/ws", "/static/js/textual.js", "/?token=wrong"):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert "Access token needed" in refused.text
            assert "agentops_web_access" not in refused.headers.get("set-cookie", "")
        let_in = client.get(f"/?token={ACCESS_TOKEN}&fontsize=14")
        assert let_in.status_code == 303
        assert let_in.headers["location"] == "/?fontsize=14"  # the token leaves the address
        cookie = let_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert ACCESS_TOKEN not in cookie
        page = client.get("/?fontsize=14")  # the cookie, from now on
        assert page.status_code == 200
        assert 'class="textual-terminal"' in page.text
        assert f"ws://127.0.0.1:{web.url.rsplit(':', 1)[1]}/ws" in page.text
        assert client.get("/static/js/textual.js").status_code == 200
        # behind a TLS proxy: the websocket and the cookie follow the proxy's scheme
        proxied = {"X-Forwarded-Proto": "https", "Host": "ops.example"}
        assert "wss://ops.example/ws" in client.get("/", headers=proxied).text
        client.cookies.clear()
        secure = client.get(f"/?token={ACCESS_TOKEN}", headers=proxied)
        assert "Secure" in secure.headers["set-cookie"]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                    reason="needs chromium and chromedriver (apt-get install chromium "
                           "chromium-driver)")
def test_the_console_runs_and_answers_keys_in_headless_chromium(
        web: WebProcess, live: LiveServer, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--no-proxy-server", "--window-size=1400,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                               {"source": CATCH_TERMINAL})
        driver.get(f"{web.url}/?token={ACCESS_TOKEN}")

        def screen() -> str:
            text: str = driver.execute_script(SCREEN_TEXT)
            return text

        def header() -> str:
            return screen().split("\n", 1)[0]

        # the header's last word names the screen shown
        wait_for(lambda: header().split()[-1:] == ["fleet"], 60,
                 what="the console's Fleet screen in the browser")
        fleet = screen()
        assert "agentops" in header() and "Agents" in fleet
        driver.save_screenshot(str(tmp_path / "fleet.png"))
        (tmp_path / "fleet.txt").write_text(fleet, encoding="utf-8")
        driver.find_element("css selector", ".xterm-helper-textarea").send_keys("2")
        wait_for(lambda: header().split()[-1:] == ["tree"], 30,
                 what="the Tree screen after pressing 2")
        tree = screen()
        driver.save_screenshot(str(tmp_path / "tree.png"))
        (tmp_path / "tree.txt").write_text(tree, encoding="utf-8")
        assert (tmp_path / "tree.png").stat().st_size > 0
        consoles = [argv for argv in descendants_argv(web.proc.pid) if "tui" in argv]
        assert consoles, "no console process under agentops web"
        for argv in consoles:  # the tokens went through the environment
            assert web.backend_token not in " ".join(argv)
            assert ACCESS_TOKEN not in " ".join(argv)
        console_pids = [pid for pid, argv in descendants(web.proc.pid) if "tui" in argv]
        log = web.stop()  # as ctrl+c does, with the tab still open
        assert web.proc.returncode == 0, log
        for pid in console_pids:  # each tab's console went with it
            wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 30,
                     what=f"console process {pid} to end")
    finally:
        driver.quit()


@pytest.mark.slow
def test_web_demo_shares_one_demo_backend_and_removes_it_on_exit(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))  # where the demo's throwaway database goes
    process = WebProcess("--demo", env=env)
    try:
        assert len(list(tmp_path.glob("agentops-demo-*"))) == 1
        backends = [argv for argv in descendants_argv(process.proc.pid)
                    if "agentops_tui.demo_backend" in argv]
        assert len(backends) == 1
        with httpx.Client(base_url=process.url, trust_env=False, timeout=10) as client:
            page = client.get("/")  # loopback without an access token: open
        assert page.status_code == 200 and 'class="textual-terminal"' in page.text
    finally:
        log = process.stop()
    assert process.proc.returncode == 0, log
    assert not list(tmp_path.glob("agentops-demo-*"))
