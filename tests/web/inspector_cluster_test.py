#!/usr/bin/env python3
"""The actor inspector's web page on a 3-broker cluster, in a real browser.

    inspector_cluster_test.py BROKER_BIN CLI_BIN OUT_DIR

Starts a one-node etcd (/usr/bin/etcd, free loopback ports, temporary data
dir) and brokers 0, 1 and 2 of cluster "insp" (`--http 127.0.0.1:0
--cluster-listen 127.0.0.1:0`), waits until `actormq cluster status` shows
the three alive with a controller, creates topic "inventory" (3 partitions,
replication factor 3) and produces to it. Then it opens broker 0's page in
headless Chromium and checks that:

- the brokers table shows the three brokers up (rows .broker-up) and the
  partitions table each partition on the three brokers, one leader each;
- the message trace of a produced message lists the partition and its three
  replicas, each holding the message below its high watermark;
- once broker 2 is killed (SIGKILL), within 30 s the brokers table shows
  broker 2 down (.broker-down) and 0 and 1 still up, and the partitions
  table still shows every partition of the topic with its leader on a live
  broker (leaders on broker 2 fail over); the same on a page opened after
  the kill; the trace then shows broker 2's replica as down.

/api/cluster lists the registered brokers: once broker 2's registration is
gone (at once after a SIGKILL: its peers report it gone) it is no longer
listed, and the page shows it as down from what it saw before or from the
replica sets that name it.

Screenshots go to OUT_DIR (inspector-cluster.png before the kill,
inspector-cluster-broker-down.png after), with the logs of etcd, the
brokers and chromedriver.

Every wait is bounded. Exits 0 on success, 1 with the reason on stderr when
a check fails, 2 when the test itself breaks. Every process it starts is
stopped on the way out, whatever happens.
"""

import os
import pathlib
import shutil
import signal
import sys
import tempfile
import time

from inspector_support import (CHROMEDRIVER, CHROMIUM, ETCD, WAIT_S, Broker, Etcd, TestFailure,
                               WebDriver, eventually, log, run_cli, signal_group,
                               use_lsan_suppressions)

CLUSTER_ID = "insp"
BROKERS = 3
TOPIC = "inventory"
PARTITIONS = 3
MESSAGES = 5
KEY = "sku-1"
VICTIM = 2
# Three sanitizer-built brokers starting at once on a small machine.
START_S = 120
DOWN_S = 30

# [cluster] as tests/support/cluster_process.h writes it: a 3 s lease, the
# internal topics created with 3 replicas once the three brokers are live.
CLUSTER_CONFIG = """[cluster]
lease_ttl_ms = 3000
etcd_timeout_ms = 1000
internal_replication_factor = 3
internal_topic_wait_ms = 60000
"""


def try_cli(cli, bootstrap, args, timeout=WAIT_S):
    """(True, stdout) or (False, why) of `actormq --broker bootstrap ARGS`."""
    try:
        return True, run_cli(cli, bootstrap, args, timeout=timeout)
    except TestFailure as e:
        return False, str(e)


def parse_status(text):
    """`actormq cluster status [TOPIC]` as {control_plane, controller,
    brokers: {id: state}, partitions: {p: (leader, replicas, isr)}}."""
    out = {"control_plane": None, "controller": None, "brokers": {}, "partitions": {}}
    section = None
    for line in text.splitlines():
        words = line.split()
        if line.startswith("Cluster:"):
            fields = dict(part.split(": ", 1) for part in line.split("\t") if ": " in part)
            out["control_plane"] = fields.get("Control plane")
            out["controller"] = fields.get("Controller")
        elif words[:1] == ["BROKER"]:
            section = "brokers"
        elif words[:1] == ["PARTITION"]:
            section = "partitions"
        elif line.startswith("Topic:") or not words:
            continue
        elif section == "brokers" and words[0].isdigit() and len(words) >= 3:
            out["brokers"][int(words[0])] = words[2]
        elif section == "partitions" and words[0].isdigit() and len(words) >= 5:
            ids = lambda w: [] if w == "-" else [int(x) for x in w.split(",")]
            leader = -1 if words[1] == "none" else int(words[1])
            out["partitions"][int(words[0])] = (leader, ids(words[3]), ids(words[4]))
    return out


