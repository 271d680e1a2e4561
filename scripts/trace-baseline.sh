#!/usr/bin/env bash
# Records what the release CLI prints for every scenario × controller (section scenarios: every controller; the
# other models: their own default) plus list, export-scenario, weights, compare and tune, into DIR, so a refactor
# can be checked byte for byte:   scripts/trace-baseline.sh /tmp/before; (change); scripts/trace-baseline.sh
# /tmp/after; diff -r /tmp/before /tmp/after.  The JSON's wall_seconds (wall time) is blanked; all else is kept.
set -euo pipefail
out=${1:?usage: scripts/trace-baseline.sh DIR}
cli=${LOADLAB:-target/release/loadlab}
mkdir -p "$out"
wall='s/"wall_seconds":[0-9.e+-]*/"wall_seconds":0/g'
run() { # name, then run's arguments
    local name=$1
    shift
    "$cli" run "$@" --format csv >"$out/$name.csv" 2>&1 || echo "exit $?" >>"$out/$name.csv"
    "$cli" run "$@" --format json 2>&1 | sed -E "$wall" >"$out/$name.json" || true
}
"$cli" list >"$out/list.txt"
"$cli" list --format json >"$out/list.json"
scenarios=$("$cli" list --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(s["name"]+":"+s["model"] for s in d["scenarios"]))')
controllers=$("$cli" list --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(c["name"] for c in d["controllers"]))')
for sm in $scenarios; do
    s=${sm%%:*} m=${sm##*:}
    "$cli" export-scenario --scenario "$s" >"$out/export-$s.toml" 2>&1 || true
    if [ "$m" = section ]; then
        for c in $controllers; do run "$s-$c" --scenario "$s" --controller "$c" --duration 60 --seed 1; done
    else
        run "$s" --scenario "$s" --duration 600 --seed 1 --time-step 10
    fi
done
# Controller switches and choices at their non-default values (issue 18 retypes them).
run slow-mwl-sets --scenario slow --controller mw-legacy --duration 40 --seed 2 --set shared_cache=0
run slow-mwlm-sets --scenario slow --controller mw-loadmonitor --duration 40 --seed 2 --set freshness=0 --set lag_times=1 --set shared_cache=0
run slow-connp-sets --scenario slow --controller conn-p --duration 40 --seed 2 --set scope=1
run slow-pid-sets --scenario slow --controller pid --duration 40 --seed 2 --set scope=1 --set kd=0.01
run slow-lc-sets --scenario slow --controller least-conn --duration 40 --seed 2 --set weighted_leastconn=0
run slow-envoy-sets --scenario refuse --controller envoy-least-request --duration 40 --seed 2 --set always_eject_one_host=1 --set slow_start_window_s=5
run mmc-lognormal --scenario mmc --duration 20 --seed 5 --set latency_dist=lognormal --set lognormal_sigma=1.5
run bad-key --scenario slow --controller pid --duration 5 --set kpp=1
run bad-switch --scenario slow --controller least-conn --duration 5 --set weighted_leastconn=2
"$cli" weights --controller conn-p --loads 100,200,300 --conns 10,20,30 >"$out/weights-connp.txt" 2>&1 || true
"$cli" weights --controller pid --loads 100,200,300 --conns 10,20,30 >"$out/weights-pid.txt" 2>&1 || true
"$cli" compare --scenario slow --scenario refuse --duration 40 --seed 1 >"$out/compare.txt" 2>&1 || true
"$cli" compare --scenario plain-s1 --scenario quiet --duration 30 --controllers static,pid >"$out/compare-healthy.txt" 2>&1 || true
"$cli" compare --scenario slow --duration 30 --controllers conn-p,pid --set scope=1 >"$out/compare-sets.txt" 2>&1 || true
"$cli" tune --controller pid --scenarios slow --budget 3 --duration 30 >"$out/tune.txt" 2>&1 || true
echo "recorded $(ls "$out" | wc -l) files in $out"
