"""Unit tests of the load generator, against small servers on 127.0.0.1 (run: make test-tools)."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402

LOADGEN = Path(__file__).resolve().parent / "loadgen.py"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.connections += 1

    def send(self, status, body=b"ok\n", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's naming
        srv = self.server
        with srv.lock:
            srv.requests += 1
            srv.hosts.add(self.headers.get("Host"))
            count = srv.requests
        if self.path == "/ok":
            self.send(200, b"x" * 100)
        elif self.path == "/flaky":  # 502 while the "restart" lasts, then 200
            self.send(502 if time.monotonic() < srv.flaky_until else 200)
        elif self.path == "/slow":
            time.sleep(1.0)
            self.send(200)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        elif self.path == "/close":
            self.send(200, headers=[("Connection", "close")])
            self.close_connection = True
        elif self.path == "/drop":  # every third request: the connection closes without an answer
            if count % 3 == 0:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send(200)
        elif self.path == "/drop-first":  # a new connection closes without answering
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self.send(404)

    def do_HEAD(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "12345")  # no body follows a HEAD answer
        self.end_headers()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.hosts: set[str | None] = set()
        self.flaky_until = 0.0

    def handle_error(self, request, client_address):
        # A client that stops mid-answer (the run ended, a timeout) is part of these tests.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@pytest.fixture
def server():
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv, path):
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def run(capsys, *argv):
    code = loadgen.main([str(a) for a in argv])
    out = capsys.readouterr().out
    return code, json.loads(out)


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_keepalive_counts_and_bounds(server, capsys):
    code, r = run(capsys, url(server, "/ok"), "-c", 4, "--max-requests", 300, "--max-seconds", 10)
    assert code == 0
    assert r["stopped_by"] == "max-requests"
    assert r["requests"] == r["attempts"] == 300
    assert r["status"] == {"200": 300}
    assert r["non2xx"] == 0 and r["errors_total"] == 0
    assert server.connections == 4, "each connection is kept alive for all its requests"
    assert r["latency_ms"]["p50"] <= r["latency_ms"]["p90"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
    assert sum(s["requests"] for s in r["series"]) == 300
    assert r["requests_per_s"] > 0


def test_pause_paces_each_connection(server, capsys):
    code, r = run(capsys, url(server, "/ok"), "-c", 2, "--pause", 0.25, "--max-seconds", 1, "--max-requests", 1000)
    assert code == 0 and r["stopped_by"] == "max-seconds"
    # Two connections, one request every 0.25 s or so each: about 8 in a second, never hundreds.
    assert 2 <= r["requests"] <= 12, r["requests"]


def test_502_during_a_restart_then_200(server, capsys):
    server.flaky_until = time.monotonic() + 0.8
    code, r = run(capsys, url(server, "/flaky"), "-c", 3, "--max-seconds", 2.5, "--max-requests", 100000,
                  "--fail-on-error")
    assert code == 1, "--fail-on-error fails a run with non-2xx answers"
    assert r["stopped_by"] == "max-seconds"
    assert r["status"]["502"] > 0 and r["status"]["200"] > 0
    assert r["non2xx"] == r["status"]["502"]
    assert r["errors_total"] == 0
    series = r["series"]
    assert [s["second"] for s in series] == list(range(len(series)))
    assert series[0]["non2xx"] > 0, "the 502s fall in the first second"
    assert series[-1]["non2xx"] == 0 and series[-1]["requests"] > 0
    assert all(s["p99_ms"] is not None for s in series)
    assert 2.4 <= r["duration_s"] < 4


def test_closed_port_counts_connect_errors_and_stops_in_time(capsys):
    started = time.monotonic()
    code, r = run(capsys, f"http://127.0.0.1:{closed_port()}/", "-c", 5, "--max-seconds", 1)
    assert time.monotonic() - started < 3
    assert code == 0
    assert r["requests"] == 0 and r["status"] == {}
    assert r["errors"]["connect"] > 0
    assert r["errors"]["connect"] == r["errors_total"]
    assert r["latency_ms"]["p50"] is None


def test_max_requests_bounds_errors_too(capsys):
    code, r = run(capsys, f"http://127.0.0.1:{closed_port()}/", "-c", 5, "--max-seconds", 20,
                  "--max-requests", 50, "--reconnect-delay", 0)
    assert r["stopped_by"] == "max-requests"
    assert r["errors"]["connect"] == 50


def test_stop_file_ends_the_run_early(server, capsys, tmp_path):
    stop = tmp_path / "stop"
    threading.Timer(0.5, stop.touch).start()
    started = time.monotonic()
    code, r = run(capsys, url(server, "/ok"), "-c", 2, "--max-seconds", 20, "--stop-file", stop)
    assert time.monotonic() - started < 3
    assert r["stopped_by"] == "stop-file"
    assert r["requests"] > 0


def test_timeout_is_counted_and_the_run_carries_on(server, capsys):
    code, r = run(capsys, url(server, "/slow"), "-c", 2, "--timeout", 0.3, "--max-seconds", 1.5)
    assert r["errors"]["timeout"] >= 2
    assert r["reconnects"] >= 2, "a timed-out connection is replaced"
    assert r["requests"] == 0


def test_dropped_connections_are_read_errors_and_reconnected(server, capsys):
    code, r = run(capsys, url(server, "/drop"), "-c", 1, "--max-requests", 30, "--no-retry-stale")
    assert r["attempts"] == 30
    assert r["errors"]["read"] == 10
    assert r["status"] == {"200": 20}
    # The 30th attempt is the 10th drop: the run ends there, with no reconnect after it.
    assert r["reconnects"] == 9 and r["stale_retries"] == 0
    assert server.connections == 10


def test_a_kept_alive_connection_closed_by_the_server_is_retried_once(server, capsys):
    # What nginx does to idle keep-alive connections on reload: the next request gets no answer.
    code, r = run(capsys, url(server, "/drop"), "-c", 1, "--max-requests", 30)
    assert r["errors_total"] == 0
    assert r["status"] == {"200": 30}
    assert r["stale_retries"] > 0
    assert server.requests == 30 + r["stale_retries"]


def test_a_new_connection_without_an_answer_is_an_error(server, capsys):
    code, r = run(capsys, url(server, "/drop-first"), "-c", 2, "--max-requests", 10)
    assert r["errors"]["read"] == 10 and r["requests"] == 0
    assert r["stale_retries"] == 0, "only reused connections are retried"


def test_connection_close_chunked_head_and_host_header(server, capsys):
    _, r = run(capsys, url(server, "/close"), "-c", 2, "--max-requests", 20)
    assert r["status"] == {"200": 20} and r["errors_total"] == 0
    assert server.connections == 20, "Connection: close is honoured"
    _, r = run(capsys, url(server, "/chunked"), "-c", 2, "--max-requests", 20, "--host", "web1")
    assert r["status"] == {"200": 20} and r["errors_total"] == 0
    _, r = run(capsys, url(server, "/"), "--method", "HEAD", "-c", 1, "--max-requests", 5)
    assert r["status"] == {"200": 5} and r["errors_total"] == 0
    assert "web1" in server.hosts
    assert f"127.0.0.1:{server.server_address[1]}" in server.hosts


def test_refuses_targets_off_this_machine(capsys):
    # Refused at resolution, before any connection (8.8.8.8 is never contacted).
    assert loadgen.main(["http://8.8.8.8/"]) == 2
    assert "neither loopback nor a private" in capsys.readouterr().err
    assert loadgen.main(["ftp://127.0.0.1/"]) == 2
    assert loadgen.main(["http://127.0.0.1/", "--cafile", "x.pem"]) == 2
    with pytest.raises(SystemExit):
        loadgen.main(["http://127.0.0.1/", "--max-seconds", "0"])


def test_percentile_nearest_rank():
    values = sorted(range(1, 101))
    assert loadgen.percentile(values, 50) == 50
    assert loadgen.percentile(values, 99) == 99
    assert loadgen.percentile([7.0], 99) == 7.0
    assert loadgen.percentile([], 50) is None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_with_cafile_and_sni(tmp_path, capsys):
    import ssl

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=web1", "-addext", "subjectAltName=DNS:web1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    srv = Server()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        base = f"https://127.0.0.1:{srv.server_address[1]}/ok"
        code, r = run(capsys, base, "--cafile", cert, "--sni", "web1", "--host", "web1",
                      "-c", 2, "--max-requests", 20)
        assert r["status"] == {"200": 20} and r["errors_total"] == 0
        # Without the right name the certificate does not verify: a connect (TLS) error.
        code, r = run(capsys, base, "--cafile", cert, "-c", 1, "--max-requests", 3, "--reconnect-delay", 0)
        assert r["errors"]["connect"] == 3 and r["requests"] == 0
    finally:
        srv.shutdown()
        srv.server_close()


def test_command_line_prints_one_json_report(server):
    out = subprocess.run([sys.executable, str(LOADGEN), url(server, "/ok"), "-c", "2", "--max-requests", "10"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    report = json.loads(out)
    assert report["requests"] == 10
    assert set(report) >= {"status", "non2xx", "errors", "requests_per_s", "latency_ms", "series"}
