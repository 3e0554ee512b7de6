"""What the inspector's end-to-end tests share: the broker binary started
with an HTTP port (alone or in a cluster with a one-node etcd), the CLI,
headless Chromium through chromedriver (the W3C WebDriver protocol spoken
with urllib), bounded waits and process clean-up (Python 3 standard library
only)."""

import base64
import json
import os
import pathlib
import sys
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

WAIT_S = 30


class TestFailure(Exception):
    """A check of the test failed (exit status 1)."""


def log(msg):
    print(f"[{os.path.basename(sys.argv[0])}] {msg}", flush=True)


def eventually(what, probe, timeout=WAIT_S, interval=0.25):
    """Calls probe() until it returns (True, observed); fails after timeout
    with what and the last observed value."""
    deadline = time.monotonic() + timeout
    observed = None
    while True:
        done, observed = probe()
        if done:
            return observed
        if time.monotonic() >= deadline:
            raise TestFailure(f"after {timeout} s: {what}; last seen: {observed!r}")
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop_process(proc, name, grace_s=15):
    """SIGTERM to the process group proc leads (started with
    start_new_session), SIGKILL after grace_s; then SIGKILL to what is left
    of the group (a browser chromedriver started)."""
    if proc is None:
        return
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            log(f"{name} ignored SIGTERM for {grace_s} s: SIGKILL")
            signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=grace_s)
    signal_group(proc, signal.SIGKILL)


# ---- the broker and the CLI ----

class Broker:
    """actormq-broker with an HTTP port; its output goes to log_path.
    extra_args are appended to the command line (--config FILE, the cluster
    options of Etcd.broker_args); name is how the logs call it."""

    def __init__(self, binary, data_dir, log_path, extra_args=None, name="broker"):
        self.log_path = log_path
        self.name = name
        self.proc = subprocess.Popen(
            [binary, "--data-dir", str(data_dir), "--listen", "127.0.0.1:0",
             "--http", "127.0.0.1:0"] + [str(a) for a in (extra_args or [])],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, start_new_session=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.rpc = None
        self.http = None

    def _read(self):
        with open(self.log_path, "w", encoding="utf-8") as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_listening(self, timeout=WAIT_S):
        """Reads `http listening on HOST:PORT` and `listening on HOST:PORT`
        (a cluster broker prints them once it has joined)."""
        deadline = time.monotonic() + timeout
        while self.rpc is None or self.http is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"{self.name} printed no listening lines within {timeout} s "
                                  f"(see {self.log_path})")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise TestFailure(f"{self.name} exited with status {self.proc.wait()} before "
                                  f"listening (see {self.log_path})")
            if line.startswith("http listening on "):
                self.http = line[len("http listening on "):].strip()
            elif line.startswith("listening on "):
                self.rpc = line[len("listening on "):].strip()
        log(f"{self.name}: RPC {self.rpc}, HTTP {self.http}")

    def get(self, path):
        """(status, content type, body) of GET http://HTTP/path."""
        req = urllib.request.Request(f"http://{self.http}{path}")
        try:
            with urllib.request.urlopen(req, timeout=WAIT_S) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")

    def cluster(self):
        status, _, body = self.get("/api/cluster")
        if status != 200:
            raise TestFailure(f"/api/cluster answered {status}: {body[:300]}")
        return json.loads(body)

    def kill(self):
        """SIGKILL, as a crash: no clean shutdown."""
        signal_group(self.proc, signal.SIGKILL)
        try:
            self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired as e:
            raise TestFailure(f"{self.name} (pid {self.proc.pid}) outlived SIGKILL "
                              f"for {WAIT_S} s") from e
        log(f"{self.name} killed (SIGKILL)")

    def stop(self):
        stop_process(self.proc, self.name)


