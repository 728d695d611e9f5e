#!/usr/bin/env bash
# restartbench: what a restart of `spotcast serve` on a whole-market store
# costs, in one run (BENCHMARKS.md "Whole-market engine"):
#   1. seconds from start to the first answer served from the persisted
#      forecasts and to /readyz ready (goal: <= 10 s);
#   2. a cold GET /v1/recommend/placement (the first one after the restart;
#      goal <= 100 ms), then the same request again (its cache);
#   3. HTTP latency at a fixed rate over distinct pools right after the
#      restart, no warm-up (goal: p99 <= 25 ms at 1,000 req/s over 5,000
#      pools), with /healthz at the same rate as the machine's own floor.
# The load average is printed beside each step (the machine may be shared).
#
#   go build -o /tmp/spotcast ./cmd/spotcast && go build -o /tmp/loadgen ./tools/loadgen
#   BIN=/tmp/spotcast LOADGEN=/tmp/loadgen tools/restartbench.sh STORE
#
# LOADGEN_FLAGS=-timeline prints each second of the loads apart (when in
# the first 20 s the tail happens); SERVE_LOG=FILE keeps serve's log
# (with GODEBUG=gctrace=1 in the environment: its GC cycles).
#
# The store must have been refitted once (spotcast refit --db STORE).
set -euo pipefail
DB=${1:?usage: restartbench.sh STORE}
BIN=${BIN:-bin/spotcast}
LOADGEN=${LOADGEN:-loadgen}
ADDR=${ADDR:-127.0.0.1:18282}
RATE=${RATE:-1000}
POOLS=${POOLS:-5000}
DURATION=${DURATION:-20s}
GPU=${GPU:-A100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Distinct pools spread over the whole store.
"$BIN" pools --db "$DB" --json 2>/dev/null | python3 -c '
import json, sys, urllib.parse
pools = json.load(sys.stdin)["pools"]
n = int(sys.argv[2])
step = max(1, len(pools) // n)
for p in pools[::step][:n]:
    q = urllib.parse.urlencode({"instance_type": p["instance_type"], "zone": p["zone"], "product": p["product"]})
    print("http://" + sys.argv[1] + "/v1/forecast/price?" + q)
' "$ADDR" "$POOLS" > "$work/urls"
echo "pools: $(wc -l < "$work/urls") distinct"

echo "load average before start: $(load)"
start=$(date +%s.%N)
"$BIN" serve --db "$DB" --http-addr "$ADDR" --grpc-addr off 2> "$work/serve.log" &
pid=$!
# Wait for the server to exit: the next run (or command) opens the same store.
trap 'kill $pid 2>/dev/null && wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
first=$(head -1 "$work/urls")
until curl -sf "$first" 2>/dev/null | grep -Eq '"precomputed": ?true'; do
	kill -0 $pid 2>/dev/null || { cat "$work/serve.log"; exit 1; }
	sleep 0.05
done
echo "restart to first precomputed answer: $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s (load $(load))"
# Until every persisted forecast is in memory, a pool's is read from the
# store; /readyz says ready once they all are (where a load balancer
# starts sending traffic).
until curl -sf -o /dev/null "http://$ADDR/readyz"; do sleep 0.05; done
echo "restart to ready (every persisted forecast in memory): $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s (load $(load))"

placement="http://$ADDR/v1/recommend/placement?gpu_model=$GPU"
for run in cold cached; do
	curl -sf -o "$work/placement.json" -w "placement $GPU $run: %{time_total} s, HTTP %{http_code}\n" "$placement"
done
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print("placement: %s candidates, %d ranked, precomputed %s" % (p.get("candidates"), len(p.get("ranked") or []), p.get("precomputed")))
' "$work/placement.json"

echo "load average before the load: $(load)"
echo "/v1/forecast/price over $(wc -l < "$work/urls") pools at $RATE req/s for $DURATION, no warm-up, from $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s after start ($(date -u +%T.%N | cut -c1-12) UTC):"
"$LOADGEN" -rate "$RATE" -duration "$DURATION" -warmup 0 ${LOADGEN_FLAGS:-} $(cat "$work/urls") || true
echo "load average after: $(load)"
# The same once the start-up jobs (the refit of changed pools, the
# watched pools' backtest) are done: a cold placement of another GPU model
# and the same load.
until grep -q 'job=backtest' "$work/serve.log"; do sleep 0.2; done
echo "start-up jobs done at $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s (load $(load))"
curl -sf -o /dev/null -w "placement ${GPU2:-H100} cold, after the start-up jobs: %{time_total} s, HTTP %{http_code}\n" "http://$ADDR/v1/recommend/placement?gpu_model=${GPU2:-H100}"
echo "/v1/forecast/price, same pools and rate, after the start-up jobs:"
"$LOADGEN" -rate "$RATE" -duration "$DURATION" -warmup 0 ${LOADGEN_FLAGS:-} $(cat "$work/urls") || true
echo "load average after: $(load)"
echo "/healthz (reference) at $RATE req/s for $DURATION:"
"$LOADGEN" -rate "$RATE" -duration "$DURATION" -warmup 0 "http://$ADDR/healthz" || true
echo "load average after: $(load)"
grep -E 'serving the persisted|msg=refit|msg=ready|job done|no watch list' "$work/serve.log" | cut -c1-240 || true
if [ -n "${SERVE_LOG:-}" ]; then cp "$work/serve.log" "$SERVE_LOG"; fi
