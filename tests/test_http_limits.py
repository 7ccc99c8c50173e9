"""Hostile HTTP: oversized and stalled bodies, slow heads, idle connections, wrong methods —
over raw sockets to a real server, since the point is what the server reads and when."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import LiveServer, start_server
from waiting import wait_for

TIMEOUT = 1.0  # the server's head, body and idle timeouts in these tests


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[LiveServer]:
    srv = start_server(
        tmp_path / "agentops.db", header_timeout_seconds=TIMEOUT,
        body_timeout_seconds=TIMEOUT, idle_timeout_seconds=int(TIMEOUT),
    )
    try:
        yield srv
    finally:
        srv.server.stop()


def connect(srv: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", srv.server.port))
    sock.settimeout(10)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # closed with part of our request unread: a reset instead of a FIN
    return received


def read_response(sock: socket.socket) -> bytes:
    """One whole response (our responses carry Content-Length), leaving the socket open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    start, _, body = received.partition(b"\r\n\r\n")
    length = int(start.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return start + b"\r\n\r\n" + body


def head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *headers, "", ""]
    return "\r\n".join(lines).encode()


def status_and_body(response: bytes) -> tuple[int, bytes]:
    start, _, body = response.partition(b"\r\n\r\n")
    return int(start.split(b" ", 2)[1]), body


def test_a_declared_oversize_body_is_refused_before_auth_without_reading_it(
    strict: LiveServer,
) -> None:
    with connect(strict) as sock:
        began = time.monotonic()
        # of the 300 MB announced, only 4 KiB ever come: a server that waited for the body
        # would answer 408 after its 1 s body timeout (or 401 after reading 300 MB)
        sock.sendall(head("POST", "/api/v1/work-queues", "Content-Type: application/json",
                          "Content-Length: 300000000", "Expect: 100-continue") + b"x" * 4096)
        response = read_until_closed(sock)
        elapsed = time.monotonic() - began
    status, body = status_and_body(response)
    assert status == 413  # and no "100 Continue" first
    assert b"connection: close" in response.lower()
    assert httpx.Response(413, content=body).json()["error"]["code"] == "too_large"
    assert elapsed < TIMEOUT  # answered at once


def test_a_chunked_oversize_body_is_refused_once_past_the_cap(strict: LiveServer) -> None:
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024)
    with connect(strict) as sock:
        sock.sendall(head("POST", "/api/v1/work-queues", f"Authorization: Bearer {strict.token}",
                          "Transfer-Encoding: chunked"))
        sock.sendall(chunk * 17)  # 1 MiB + 64 KiB, and no terminating chunk
        status, body = status_and_body(read_until_closed(sock))
    assert status == 413
    assert "1048576" in httpx.Response(413, content=body).json()["error"]["message"]
    with strict.client() as c:  # the route never saw the partial body
        assert c.get("/api/v1/work-queues").json()["queues"] == []


