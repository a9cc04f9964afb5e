"""Helpers for the Python tests that start servers (Prometheus, the
Pushgateway) on free loopback ports. Imported from the tests' own directory."""
import socket
import time
import urllib.request


def free_port():
    """A port free on 127.0.0.1 now (another process may take it before use:
    callers retry on a failed start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, timeout):
    """Polls `url` until it answers 200 (True), or until `proc` exits or
    `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False
