"""MONGOD_STANDIN_READY_DELAY: start, log preallocation, refuse connections, then serve."""

import signal
import socket
import time


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return False
    except ConnectionRefusedError:
        return True


def test_connections_refused_during_delay_then_served(standin_factory):
    standin = standin_factory(env={"MONGOD_STANDIN_READY_DELAY": "4"}, start=False)
    started = time.monotonic()
    standin.start(wait=False)
    time.sleep(1.0)
    while time.monotonic() - started < 3.2:
        assert standin.proc.poll() is None
        assert _refused(standin.port)
        time.sleep(0.2)
    assert "Preallocating journal files" in standin.read_log()
    assert "Waiting for connections" not in standin.read_log()
    standin.wait_ready()
    assert time.monotonic() - started >= 4.0
    with standin.client() as client:
        assert client.admin.command("ping")["ok"] == 1.0
    log = standin.read_log()
    assert log.index("Preallocating journal files") < log.index("Waiting for connections")


def test_sigterm_during_delay_exits_cleanly(standin_factory):
    standin = standin_factory(env={"MONGOD_STANDIN_READY_DELAY": "60"}, start=False)
    standin.start(wait=False)
    deadline = time.monotonic() + 20
    while "Preallocating" not in standin.read_log() and time.monotonic() < deadline:
        time.sleep(0.1)
    standin.proc.send_signal(signal.SIGTERM)
    assert standin.proc.wait(20) == 0
    assert _refused(standin.port)


def test_invalid_delay_refused(standin_factory):
    standin = standin_factory(env={"MONGOD_STANDIN_READY_DELAY": "soon"}, start=False)
    standin.start(wait=False)
    assert standin.proc.wait(20) == 2