def wait_cluster_formed(cli, bootstrap):
    def probe():
        ok, out = try_cli(cli, bootstrap, ["cluster", "status"])
        if not ok:
            return False, out
        s = parse_status(out)
        done = (s["control_plane"] == "up" and s["controller"] not in (None, "none")
                and sorted(s["brokers"]) == list(range(BROKERS))
                and all(v == "alive" for v in s["brokers"].values()))
        return done, s
    s = eventually(f"`actormq cluster status` shows brokers 0..{BROKERS - 1} alive with a "
                   "controller", probe, timeout=START_S, interval=1)
    log(f"cluster formed: controller {s['controller']}, brokers {s['brokers']}")


def create_topic(cli, bootstrap):
    args = ["topic", "create", TOPIC, "--partitions", str(PARTITIONS),
            "--replication-factor", str(BROKERS)]
    # The controller may still be creating the internal topics: retried.
    eventually(f"`actormq topic create {TOPIC}` succeeds",
               lambda: try_cli(cli, bootstrap, args), timeout=START_S, interval=1)

    def probe():
        ok, out = try_cli(cli, bootstrap, ["cluster", "status", TOPIC])
        if not ok:
            return False, out
        parts = parse_status(out)["partitions"]
        done = (sorted(parts) == list(range(PARTITIONS))
                and all(leader >= 0 and len(isr) == BROKERS for leader, _, isr in parts.values()))
        return done, parts
    parts = eventually(f"every partition of {TOPIC} has a leader and {BROKERS} in-sync replicas",
                       probe, timeout=START_S, interval=1)
    log(f"topic {TOPIC}: (leader, replicas, isr) per partition {parts}")
    return parts


# ---- what /api/cluster says ----

def partition_states(report, topic):
    """[(broker, state)] of topic's answered partition actors."""
    return [(b["broker_id"], a["state"]) for b in report["brokers"] for a in b["actors"]
            if a["kind"] == "partition" and a["answered"] and a["state"].get("topic") == topic]


def wait_api_brokers_up(broker):
    def probe():
        report = broker.cluster()
        ups = {b["broker_id"]: b["up"] for b in report["brokers"]}
        return ups == {i: True for i in range(BROKERS)}, ups
    eventually(f"broker 0's /api/cluster lists brokers 0..{BROKERS - 1} up", probe,
               timeout=START_S)


def produced_partition(broker):
    """The partition the MESSAGES keyed KEY went to, once its leader's high
    watermark shows them all."""
    def probe():
        hws = {(s["partition"], bid): (s.get("role"), s["high_watermark"])
               for bid, s in partition_states(broker.cluster(), TOPIC)}
        full = sorted({p for (p, _), (role, hw) in hws.items()
                       if role == "leader" and hw == MESSAGES})
        return len(full) == 1, hws
    hws = eventually(f"/api/cluster shows the {MESSAGES} messages keyed {KEY!r} in one "
                     f"partition of {TOPIC}", probe)
    return next(p for (p, _), (role, hw) in hws.items() if role == "leader" and hw == MESSAGES)


# ---- what the page shows ----

PAGE_SNAPSHOT = r"""
const topic = arguments[0];
const table = document.getElementById('partitions-table');
const heads = [...table.querySelectorAll('thead th')].map((th) => th.dataset.key);
const cell = (tr, key) => tr.cells[heads.indexOf(key)].textContent;
const banner = document.getElementById('stale-banner');
return {
  polls: Number(document.getElementById('last-update').dataset.polls || 0),
  banner: banner && !banner.hidden ? banner.textContent : '',
  brokers: [...document.querySelectorAll('#brokers-table tbody tr[data-key]')]
    .map((tr) => [Number(tr.dataset.key), tr.classList.contains('broker-up') ? 'up'
                  : tr.classList.contains('broker-down') ? 'down' : tr.className]),
  partitions: [...table.querySelectorAll('tbody tr[data-key]')]
    .filter((tr) => cell(tr, 'topic') === topic)
    .map((tr) => ({partition: Number(cell(tr, 'partition')), broker: Number(cell(tr, 'broker')),
                   role: cell(tr, 'role')})),
};
"""


