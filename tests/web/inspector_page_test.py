#!/usr/bin/env python3
"""The actor inspector's web page in a real browser, against a real broker.

    inspector_page_test.py BROKER_BIN CLI_BIN OUT_DIR

Starts `actormq-broker --http 127.0.0.1:0` on a temporary data directory,
fills it with the CLI (topic "orders" of 3 partitions, 30 messages, 10 of
them consumed by group g1), opens the page the broker serves in headless
Chromium through chromedriver (the W3C WebDriver protocol spoken with urllib:
Python's standard library only) and checks that the page shows what
/api/cluster says: the partitions of "orders", group g1 with lag 20; that the
lag grows to 40 when 20 more are produced and drops to 0 when everything is
consumed; and the tree, detail pane, internal-topics checkbox, message trace
and sorting on the way. Then a message goes through a retry to a dead-letter
queue: topic "payments", message "poison-1" nacked twice by group g2 (the
CLI's --fail-pattern; the broker's config gives g2 a 1 s backoff and one
retry), and /api/trace and the page's trace of payments/0 must show it in
the partition, consumed by g2, retried in payments.g2.retry and
dead-lettered in payments.g2.dlq. Screenshots go to OUT_DIR
(inspector-overview.png, inspector-lag-grown.png, inspector-lag-drained.png,
inspector-trace.png), with the broker's and chromedriver's output.

Every message has the same key, so all of them land in partition 0 and the
lag is the same number whichever partitions a report covers: the inspector's
group state lists the partitions with a commit or an owner, `actormq group
describe` every partition of the group's topics; the test checks that both
say the lag the page must show.

Every wait is bounded (WAIT_S). Exits 0 on success, 1 with the reason on
stderr when a check fails, 2 when the test itself breaks. Every process it
starts (broker, chromedriver and its browser) is stopped on the way out.
"""

import json
import os
import pathlib
import shutil
import sys
import tempfile
import urllib.parse

from inspector_support import (CHROMEDRIVER, CHROMIUM, WAIT_S, Broker, TestFailure, WebDriver,
                               eventually, log, run_cli, use_lsan_suppressions)

TOPIC = "orders"
PARTITIONS = 3
GROUP = "g1"
# The dead-letter step: group DLQ_GROUP nacks POISON twice; the broker gives
# that group one retry after 1 s (the defaults, 16 retries from 1 s to 5 min,
# would take over an hour), so the second nack dead-letters it.
DLQ_TOPIC = "payments"
DLQ_GROUP = "g2"
POISON = "poison-1"
BROKER_CONFIG = f"""[retry.groups.{DLQ_GROUP}]
backoff = "1s"
max_retries = 1
"""


def murmur2(data):
    """Kafka's murmur2, as app/client/src/partitioner.cpp."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    blocks = len(data) // 4
    for i in range(blocks):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[4 * blocks:]
    if tail:
        for i in reversed(range(len(tail))):
            h ^= tail[i] << (8 * i)
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_keys(count):
    """A key for each partition: keys map to partitions as Kafka's default
    partitioner does (app/client/include/actormq/client/partitioner.h), so
    the test chooses where each message goes."""
    assert murmur2(b"21") == -973932308 and murmur2(b"foobar") == -790332482
    keys = {}
    i = 0
    while len(keys) < count:
        key = f"key-{i}"
        keys.setdefault((murmur2(key.encode()) & 0x7FFFFFFF) % count, key)
        i += 1
    return keys


def produce(cli, broker, messages):
    """messages: [(key, value)]."""
    lines = "".join(f"{k}:{v}\n" for k, v in messages)
    run_cli(cli, broker, ["produce", TOPIC, "--key-separator", ":"], lines)
    log(f"produced {len(messages)} messages")


def consume(cli, broker, max_messages):
    out = run_cli(cli, broker, ["consume", TOPIC, "--group", GROUP, "--from-beginning",
                                "--max-messages", str(max_messages), "--timeout-ms", "10000"])
    got = len(out.splitlines())
    log(f"consumed {got} messages")
    return got


# ---- what /api/cluster says ----

def only_broker(report):
    brokers = report["brokers"]
    if len(brokers) != 1:
        raise TestFailure(f"/api/cluster lists {len(brokers)} brokers, expected 1")
    return brokers[0]


def group_state(report):
    """The state of GROUP's actor (answered), or None."""
    for b in report["brokers"]:
        for a in b["actors"]:
            if a["kind"] == "group" and a["answered"] and a["state"].get("group") == GROUP:
                return a["state"]
    return None


