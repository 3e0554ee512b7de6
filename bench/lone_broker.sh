# Sourced by the bench scripts that run one broker of their own (perf_stat_broker.sh,
# run_divert.sh, inspector_cpu.sh; run_actormq.sh has its own, with clusters and inspection).
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