def test_an_authenticated_route_refuses_an_oversize_body(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/v1/work-queues", json={"name": "q", "description": "d" * 2_000_000})
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "too_large"
        assert c.get("/api/v1/work-queues").json()["queues"] == []


def test_traces_take_their_documented_4_mib(live: LiveServer) -> None:
    padded = b'{"resourceSpans": []}' + b" " * 3_000_000
    with live.client() as c:
        r = c.post("/v1/traces", content=padded, headers={"Content-Type": "application/json"})
        assert r.status_code == 200
        r = c.post("/v1/traces", content=padded + b" " * 1_300_000,
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413


def test_a_stalled_body_gets_408_and_the_connection_closed(strict: LiveServer) -> None:
    with connect(strict) as sock:
        sock.sendall(head("POST", "/api/v1/ingest", "Content-Length: 100") + b'{"events":')
        began = time.monotonic()
        status, body = status_and_body(read_until_closed(sock))
        elapsed = time.monotonic() - began
    assert status == 408
    assert httpx.Response(408, content=body).json()["error"]["code"] == "request_timeout"
    assert TIMEOUT * 0.9 < elapsed < TIMEOUT * 3


def test_a_body_dribbled_in_gets_408_when_its_total_time_is_up(strict: LiveServer) -> None:
    with connect(strict) as sock:
        sock.sendall(head("POST", "/api/v1/work-queues", "Content-Length: 1000"))
        began = time.monotonic()
        answered = False
        sock.settimeout(0.4)
        while not answered and time.monotonic() - began < TIMEOUT * 5:
            try:
                sock.sendall(b" ")  # each byte well within the timeout of the last
                answered = sock.recv(1, socket.MSG_PEEK) != b""
            except TimeoutError:
                continue
            except OSError:
                break
        elapsed = time.monotonic() - began
        sock.settimeout(10)
        status, body = status_and_body(read_until_closed(sock))
    assert status == 408, (status, body)
    assert httpx.Response(408, content=body).json()["error"]["code"] == "request_timeout"
    assert TIMEOUT * 0.9 < elapsed < TIMEOUT * 2


def test_a_head_sent_byte_by_byte_is_cut_off(strict: LiveServer) -> None:
    request = head("GET", "/healthz")
    with connect(strict) as sock:
        began = time.monotonic()
        closed = False
        for byte in request[:-1]:  # never complete: a slowloris
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - began > TIMEOUT * 3:
                break
        if not closed:
            sock.settimeout(TIMEOUT)
            closed = sock.recv(1) == b""
        elapsed = time.monotonic() - began
    assert closed
    assert elapsed < TIMEOUT * 3


def test_silent_and_idle_connections_are_closed(strict: LiveServer) -> None:
    with connect(strict) as sock:  # connects, never says a word
        began = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - began < TIMEOUT * 3
    with connect(strict) as sock:  # one request, then idle on a keep-alive connection
        sock.sendall(head("GET", "/healthz"))
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - began < TIMEOUT * 3


def test_an_abandoned_body_logs_no_traceback(
    strict: LiveServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    for path in ("/api/v1/ingest", "/api/v1/work-queues"):
        with connect(strict) as sock:
            sock.sendall(head("POST", path, f"Authorization: Bearer {strict.token}",
                              "Content-Type: application/json", "Content-Length: 1000"))
            sock.sendall(b'{"events": [' + b" " * 400)
            time.sleep(0.2)  # let the route start reading
    time.sleep(0.5)  # deliberate: time for the abandoned reads to fail, and be logged
    with strict.client() as c:  # the server is fine afterwards
        assert c.get("/api/v1/work-queues").status_code == 200
    logged = caplog.text + capfd.readouterr().err
    assert "Traceback" not in logged


def test_an_undeclared_method_gets_405_with_allow(live: LiveServer) -> None:
    with live.client() as c:
        r = c.delete("/api/v1/costs")
        assert r.status_code == 405 and r.headers["allow"] == "GET"
        assert r.json()["error"]["code"] == "method_not_allowed"
        # GET and POST are declared separately on this path; Allow names both
        r = c.put("/api/v1/work-queues", json={})
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
        assert "PUT" in r.json()["error"]["message"]


def test_an_encoded_slash_in_an_id_is_a_404_naming_it(live: LiveServer) -> None:
    with live.client() as c:
        for path, named in (("/api/v1/agents/%2F", "/"), ("/api/v1/agents/a%2Fb", "a/b"),
                            ("/api/v1/sessions/se%2f1/messages", "se/1")):
            r = c.get(path)
            assert r.status_code == 404, (path, r.status_code, r.headers.get("location"))
            assert "location" not in r.headers
            assert r.json()["error"]["code"] == "not_found"
            assert repr(named) in r.json()["error"]["message"]
            assert r.json()["error"]["details"] == {"id": named}
        assert c.get("/api/v1/agents/a%20b").json()["error"]["message"] == "no agent 'a b'"


def test_head_answers_like_get_without_a_body(live: LiveServer) -> None:
    with live.client() as c:
        for path in ("/healthz", "/api/v1/agents", "/metrics", "/api/v1/snapshot"):
            got, headed = c.get(path), c.head(path)
            assert headed.status_code == got.status_code == 200, path
            assert headed.content == b""
            assert headed.headers["content-type"] == got.headers["content-type"]
            assert int(headed.headers["content-length"]) > 0
            if path in ("/healthz", "/api/v1/agents"):  # the others carry the time, figures
                assert headed.headers["content-length"] == got.headers["content-length"]
        stream = c.head("/api/v1/stream")  # the stream's headers, and its slot given back
        assert stream.status_code == 200 and stream.content == b""
        assert stream.headers["content-type"].startswith("text/event-stream")
        wait_for(lambda: live.open_streams() == 0, what="the stream slot to be given back")
        assert c.head("/api/v1/agents/nobody").status_code == 404
        posted_only = c.head("/api/v1/ingest")
        assert posted_only.status_code == 405 and posted_only.headers["allow"] == "POST"
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.head("/api/v1/agents").status_code == 401
        assert anonymous.head("/healthz").status_code == 200