def high_watermarks(report):
    """{partition: high watermark} of TOPIC's partition actors."""
    out = {}
    for b in report["brokers"]:
        for a in b["actors"]:
            if a["kind"] == "partition" and a["answered"] and a["state"].get("topic") == TOPIC:
                out[a["state"]["partition"]] = a["state"]["high_watermark"]
    return out


def settled_lag(broker, lag):
    """(GROUP's state, the report) once /api/cluster shows its total lag as
    lag, every partition's lag known."""
    def probe():
        report = broker.cluster()
        g = group_state(report)
        done = (g is not None and g.get("lag_unknown_partitions") == 0
                and g.get("total_lag") == lag)
        return done, (g, report)
    return eventually(f"/api/cluster shows group {GROUP} with total lag {lag}", probe)


def described_lag(cli, broker):
    """GROUP's lag summed over the partitions `actormq group describe` lists."""
    out = run_cli(cli, broker, ["group", "describe", GROUP]).splitlines()
    header = next((i for i, line in enumerate(out) if line.split()[:1] == ["TOPIC"]), None)
    if header is None:
        raise TestFailure(f"`actormq group describe {GROUP}` printed no offsets: {out}")
    return sum(int(line.split()[4]) for line in out[header + 1:] if line.strip())


# ---- the browser ----

# What the test reads of the page: the rows of its tables (data-key), the
# group's total-lag cell and the poll status.
PAGE_SNAPSHOT = r"""
const group = arguments[0];
const keys = (id) => [...document.querySelectorAll(`#${id} tbody tr[data-key]`)]
  .map((tr) => tr.dataset.key);
const row = [...document.querySelectorAll('#groups-table tbody tr[data-key]')]
  .find((tr) => tr.dataset.key === group);
const lagCell = row ? row.querySelector('.total-lag') : null;
const banner = document.getElementById('stale-banner');
const last = document.getElementById('last-update');
return {
  polls: Number(last.dataset.polls || 0),
  last_update: last.textContent,
  banner: banner && !banner.hidden ? banner.textContent : '',
  brokers: [...document.querySelectorAll('#brokers-table tbody tr[data-key]')]
    .map((tr) => [tr.dataset.key, tr.classList.contains('broker-up') ? 'up'
                  : tr.classList.contains('broker-down') ? 'down' : tr.className]),
  partitions: keys('partitions-table'),
  groups: keys('groups-table'),
  lag_rows: keys('group-lag-table'),
  actors: keys('actors-table').length,
  unanswered: document.querySelectorAll('#actors-table tr.unanswered').length,
  total_lag: lagCell ? lagCell.textContent : null,
};
"""


def page_snapshot(driver):
    return driver.script(PAGE_SNAPSHOT, GROUP)


def wait_page_lag(driver, lag, what):
    def probe():
        s = page_snapshot(driver)
        return s["total_lag"] == str(lag) and not s["banner"], s
    snap = eventually(f"the page shows {what}: group {GROUP} total lag {lag}", probe)
    log(f"page: group {GROUP} total lag {snap['total_lag']} (poll {snap['polls']}, "
        f"last update {snap['last_update']})")
    return snap


# ---- the steps ----

def check_assets(broker):
    status, ctype, body = broker.get("/")
    if status != 200 or not ctype.startswith("text/html"):
        raise TestFailure(f"GET / answered {status} {ctype}")
    for needed in ('id="partitions-table"', 'id="groups-table"', 'id="trace-status"',
                   'id="trace-result"', "inspector.js"):
        if needed not in body:
            raise TestFailure(f"GET / lacks {needed}: the broker serves another page "
                              f"(built before app/broker/web/ was written?)")
    for asset, ctype_prefix in (("/inspector.js", "text/javascript"), ("/inspector.css", "text/css")):
        status, ctype, _ = broker.get(asset)
        if status != 200 or not ctype.startswith(ctype_prefix):
            raise TestFailure(f"GET {asset} answered {status} {ctype}")


def expect_lag(cli, broker, lag):
    """/api/cluster and `actormq group describe` agree that GROUP's lag is
    lag; returns (GROUP's state, the report)."""
    g, report = settled_lag(broker, lag)
    described = described_lag(cli, broker)
    if described != lag:
        raise TestFailure(f"/api/cluster says group {GROUP} lags {lag}, "
                          f"`actormq group describe` {described}")
    log(f"/api/cluster and group describe: group {GROUP} total lag {lag}")
    return g, report


