#!/usr/bin/env bash
# Runs Kubernetes' own DaemonSet conformance specs (k8s.io/kubernetes
# test/e2e/apps, v1.37) against a fresh everynode cluster of simulated nodes.
#
#   run.sh               the 8 [Conformance] specs (Daemon set + ControllerRevision), 20 nodes
#   run.sh extra         the DaemonSet node-affinity and OnDelete specs (not conformance), 20 nodes
#   run.sh surge         the DaemonSet surge spec (not conformance), 5 nodes: it assumes 1 surge pod
#   run.sh '<regex>'     any other ginkgo focus
#   run.sh FOCUS ARGS... passes ARGS on to the test binary (e.g. --ginkgo.v)
#
# The framework runs with its default flags: only --kubeconfig, --provider and
# the focus are passed, nothing that lowers what the server must do.
#
# Env: NODES (simulated nodes; default 20, 5 for surge), KEEP=1 keeps the
# temporary data dir (it is always kept when a spec fails), CONFORMANCE_CACHE
# (where the test binary is built; default ${XDG_CACHE_HOME:-$HOME/.cache}/everynode-conformance).
# Exits non-zero when any spec fails.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/everynode-conformance}

CONFORMANCE_FOCUS='\[sig-apps\] (Daemon set|ControllerRevision) .*\[Conformance\]'
case "${1:-conformance}" in
  conformance) FOCUS=$CONFORMANCE_FOCUS ;;
  extra) FOCUS='\[sig-apps\] Daemon set should (run and stop complex daemon with node affinity|not update pod when spec was updated and update strategy is OnDelete)' ;;
  surge) FOCUS='\[sig-apps\] Daemon set should surge pods onto nodes' NODES=${NODES:-5} ;;
  -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
  *) FOCUS=$1 ;;
esac
NODES=${NODES:-20}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# --- build: the test binary (own module, cached outside the repo) and everynode
mkdir -p "$CACHE"
t0=$(date +%s)
log "building the conformance test binary (first build: 15-25 min; then seconds)"
(cd "$HERE" && go test -c -vet=off -o "$CACHE/conformance.test" .)
log "building everynode"
(cd "$ROOT" && go build -o "$CACHE/everynode" ./cmd/everynode)
t1=$(date +%s)
EN=$CACHE/everynode

# --- cluster: a server and $NODES fake-runtime agents in a temporary dir
TMP=$(mktemp -d "${TMPDIR:-/tmp}/everynode-conformance.XXXXXX")
PIDS=()
status=1
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
  if [ "$status" = 0 ] && [ "${KEEP:-}" != 1 ]; then
    rm -rf "$TMP"
  else
    log "logs and data kept in $TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

waitfor() { # desc seconds cmd...
  local desc=$1 to=$2
  shift 2
  for ((i = 0; i < to * 5; i++)); do "$@" > /dev/null 2>&1 && return 0; sleep 0.2; done
  log "timeout waiting for $desc"
  return 1
}

"$EN" server --data-dir "$TMP/server" --listen 127.0.0.1:0 --unsafe-fast-etcd > "$TMP/server.log" 2>&1 &
PIDS+=($!)
waitfor "the server" 60 grep -q 'everynode server listening on' "$TMP/server.log"
URL=$(sed -n 's/.*everynode server listening on \([^ ]*\) .*/\1/p' "$TMP/server.log" | head -1)
export KUBECONFIG=$TMP/server/admin.kubeconfig
log "server at $URL"

# The pattern makes "foo:non-existent" (the rollback spec's image) fail to
# pull, as it would on a real node.
for i in $(seq "$NODES"); do
  "$EN" agent --runtime fake --fake-unpullable-images '*:non-existent' \
    --server "$URL" --token "$(cat "$TMP/server/join-token")" \
    --node-name "sim-$i" --data-dir "$TMP/agents/sim-$i" > "$TMP/agent-sim-$i.log" 2>&1 &
  PIDS+=($!)
done
nodes_ready() {
  [ "$("$EN" kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')" -ge "$NODES" ]
}
waitfor "$NODES Ready nodes" 120 nodes_ready
t2=$(date +%s)
log "$NODES nodes Ready"

# --- the specs
color=()
[ -t 1 ] || color=(--ginkgo.no-color)
set +e
"$CACHE/conformance.test" --kubeconfig "$KUBECONFIG" --provider=skeleton \
  --ginkgo.focus="$FOCUS" --ginkgo.silence-skips "${color[@]}" "${@:2}" 2>&1 | tee "$TMP/ginkgo.log"
status=${PIPESTATUS[0]}
set -e
t3=$(date +%s)
log "build $((t1 - t0))s, cluster up $((t2 - t1))s, specs $((t3 - t2))s; exit status $status"
exit "$status"
