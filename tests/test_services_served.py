"""A service restarted under `serve_asgi`: the server stays READY and its clients connected."""

from __future__ import annotations

import http.client
import json
import signal
import time
from pathlib import Path

import pytest
from test_asgi import served

pytestmark = pytest.mark.slow


def test_a_service_restart_keeps_clients_connected_and_the_server_ready(tmp_path: Path) -> None:
    with served(tmp_path, "crashing-service") as server:
        server.wait_until("/startupz", 200)
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            client.request("GET", "/readyz")  # one connection, kept alive throughout
            assert client.getresponse().read()
            server.release()  # the pump stops: restarted, its restart= allows one
            while "phase.restarting" not in server.stdout.read_text():
                assert server.process.poll() is None, "".join(server.lines)
                time.sleep(0.01)
            client.request("GET", "/readyz")  # the same socket: never closed by the restart
            response = client.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["state"] == "ready"
            client.request("GET", "/livez")
            assert client.getresponse().status == 200
        finally:
            client.close()
        server.process.send_signal(signal.SIGTERM)
        while "boot.stopped" not in server.stdout.read_text():
            time.sleep(0.01)
        server.release()  # the thread the cancelled pump left reading stdin may end now
        assert server.process.wait(timeout=30) == 0
    assert "Traceback" not in "".join(server.lines)