def check_overview(driver, cli, broker, broker_id, out_dir):
    g, report = expect_lag(cli, broker, 20)
    offsets = {o["partition"]: o for o in g["offsets"] if o["topic"] == TOPIC}
    committed = sum(o["committed"] - o["log_start_offset"] for o in offsets.values()
                    if o["committed"] >= 0)
    if committed != 10:
        raise TestFailure(f"group {GROUP} committed {committed} messages, expected 10: {offsets}")

    want_partitions = {f"{TOPIC}/{p}/{broker_id}" for p in range(PARTITIONS)}
    want_lag_rows = {f"{GROUP}/{TOPIC}/{p}" for p in offsets}

    def probe():
        s = page_snapshot(driver)
        done = (want_partitions <= set(s["partitions"])
                and [str(broker_id), "up"] in s["brokers"]
                and s["total_lag"] == str(g["total_lag"])
                and want_lag_rows == set(s["lag_rows"])
                and not s["banner"])
        return done, s
    s = eventually(f"the page shows partitions {sorted(want_partitions)}, broker {broker_id} up "
                   f"and group {GROUP} with total lag {g['total_lag']}", probe)
    internal = [k for k in s["partitions"] if k.startswith("__")]
    if internal:
        raise TestFailure(f"internal topics shown while 'show internal topics' is off: {internal}")
    if s["actors"] == 0:
        raise TestFailure("the actors table is empty")
    log(f"page: {len(s['partitions'])} partitions, {s['actors']} actors "
        f"({s['unanswered']} unanswered), last update {s['last_update']}")
    check_internal_toggle(driver, report)
    check_detail_pane(driver, broker_id)
    check_trace_form(driver, broker_id)
    driver.script("window.scrollTo(0, 0);")
    driver.screenshot(out_dir / "inspector-overview.png")
    return g, report


def check_internal_toggle(driver, report):
    """Internal partitions appear with the checkbox on, go with it off."""
    has_internal = any(a["kind"] == "partition" and a["path"].startswith("partition/__")
                       for b in report["brokers"] for a in b["actors"])
    if not has_internal:
        log("no internal topic partition reported: checkbox not exercised")
        return
    for shown in (True, False):
        driver.script("document.getElementById('show-internal').click();")

        def probe():
            keys = page_snapshot(driver)["partitions"]
            return any(k.startswith("__") for k in keys) == shown, keys
        eventually(f"internal partitions {'shown' if shown else 'hidden'} after the checkbox",
                   probe)
    log("page: 'show internal topics' shows and hides the __ partitions")


def check_detail_pane(driver, broker_id):
    """A click on an actor of the tree shows its state in the detail pane."""
    path = f"partition/{TOPIC}/0"
    clicked = driver.script("""
      const b = [...document.querySelectorAll('#actor-tree .actor-link')]
        .find((x) => x.dataset.path === arguments[0] && x.dataset.broker === arguments[1]);
      if (!b) return false;
      b.click();
      return true;""", path, str(broker_id))
    if not clicked:
        raise TestFailure(f"the actor tree has no {path} of broker {broker_id}")

    def probe():
        d = driver.script("""
          const pane = document.getElementById('detail');
          return {hidden: pane.hidden, title: document.getElementById('detail-title').textContent,
                  state: document.getElementById('detail-state').textContent};""")
        try:
            state = json.loads(d["state"]) if d["state"] else None
        except ValueError:
            state = None
        ok = (not d["hidden"] and d["title"] == path and isinstance(state, dict)
              and state.get("topic") == TOPIC and state.get("partition") == 0)
        return ok, d
    eventually(f"the detail pane shows the state of {path}", probe)
    log(f"page: the detail pane shows {path}")


TRACE = r"""
const [topic, partition, offset] = arguments;
document.getElementById('trace-topic').value = topic;
document.getElementById('trace-partition').value = String(partition);
document.getElementById('trace-offset').value = String(offset);
document.getElementById('trace-result').replaceChildren();
document.getElementById('trace-status').textContent = 'tracing…';
document.getElementById('trace-form').requestSubmit();
"""

TRACE_RESULT = r"""
const list = document.getElementById('trace-result');
return {
  status: document.getElementById('trace-status').textContent,
  hidden: list.hidden,
  is_ordered_list: list.tagName === 'OL',
  elements_inside: [...list.querySelectorAll('*')].map((e) => e.tagName.toLowerCase())
    .filter((t) => !['li', 'div', 'span', 'p', 'dl', 'dt', 'dd'].includes(t)),
  hops: [...list.querySelectorAll(':scope > .trace-hop')].map((h) => ({
    kind: h.dataset.kind, status: h.dataset.status,
    title: h.querySelector('.hop-title').textContent,
    verdict: h.querySelector('.hop-verdict').textContent,
    text: h.textContent})),
};
"""