def page_snapshot(driver):
    return driver.script(PAGE_SNAPSHOT, TOPIC)


def leaders_of(snap):
    """{partition: [brokers whose row says leader]}."""
    out = {p: [] for p in range(PARTITIONS)}
    for r in snap["partitions"]:
        if r["role"] == "leader":
            out.setdefault(r["partition"], []).append(r["broker"])
    return out


def check_page_all_up(driver):
    want_rows = {(p, b) for p in range(PARTITIONS) for b in range(BROKERS)}

    def probe():
        s = page_snapshot(driver)
        rows = {(r["partition"], r["broker"]) for r in s["partitions"]}
        leaders = leaders_of(s)
        done = (s["brokers"] == [[i, "up"] for i in range(BROKERS)] and rows == want_rows
                and all(len(v) == 1 for v in leaders.values()) and not s["banner"])
        return done, s
    s = eventually(f"the page shows brokers 0..{BROKERS - 1} up and {TOPIC}'s "
                   f"{PARTITIONS} partitions on each broker, one leader each", probe,
                   timeout=START_S)
    log(f"page: brokers {s['brokers']}, leaders {leaders_of(s)}")


def check_page_broker_down(driver, victim):
    live = [i for i in range(BROKERS) if i != victim]
    started = time.monotonic()

    def probe():
        s = page_snapshot(driver)
        states = dict((bid, st) for bid, st in s["brokers"])
        leaders = leaders_of(s)
        done = (states.get(victim) == "down" and all(states.get(i) == "up" for i in live)
                and all(len(v) == 1 and v[0] in live for v in leaders.values())
                and {r["partition"] for r in s["partitions"]} == set(range(PARTITIONS))
                and not s["banner"])
        return done, s
    s = eventually(f"within {DOWN_S} s of the SIGKILL the page shows broker {victim} down, "
                   f"brokers {live} up and every partition of {TOPIC} led by a live broker",
                   probe, timeout=DOWN_S)
    log(f"page after {time.monotonic() - started:.1f} s: brokers {s['brokers']}, "
        f"leaders {leaders_of(s)}")


TRACE = r"""
const [topic, partition, offset] = arguments;
document.getElementById('trace-topic').value = topic;
document.getElementById('trace-partition').value = String(partition);
document.getElementById('trace-offset').value = String(offset);
const list = document.getElementById('trace-result');
list.replaceChildren();
document.getElementById('trace-status').textContent = 'tracing…';
document.getElementById('trace-form').requestSubmit();
"""

TRACE_RESULT = r"""
const status = document.getElementById('trace-status').textContent;
const hops = [...document.querySelectorAll('#trace-result > .trace-hop')].map((h) => ({
  kind: h.dataset.kind, status: h.dataset.status,
  title: h.querySelector('.hop-title').textContent,
  verdict: h.querySelector('.hop-verdict').textContent}));
return {status, hops};
"""


def trace(driver, partition, offset):
    """Submits the trace form; returns {status, hops} once it answered."""
    driver.script(TRACE, TOPIC, partition, offset)

    def probe():
        r = driver.script(TRACE_RESULT)
        return r["status"] != "tracing…", r
    return eventually(f"the trace of {TOPIC}/{partition} @ {offset} answers", probe)


def check_trace(driver, partition, want):
    """Traces TOPIC/partition @ 0 until the replica hops' statuses are want
    ({broker: [statuses allowed]}) and the partition hop says readable."""
    def probe():
        r = trace(driver, partition, 0)
        replicas = {}
        for h in r["hops"]:
            if h["kind"] == "replica":
                replicas[int(h["title"].split()[1])] = h["status"]
        part = [h for h in r["hops"] if h["kind"] == "partition"]
        done = (len(part) == 1 and part[0]["status"] == "readable"
                and set(replicas) == set(want)
                and all(replicas[b] in ok for b, ok in want.items())
                and "failed" not in r["status"])
        return done, r
    r = eventually(f"the trace of {TOPIC}/{partition} @ 0 shows replicas {want}", probe,
                   interval=1)
    log(f"page: trace of {TOPIC}/{partition} @ 0: "
        + ", ".join(f"{h['kind']} {h['title']}: {h['status']}" for h in r["hops"]))


