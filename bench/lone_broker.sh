# Sourced by the bench scripts that run one broker of their own (perf_stat_broker.sh,
# run_divert.sh, inspector_cpu.sh, client_instructions.sh, w2_threads.sh, w3_ab.sh; run_actormq.sh
# has its own, with clusters and inspection).
#
# produce_w1_records PERF ADDR TOPIC COUNT OUT
#   Produces COUNT records of 100 B to TOPIC with W1's arguments (1 MiB batches, linger 5 ms, one
#   in flight, acks leader), its output in OUT, for a script that then reads them (W3). Exits 1,
#   with that output on stderr, when the run fails or leaves a record unacknowledged.
#
# start_lone_broker BROKER DATA [EXTRA ARGS...]
#   Starts BROKER on 127.0.0.1 with an ephemeral port and data in DATA/data (log level warn;
#   its output in DATA/broker.out and DATA/broker.log), and waits, at most 10 s, until it
#   listens. Sets SPID and ADDR, and HTTP when EXTRA ARGS hold --http. Exits 1, with the
#   broker's log on stderr, when it does not start. The caller stops it (kill "$SPID").
start_lone_broker() {
  local bin="$1" data="$2"
  shift 2
  local want_http=0
  if [[ " $* " == *" --http "* ]]; then want_http=1; fi
  "$bin" --listen 127.0.0.1:0 --data-dir "$data/data" --log-level warn "$@" \
    > "$data/broker.out" 2> "$data/broker.log" &
  SPID=$!
  ADDR="" HTTP=""
  for _ in $(seq 1 100); do
    ADDR="$(sed -n 's/^listening on //p' "$data/broker.out")"
    HTTP="$(sed -n 's/^http listening on //p' "$data/broker.out")"
    if [ -n "$ADDR" ] && { [ "$want_http" = 0 ] || [ -n "$HTTP" ]; }; then return 0; fi
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  echo "actormq-broker did not start" >&2
  cat "$data/broker.log" >&2
  exit 1
}

produce_w1_records() {
  local perf="$1" addr="$2" topic="$3" count="$4" out="$5"
  if ! "$perf" produce --broker "$addr" --no-progress --topic "$topic" --producers 1 \
    --batch-bytes 1048576 --linger-ms 5 --max-in-flight 1 --size 100 --count "$count" \
    --acks leader --seconds 600 --label W1 > "$out" 2>&1 ||
    ! grep -q "errors=0 unacked=0" "$out"; then
    cat "$out" >&2
    echo "producing $count records to $topic failed" >&2
    exit 1
  fi
}
