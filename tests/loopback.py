"""Helpers for the Python tests that start servers (Prometheus, the
Pushgateway) on free loopback ports. Imported from the tests' own directory."""
import json
import socket
import subprocess
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


def post_with_headers(port, path, body, content_type="application/json", timeout=10):
    """Like `post`, but returns (status, headers, body); `headers` is the
    response's email.message.Message (case-insensitive get)."""
    import urllib.error
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body.encode(),
                                 method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def redis_ping(port, timeout=1.0):
    """True if a Redis server on 127.0.0.1:`port` answers PING with PONG."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(port, timeout=10, server="redis-server"):
    """Starts Debian's `redis-server` on 127.0.0.1:`port` without persistence
    (no RDB snapshots, no AOF: a killed server comes back empty) and waits
    until it answers PING. Returns the process; raises RuntimeError (after
    killing it) if it exits or does not answer within `timeout` seconds, e.g.
    because the port was taken."""
    import subprocess
    import tempfile
    # Without persistence Redis writes no file: its directory is only its cwd.
    work = tempfile.gettempdir()
    p = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", work,
                          "--daemonize", "no", "--loglevel", "warning"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        if redis_ping(port):
            return p
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
    out, _ = p.communicate()
    raise RuntimeError(f"redis-server did not start on port {port}: {out[-2000:]}")


def redis_command(port, *args, timeout=5.0):
    """Sends one command to the Redis server on 127.0.0.1:`port` and returns
    its reply: an int, bytes, None (nil), a list, or RuntimeError's text for
    an error reply."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(out)
        f = s.makefile("rb")

        def reply():
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"+":
                return rest
            if kind == b"-":
                raise RuntimeError(rest.decode())
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:n]
            if kind == b"*":
                n = int(rest)
                return None if n < 0 else [reply() for _ in range(n)]
            raise RuntimeError(f"unexpected Redis reply {line!r}")
        return reply()


def get_json(url, timeout=5):
    """The JSON document at `url` (a GET)."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def stop_processes(procs, timeout=20):
    """SIGTERM to each of `procs` still running, then waits for each, killing
    one that has not exited within `timeout` seconds."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