def api_broker_states(broker):
    report = broker.cluster()
    return {b["broker_id"]: ("up" if b["up"] else f"down: {b['error']}")
            for b in report["brokers"]}


def stop_all(brokers):
    """SIGTERM to every broker at once, then each waited for (SIGKILL after
    the grace time)."""
    for b in brokers:
        if b is not None and b.proc.poll() is None:
            signal_group(b.proc, signal.SIGTERM)
    for b in brokers:
        if b is not None:
            try:
                b.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {b.name}: {e}")


def run(broker_bin, cli_bin, out_dir, work):
    etcd = driver = None
    brokers = []
    try:
        etcd = Etcd(work / "etcd", out_dir / "inspector-cluster-etcd.log")
        etcd.wait_healthy()
        config = work / "cluster.toml"
        config.write_text(CLUSTER_CONFIG, encoding="utf-8")
        for i in range(BROKERS):
            brokers.append(Broker(broker_bin, work / f"broker-{i}",
                                  out_dir / f"inspector-cluster-broker-{i}.log",
                                  ["--config", config] + etcd.broker_args(CLUSTER_ID, i),
                                  name=f"broker {i}"))
        for b in brokers:
            b.wait_listening(timeout=START_S)
        bootstrap = ",".join(b.rpc for b in brokers)
        wait_cluster_formed(cli_bin, bootstrap)
        wait_api_brokers_up(brokers[0])
        create_topic(cli_bin, bootstrap)
        run_cli(cli_bin, bootstrap, ["produce", TOPIC, "--key", KEY, "--acks", "all"],
                "".join(f"item-{i}\n" for i in range(MESSAGES)))
        partition = produced_partition(brokers[0])
        log(f"produced {MESSAGES} messages keyed {KEY!r}: partition {partition}")

        driver = WebDriver(work, out_dir / "inspector-cluster-chromedriver.log")
        driver.open(f"http://{brokers[0].http}/")
        check_page_all_up(driver)
        check_trace(driver, partition, {b: ["readable"] for b in range(BROKERS)})
        driver.script("window.scrollTo(0, 0);")
        driver.screenshot(out_dir / "inspector-cluster.png")

        brokers[VICTIM].kill()
        check_page_broker_down(driver, VICTIM)
        log(f"broker 0's /api/cluster now says: {api_broker_states(brokers[0])}")
        driver.script("window.scrollTo(0, 0);")
        driver.screenshot(out_dir / "inspector-cluster-broker-down.png")
        # A page opened after the kill never saw broker 2 up: it learns of
        # it from the replica sets that name it.
        driver.open(f"http://{brokers[0].http}/")
        check_page_broker_down(driver, VICTIM)
        live = [b for b in range(BROKERS) if b != VICTIM]
        want = {b: ["readable"] for b in live}
        want[VICTIM] = ["down", "unreported"]
        check_trace(driver, partition, want)
        errors = driver.script_errors()
        if errors:
            raise TestFailure(f"the page logged script errors: {errors}")
    finally:
        if driver is not None:
            driver.quit()
        stop_all(brokers)
        if etcd is not None:
            etcd.stop()


def main(argv):
    if len(argv) != 4:
        print(f"usage: {argv[0]} BROKER_BIN CLI_BIN OUT_DIR", file=sys.stderr)
        return 2
    broker_bin, cli_bin, out_dir = argv[1], argv[2], pathlib.Path(argv[3])
    for path in (broker_bin, cli_bin, ETCD, CHROMEDRIVER, CHROMIUM):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not an executable", file=sys.stderr)
            return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    use_lsan_suppressions()
    work = pathlib.Path(tempfile.mkdtemp(prefix="actormq-inspector-cluster-"))
    try:
        run(broker_bin, cli_bin, out_dir, work)
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(f"(logs and screenshots in {out_dir})", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