def page_trace(driver, topic, partition, offset):
    """Submits the trace form; returns what #trace-result shows once the
    trace answered."""
    driver.script(TRACE, topic, partition, offset)

    def probe():
        r = driver.script(TRACE_RESULT)
        return r["status"] != "tracing…", r
    r = eventually(f"the trace of {topic}/{partition} @ {offset} answers", probe)
    if not r["is_ordered_list"]:
        raise TestFailure("#trace-result is not an ordered list")
    if "failed" in r["status"] or "no /api/trace" in r["status"]:
        raise TestFailure(f"the trace of {topic}/{partition} @ {offset}: {r['status']}")
    log(f"page: trace of {topic}/{partition} @ {offset}: "
        + "; ".join(f"{h['kind']} {h['title']}: {h['status']}" for h in r["hops"]))
    return r


def hop_kinds(r):
    return [h["kind"] for h in r["hops"]]


def check_trace_form(driver, broker_id):
    """orders/0 @ 0: in the partition, readable, consumed by GROUP, never
    retried; @ 1000: not written yet; a topic name made of markup is shown
    as text."""
    def probe():
        r = page_trace(driver, TOPIC, 0, 0)
        want = [("partition", "readable"), ("replica", "readable"), ("group", "consumed")]
        got = [(h["kind"], h["status"]) for h in r["hops"]]
        return got == want, r
    r = eventually(f"the trace of {TOPIC}/0 @ 0 shows the partition, broker {broker_id}'s "
                   f"replica and group {GROUP} past it, and no retry", probe, interval=1)
    group_hop = r["hops"][2]
    if group_hop["title"] != GROUP or "committed offset 10" not in group_hop["verdict"]:
        raise TestFailure(f"the group hop of the trace: {group_hop}")
    if not r["hops"][1]["title"].startswith(f"broker {broker_id}"):
        raise TestFailure(f"the replica hop of the trace: {r['hops'][1]}")

    r = page_trace(driver, TOPIC, 0, 1000)
    got = [(h["kind"], h["status"]) for h in r["hops"]]
    if got != [("partition", "not_written"), ("replica", "not_written"), ("group", "pending")]:
        raise TestFailure(f"the trace of {TOPIC}/0 @ 1000 (not written yet) shows {got}")

    markup = '<img src=x onerror="window.__traced=1">'
    r = page_trace(driver, markup, 0, 0)
    hop = r["hops"][0] if r["hops"] else {}
    if hop.get("status") != "missing" or hop.get("title") != f"{markup}/0 @ 0":
        raise TestFailure(f"the trace of a topic named {markup!r} shows {r['hops']}")
    if r["elements_inside"] or driver.script("return window.__traced !== undefined;"):
        raise TestFailure(f"a topic name made of markup became elements: {r['elements_inside']}")
    log("page: the trace shows markup in names as text")


def check_sorting(driver):
    """A click on a header sorts; a second click reverses."""
    order = r"""
      const th = [...document.querySelectorAll('#partitions-table th')]
        .find((x) => x.dataset.key === 'partition');
      if (arguments[0]) th.click();
      return [...document.querySelectorAll('#partitions-table tbody tr[data-key]')]
        .map((tr) => tr.dataset.key).filter((k) => k.startsWith(arguments[1] + '/'))
        .map((k) => Number(k.split('/')[1]));"""
    asc = driver.script(order, True, TOPIC)
    desc = driver.script(order, True, TOPIC)
    if asc != sorted(asc) or desc != sorted(desc, reverse=True) or len(asc) != PARTITIONS:
        raise TestFailure(f"sorting by partition: ascending {asc}, descending {desc}")
    log("page: the partitions table sorts both ways")


def api_trace(broker, topic, partition, offset):
    """(status, parsed body) of GET /api/trace."""
    q = urllib.parse.urlencode({"topic": topic, "partition": partition, "offset": offset})
    status, ctype, body = broker.get(f"/api/trace?{q}")
    if not ctype.startswith("application/json"):
        raise TestFailure(f"/api/trace?{q} answered {status} {ctype}: {body[:200]}")
    return status, json.loads(body)


