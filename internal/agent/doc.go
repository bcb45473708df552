// Package agent is the node agent, everynode's kubelet: it registers its
// Node, heartbeats through a Lease and NodeStatus, runs the pods bound to its
// node through a runner.Runner (admission, init and app containers, restart
// policy with CrashLoopBackOff, probes, graceful stop), reports their status
// and serves their logs to the API server. It talks to the cluster only
// through client-go and never imports a runner implementation: the cli wires
// one in. Its decisions (admission, what to run now and the resulting status,
// backoff, probe thresholds, environment) are pure functions tested on plain
// values; Agent only gathers snapshots and applies plans. Imported by cli and
// sim.
package agent
