#!/usr/bin/env python3
"""A real Prometheus server (Debian's `prometheus`) scrapes a real broker.

    prometheus_scrape_test.py BROKER_BIN CLI_BIN

Starts `actormq-broker --http 127.0.0.1:0` and `prometheus` with a scrape
config for the broker's /metrics every second, produces 40 messages with the
CLI, and asks Prometheus' HTTP API (/api/v1/query) until the scraped
actormq_produce_messages_total says 40 and the partitions' log end offsets
add up to 40; checks that the target is up and that Prometheus took the
histogram. Every wait is bounded; both processes are stopped on the way out.
Exits 0 on success, 1 when a check fails, 2 when the test itself breaks.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from inspector_support import (Broker, TestFailure, eventually, free_port, log, run_cli,
                               stop_process, use_lsan_suppressions)

PROMETHEUS = "/usr/bin/prometheus"


def query(prom, expr):
    """The result list of an instant query, or None when Prometheus is not
    answering yet."""
    url = f"http://{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.loads(r.read().decode("utf-8"))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    if doc.get("status") != "success":
        raise TestFailure(f"Prometheus refused {expr!r}: {doc}")
    return doc["data"]["result"]


def scalar(prom, expr):
    result = query(prom, expr)
    if not result:
        return None
    return float(result[0]["value"][1])


def run(broker_bin, cli_bin, work):
    broker = prom = None
    try:
        broker = Broker(broker_bin, work / "data", work / "broker.log")
        broker.wait_listening()
        config = work / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: actormq\n    scrape_interval: 1s\n"
            f"    static_configs:\n      - targets: ['{broker.http}']\n")
        prom_address = f"127.0.0.1:{free_port()}"
        with open(work / "prometheus.log", "w", encoding="utf-8") as out:
            prom = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
                 f"--web.listen-address={prom_address}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        log(f"prometheus on {prom_address}, scraping {broker.http}")

        run_cli(cli_bin, broker, ["topic", "create", "orders", "--partitions", "2"])
        lines = "".join(f"k{i}:m{i}\n" for i in range(40))
        run_cli(cli_bin, broker, ["produce", "orders", "--key-separator", ":"], lines)

        def up():
            if prom.poll() is not None:
                raise TestFailure(f"prometheus exited with {prom.returncode} "
                                  f"(see {work / 'prometheus.log'})")
            v = scalar(prom_address, 'up{job="actormq"}')
            return v == 1, v
        eventually("Prometheus scrapes the broker (up == 1)", up, timeout=60)

        def produced():
            v = scalar(prom_address, "actormq_produce_messages_total")
            return v == 40, v
        eventually("Prometheus has actormq_produce_messages_total == 40", produced, timeout=60)

        def log_ends():
            v = scalar(prom_address, 'sum(actormq_partition_log_end_offset{topic="orders"})')
            return v == 40, v
        eventually("the partitions' log end offsets add up to 40", log_ends, timeout=60)

        def histogram():
            v = scalar(prom_address, "actormq_produce_latency_seconds_count")
            return v is not None and v >= 1, v
        eventually("the produce latency histogram is scraped", histogram, timeout=60)
        result = query(prom_address, "histogram_quantile(0.99, actormq_produce_latency_seconds_bucket)")
        if not result or result[0]["value"][1] in ("NaN", "+Inf"):
            raise TestFailure(f"no p99 produce latency from the histogram: {result}")
        log(f"p99 produce latency as Prometheus computes it: {result[0]['value'][1]} s")
    finally:
        stop_process(prom, "prometheus")
        if broker is not None:
            broker.stop()


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} BROKER_BIN CLI_BIN", file=sys.stderr)
        return 2
    broker_bin, cli_bin = argv[1], argv[2]
    for path in (broker_bin, cli_bin, PROMETHEUS):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not an executable", file=sys.stderr)
            return 2
    use_lsan_suppressions()
    work = pathlib.Path(tempfile.mkdtemp(prefix="actormq-prometheus-"))
    try:
        run(broker_bin, cli_bin, work)
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        for name in ("broker.log", "prometheus.log"):
            p = work / name
            if p.exists():
                print(f"--- {name} (tail)\n" + "".join(p.read_text().splitlines(True)[-30:]),
                      file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
