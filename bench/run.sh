#!/usr/bin/env bash
# Bench scenario 1 (rollout) on everynode: build, start `everynode server`
# in a temporary data dir and `everynode sim --nodes N`, wait for N Ready
# nodes, create the DaemonSet of bench/daemonset.yaml and time it to
# numberReady == N, with the server's CPU seconds and peak RSS.
#
#   bench/run.sh [N]          (default 100)
#   KEEP=1 bench/run.sh 1000  keeps the work dir (logs, result.json)
#   IDLE=0 bench/run.sh 1000  skips the 10s idle window
set -euo pipefail
N=${1:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/everynode-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -z "${KEEP:-}" ]]; then rm -rf "$work"; else echo "work dir: $work" >&2; fi
}
trap cleanup EXIT

cd "$root"
go build -o "$work/everynode" ./cmd/everynode
go build -o "$work/rollout" ./bench/rollout

"$work/everynode" server --data-dir "$work/data" --listen 127.0.0.1:0 2>"$work/server.log" &
server=$!
pids+=("$server")
url=""
for _ in $(seq 300); do
  url=$(sed -n 's/^everynode server listening on \(https:[^ ]*\).*/\1/p' "$work/server.log" | head -1)
  [[ -n "$url" && -s "$work/data/join-token" ]] && break
  kill -0 "$server" || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "server did not start" >&2; exit 1; }
echo "server $url (pid $server)" >&2

"$work/everynode" sim --server "$url" --token "$(cat "$work/data/join-token")" --nodes "$N" \
  --labels everynode.io/sim=bench 2>"$work/sim.log" &
sim=$!
pids+=("$sim")
echo "sim --nodes $N (pid $sim)" >&2

"$work/rollout" --kubeconfig "$work/data/admin.kubeconfig" --nodes "$N" \
  --node-selector everynode.io/sim=bench --manifest "$root/bench/daemonset.yaml" \
  --procs "server=$server,sim=$sim" --label "everynode-N$N" --out "$work/result.json" \
  --idle "${IDLE:-10s}" >/dev/null
grep '^sim: all' "$work/sim.log" >&2 || true