def run_cli(cli, broker, args, stdin_text=None, timeout=WAIT_S):
    """Runs `actormq --broker RPC ARGS` (broker: a Broker, or an address or
    bootstrap list); returns its stdout, fails on a non-zero exit or after
    timeout seconds."""
    address = broker if isinstance(broker, str) else broker.rpc
    cmd = [cli, "--broker", address] + args
    try:
        r = subprocess.run(cmd, input=stdin_text if stdin_text is not None else "",
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"`actormq {' '.join(args)}` did not finish within {timeout} s") from e
    if r.returncode != 0:
        raise TestFailure(f"`actormq {' '.join(args)}` exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


# ---- etcd, for a cluster ----

ETCD = "/usr/bin/etcd"


class Etcd:
    """A one-node etcd on free loopback ports with its data in data_dir (as
    scripts/cluster.sh starts it); its output goes to log_path."""

    def __init__(self, data_dir, log_path, binary=ETCD):
        client, peer = free_port(), free_port()
        self.url = f"http://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        self.log_file = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [binary, "--name", "actormq-etcd", "--data-dir", str(data_dir),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
             "--initial-cluster", f"actormq-etcd={peer_url}", "--log-level", "warn"],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_healthy(self):
        def probe():
            if self.proc.poll() is not None:
                raise TestFailure(f"etcd exited with status {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as r:
                    body = r.read().decode("utf-8", "replace")
                    return '"health":"true"' in body, body
            except OSError as e:
                return False, str(e)
        eventually(f"etcd at {self.url} reports healthy", probe)
        log(f"etcd at {self.url}")

    def broker_args(self, cluster_id, broker_id):
        """What joins a broker to the cluster of this etcd."""
        return ["--cluster-id", cluster_id, "--broker-id", str(broker_id), "--etcd", self.url,
                "--cluster-listen", "127.0.0.1:0"]

    def stop(self):
        try:
            stop_process(self.proc, "etcd")
        finally:
            self.log_file.close()


# ---- the browser ----

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


class WebDriver:
    """A chromedriver process and one headless Chromium session."""

    def __init__(self, work_dir, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = None
        self.log_file = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([CHROMEDRIVER, f"--port={self.port}"],
                                     stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._start_session(work_dir)
        except BaseException:
            self.quit()
            raise

    def _start_session(self, work_dir):
        eventually("chromedriver answers /status", self._ready)
        profile = pathlib.Path(work_dir) / "chromium-profile"
        profile.mkdir()
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                         "--window-size=1600,1800", "--no-first-run",
                         "--disable-extensions", "--disable-background-networking"],
            },
            "timeouts": {"script": WAIT_S * 1000, "pageLoad": WAIT_S * 1000, "implicit": 0},
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def _ready(self):
        if self.proc.poll() is not None:
            raise TestFailure(f"chromedriver exited with status {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"{self.base}/status", timeout=5) as r:
                value = json.load(r)["value"]
                return bool(value.get("ready")), value
        except (OSError, ValueError) as e:
            return False, str(e)

    def call(self, method, path, body=None):
        data = None
        if method == "POST":
            data = json.dumps(body if body is not None else {}).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=WAIT_S) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            try:
                v = json.load(e)["value"]
                why = f"{v.get('error')}: {v.get('message', '').splitlines()[0]}"
            except (ValueError, KeyError, IndexError):
                why = f"HTTP {e.code}"
            raise TestFailure(f"webdriver {method} {path}: {why}") from e
        except OSError as e:
            raise TestFailure(f"webdriver {method} {path}: {e}") from e

    def open(self, url):
        self.call("POST", f"/session/{self.session}/url", {"url": url})

    def script(self, body, *args):
        """Runs a JavaScript function body in the page; returns its value."""
        return self.call("POST", f"/session/{self.session}/execute/sync",
                         {"script": body, "args": list(args)})

    def screenshot(self, path):
        png = base64.b64decode(self.call("GET", f"/session/{self.session}/screenshot"))
        pathlib.Path(path).write_bytes(png)
        log(f"screenshot {path}")

    def script_errors(self):
        """The page's script errors logged since the last call (chromedriver's
        log extension; none where it is not offered)."""
        try:
            entries = self.call("POST", f"/session/{self.session}/se/log", {"type": "browser"})
        except TestFailure as e:
            log(f"no browser log: {e}")
            return []
        return [e.get("message", "") for e in entries
                if e.get("level") == "SEVERE" and e.get("source") != "network"]

    def quit(self):
        try:
            if self.session is not None:
                self.call("DELETE", f"/session/{self.session}")
        except TestFailure as e:
            log(f"closing the browser session: {e}")
        finally:
            self.session = None
            stop_process(self.proc, "chromedriver", grace_s=10)
            self.log_file.close()


def use_lsan_suppressions():
    """The sanitizer build's binaries: third-party leaks are suppressed as in
    scripts/test.sh, unless the caller chose otherwise."""
    supp = pathlib.Path(__file__).resolve().parent.parent / "lsan.supp"
    if "LSAN_OPTIONS" not in os.environ and supp.exists():
        os.environ["LSAN_OPTIONS"] = f"suppressions={supp}"
