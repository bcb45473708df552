#!/usr/bin/env bash
# The bench scenarios of issue 6 on everynode and on the upstream baseline
# (Kubernetes 1.37 + kwok, built by ../shared/peer/run.sh), driven by the same
# measuring program (bench/measure), then printed side by side.
#
#   bench/run.sh [everynode|peer|both] [N]      (default: both 1000)
#
# Environment:
#   SCENARIOS=steady,rollout,join,update,evict  which scenarios, in this order
#   STEADY=2m     steady-state window        JOINS=50   node joins to time
#   KEEP=1        keep the work dir (logs, JSON results)
#   PEER=DIR      the peer harness (default ../shared/peer); built on first use (≈ 15–20 min)
set -euo pipefail
what=${1:-both}
N=${2:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
PEER=${PEER:-$root/../shared/peer}
work=$(mktemp -d /tmp/everynode-bench.XXXXXX)
measure_flags=(--nodes "$N" --manifest "$root/bench/daemonset.yaml"
  --scenarios "${SCENARIOS:-steady,rollout,join,update,evict}" --steady "${STEADY:-2m}" --joins "${JOINS:-50}")
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  if [[ -z "${KEEP:-}" ]]; then rm -rf "$work"; else echo "work dir: $work" >&2; fi
}
trap cleanup EXIT
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
waitfor() { # desc seconds cmd...
  local desc=$1 to=$2; shift 2
  for ((i = 0; i < to * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "timeout waiting for $desc"; return 1
}

cd "$root"
go build -o "$work/everynode" ./cmd/everynode
go build -o "$work/measure" ./bench/measure

run_everynode() {
  "$work/everynode" server --data-dir "$work/data" --listen 127.0.0.1:0 2>"$work/server.log" &
  local server=$!
  pids+=("$server")
  local url=""
  for _ in $(seq 300); do
    url=$(sed -n 's/^everynode server listening on \(https:[^ ]*\).*/\1/p' "$work/server.log" | head -1)
    [[ -n "$url" && -s "$work/data/join-token" ]] && break
    kill -0 "$server" || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n "$url" ]] || { echo "server did not start" >&2; exit 1; }
  local token
  token=$(cat "$work/data/join-token")
  "$work/everynode" sim --server "$url" --token "$token" --nodes "$N" \
    --labels everynode.io/sim=bench 2>"$work/sim.log" &
  local sim=$!
  pids+=("$sim")
  log "everynode: server $url (pid $server), sim --nodes $N (pid $sim)"
  # each join is a new agent process: a one-node sim, as a machine joining would be
  "$work/measure" --kubeconfig "$work/data/admin.kubeconfig" "${measure_flags[@]}" \
    --node-selector everynode.io/sim=bench --procs "server=$server,sim=$sim" --label everynode \
    --join-exec "'$work/everynode' sim --server '$url' --token '$token' --nodes 1 --name-prefix join-{i}- >/dev/null 2>&1" \
    --out "$work/everynode.json" >/dev/null
  stop_all
}

# The upstream control plane as ../shared/peer/run.sh starts it, with the
# controllers the scenarios need (its `up` runs only daemonset and
# nodelifecycle): taint eviction, garbage collection and pod GC too.
run_peer() {
  local bin=/tmp/peer/bin run=$work/peer
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [[ -x $bin/$b ]] || { log "building the peer ($PEER/run.sh build)"; "$PEER/run.sh" build; break; }
  done
  mkdir -p "$run/certs"
  openssl genrsa -out "$run/sa.key" 2048 2>/dev/null
  openssl rsa -in "$run/sa.key" -pubout -out "$run/sa.pub" 2>/dev/null
  local token kc=$run/admin.kubeconfig
  token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,admin,admin,system:masters" >"$run/tokens.csv"
  cat >"$kc" <<KC
apiVersion: v1
kind: Config
clusters:
- name: peer
  cluster: {server: "https://127.0.0.1:26443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: "$token"}
contexts:
- name: peer
  context: {cluster: peer, user: admin}
current-context: peer
KC
  local procs=""
  start() { local name=$1; shift; "$@" >"$run/$name.log" 2>&1 & pids+=("$!"); procs+="${procs:+,}$name=$!"; }
  start etcd "$bin/etcd" --name peer --data-dir "$run/etcd" --log-level warn \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster peer=http://127.0.0.1:23800 --listen-metrics-urls http://127.0.0.1:23810
  waitfor etcd 30 curl -sf http://127.0.0.1:23790/health
  start kube-apiserver "$bin/kube-apiserver" --etcd-servers http://127.0.0.1:23790 \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 26443 \
    --cert-dir "$run/certs" --token-auth-file "$run/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$run/sa.pub" --service-account-signing-key-file "$run/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none \
    --disable-admission-plugins ServiceAccount
  waitfor kube-apiserver 120 "$bin/kubectl" --kubeconfig "$kc" get --raw /readyz
  start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$kc" \
    --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port 20257 --cert-dir "$run/certs-kcm" --leader-elect=false \
    --controllers daemonset-controller,node-lifecycle-controller,taint-eviction-controller,garbage-collector-controller,pod-garbage-collector-controller
  start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$kc" \
    --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port 20259 --cert-dir "$run/certs-sched" --leader-elect=false
  start kwok "$bin/kwok" --kubeconfig "$kc" -c /tmp/peer/kwok-stages.yaml \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --server-address 127.0.0.1:20247 --node-ip 10.0.0.1 --cidr 10.0.0.1/16 --node-lease-duration-seconds 40
  waitfor kube-controller-manager 60 curl -skf https://127.0.0.1:20257/healthz
  waitfor kube-scheduler 60 curl -skf https://127.0.0.1:20259/healthz
  log "peer: $procs"
  "$work/measure" --kubeconfig "$kc" "${measure_flags[@]}" --create-kwok-nodes "$N" \
    --node-selector type=kwok --procs "$procs" --label kubernetes-1.37 --out "$work/peer.json" >/dev/null
  stop_all
}

files=()
case "$what" in
  everynode) run_everynode; files=("$work/everynode.json") ;;
  peer) run_peer; files=("$work/peer.json") ;;
  both) run_everynode; run_peer; files=("$work/everynode.json" "$work/peer.json") ;;
  *) echo "usage: $0 [everynode|peer|both] [N]" >&2; exit 2 ;;
esac
echo
"$work/measure" -table "${files[@]}"
