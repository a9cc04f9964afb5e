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


def start_example_server(server, configs):
    """Starts `mlmon-example-server --port 0` hosting `configs`; returns the
    process, the number of model versions it serves and its port."""
    import re
    import subprocess
    args = [server, "--port", "0"]
    for c in configs:
        args += ["--config", c]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"serving (\d+) model version\(s\) on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill()
        _, err = p.communicate()
        raise RuntimeError(f"server did not start: {line!r} {err[-2000:]}")
    return p, int(m.group(1)), int(m.group(2))


def post(port, path, body, content_type="application/json"):
    """POSTs `body` to 127.0.0.1:`port``path`; returns (status, body), an
    HTTP error status included."""
    import urllib.error
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body.encode(),
                                 method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(port):
    """The text of GET /metrics on 127.0.0.1:`port`."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()