def check_trace_parameters(broker):
    """Bad parameters: 400 with {"error"}."""
    for query in ("topic=payments&partition=x&offset=0", "topic=payments&partition=0",
                  "partition=0&offset=0", "topic=payments&partition=0&offset=-1"):
        status, ctype, body = broker.get(f"/api/trace?{query}")
        try:
            error = json.loads(body).get("error")
        except ValueError:
            error = None
        if status != 400 or not ctype.startswith("application/json") or not error:
            raise TestFailure(f"/api/trace?{query} answered {status} {ctype} {body[:200]!r}, "
                              f"expected 400 with an error")
    log("/api/trace: bad parameters answer 400 with an error")


def check_dead_letter_trace(driver, cli, broker, out_dir):
    """POISON, nacked by DLQ_GROUP, retried once and dead-lettered: found by
    /api/trace and by the page's trace."""
    check_trace_parameters(broker)
    status, t = api_trace(broker, TOPIC, 0, 0)
    if status != 200 or t.get("copies") != [] or t.get("truncated") is not False:
        raise TestFailure(f"/api/trace of {TOPIC}/0 @ 0 (never retried): {status} {t}")

    run_cli(cli, broker, ["topic", "create", DLQ_TOPIC, "--partitions", "1"])
    run_cli(cli, broker, ["produce", DLQ_TOPIC], f"{POISON}\n")

    def written():
        hw = [a["state"]["high_watermark"] for b in broker.cluster()["brokers"]
              for a in b["actors"] if a["kind"] == "partition" and a["answered"]
              and a["state"].get("topic") == DLQ_TOPIC]
        return hw == [1], hw
    eventually(f"/api/cluster shows {POISON!r} in {DLQ_TOPIC}/0", written)
    offset = 0  # the first message of a new partition
    # Delivery 1 nacked -> a retry after 1 s (delivery 2) nacked -> dead
    # letter. The consumer stops 8 s after its last message.
    out = run_cli(cli, broker, ["consume", DLQ_TOPIC, "--group", DLQ_GROUP, "--from-beginning",
                                "--fail-pattern", "^poison-", "--timeout-ms", "8000"],
                  timeout=WAIT_S * 2)
    if out.strip():
        raise TestFailure(f"the consumer printed messages it should have nacked: {out!r}")
    log(f"group {DLQ_GROUP} nacked {POISON!r} until it stopped")

    retry_topic, dlq_topic = f"{DLQ_TOPIC}.{DLQ_GROUP}.retry", f"{DLQ_TOPIC}.{DLQ_GROUP}.dlq"

    def traced():
        status, t = api_trace(broker, DLQ_TOPIC, 0, offset)
        kinds = [c.get("kind") for c in t.get("copies", [])] if status == 200 else None
        delays = [d.get("state") for d in t.get("delays", [])] if status == 200 else None
        return status == 200 and sorted(kinds) == ["dead_letter", "retry"] \
            and delays == ["dispatched"], (status, t)
    _, t = eventually(f"/api/trace finds {POISON!r} in {retry_topic} and {dlq_topic}", traced)
    if (t["topic"], t["partition"], t["offset"]) != (DLQ_TOPIC, 0, offset) or t["truncated"]:
        raise TestFailure(f"/api/trace answered for another message or incompletely: {t}")
    copy = {c["kind"]: c for c in t["copies"]}
    retry, dead = copy["retry"], copy["dead_letter"]
    if (retry["topic"], retry["partition"], retry["delivery_count"]) != (retry_topic, 0, 2) \
            or "fail-pattern" not in retry["last_error"]:
        raise TestFailure(f"the retry copy: {retry}")
    if (dead["topic"], dead["partition"], dead["reason"], dead["dlq_group"]) != \
            (dlq_topic, 0, "max_retries", DLQ_GROUP) or dead["delivery_count"] != 2 \
            or "fail-pattern" not in dead["last_error"] or dead["dlq_time_ms"] <= 0:
        raise TestFailure(f"the dead letter: {dead}")
    # The retry waited for its backoff in the delay wheel.
    delay = t["delays"][0]
    if (delay["topic"], delay["partition"], delay["level"]) != (retry_topic, 0, "retry") \
            or not delay["due_ms"] >= delay["scheduled_ms"] + 900 or delay["dispatch"] < 1:
        raise TestFailure(f"the retry's envelope in the delay wheel: {delay}")
    log(f"/api/trace: {POISON!r} retried in {retry_topic}/0 @ {retry['offset']}, dead-lettered "
        f"in {dlq_topic}/0 @ {dead['offset']} ({dead['reason']}), "
        f"{t['scanned_bytes']} bytes scanned")

    def probe():
        r = page_trace(driver, DLQ_TOPIC, 0, offset)
        return hop_kinds(r) == ["partition", "replica", "group", "delay", "retry",
                                "dead_letter"], r
    r = eventually(f"the page's trace of {DLQ_TOPIC}/0 @ {offset} shows the partition, its "
                   f"replica, group {DLQ_GROUP}, the retry's backoff in the delay wheel, the "
                   f"retry, then the dead letter", probe,
                   interval=1)
    hops = {h["kind"]: h for h in r["hops"]}
    if hops["group"]["title"] != DLQ_GROUP or hops["group"]["status"] != "consumed":
        raise TestFailure(f"the group hop: {hops['group']}")
    if hops["delay"]["status"] != "dispatched" or "backoff" not in hops["delay"]["verdict"]:
        raise TestFailure(f"the delay wheel hop: {hops['delay']}")
    if not hops["retry"]["title"].startswith(f"{retry_topic}/0 @ "):
        raise TestFailure(f"the retry hop: {hops['retry']}")
    dl = hops["dead_letter"]
    if not dl["title"].startswith(f"{dlq_topic}/0 @ ") or dl["status"] != "max_retries" \
            or "max_retries" not in dl["verdict"] or DLQ_GROUP not in dl["verdict"]:
        raise TestFailure(f"the dead-letter hop: {dl}")
    driver.script("document.getElementById('trace').scrollIntoView();")
    driver.screenshot(out_dir / "inspector-trace.png")


def run(broker_bin, cli_bin, out_dir, work):
    broker = driver = None
    try:
        config = work / "broker.toml"
        config.write_text(BROKER_CONFIG, encoding="utf-8")
        broker = Broker(broker_bin, work / "data", out_dir / "inspector-broker.log",
                        ["--config", config])
        broker.wait_listening()
        check_assets(broker)
        broker_id = only_broker(broker.cluster())["broker_id"]

        run_cli(cli_bin, broker, ["topic", "create", TOPIC, "--partitions", str(PARTITIONS)])
        key = partition_keys(PARTITIONS)[0]
        produce(cli_bin, broker, [(key, f"order-{i}") for i in range(30)])
        if consume(cli_bin, broker, 10) != 10:
            raise TestFailure("the first consumer did not print 10 messages")

        driver = WebDriver(work, out_dir / "inspector-chromedriver.log")
        driver.open(f"http://{broker.http}/")
        check_overview(driver, cli_bin, broker, broker_id, out_dir)

        produce(cli_bin, broker, [(key, f"order-{i}") for i in range(30, 50)])

        def all_in_partition_0():
            hw = high_watermarks(broker.cluster())
            return hw.get(0) == 50, hw
        eventually(f"/api/cluster shows the 50 messages keyed {key!r} in partition 0",
                   all_in_partition_0)
        expect_lag(cli_bin, broker, 40)
        wait_page_lag(driver, 40, "the lag grown by 20")
        driver.script("document.getElementById('groups').scrollIntoView();")
        driver.screenshot(out_dir / "inspector-lag-grown.png")

        if consume(cli_bin, broker, 40) != 40:
            raise TestFailure("the second consumer did not print the 40 messages left")
        expect_lag(cli_bin, broker, 0)
        wait_page_lag(driver, 0, "the drained lag")
        driver.script("document.getElementById('groups').scrollIntoView();")
        driver.screenshot(out_dir / "inspector-lag-drained.png")

        check_sorting(driver)
        check_dead_letter_trace(driver, cli_bin, broker, out_dir)
        errors = driver.script_errors()
        if errors:
            raise TestFailure(f"the page logged script errors: {errors}")
    finally:
        if driver is not None:
            driver.quit()
        if broker is not None:
            broker.stop()


def main(argv):
    if len(argv) != 4:
        print(f"usage: {argv[0]} BROKER_BIN CLI_BIN OUT_DIR", file=sys.stderr)
        return 2
    broker_bin, cli_bin, out_dir = argv[1], argv[2], pathlib.Path(argv[3])
    for path in (broker_bin, cli_bin, CHROMEDRIVER, CHROMIUM):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not an executable", file=sys.stderr)
            return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    use_lsan_suppressions()
    work = pathlib.Path(tempfile.mkdtemp(prefix="actormq-inspector-page-"))
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
