// Package sim is the fleet simulator behind `everynode sim`: many fake
// nodes from one process, each joining with its own credential and talking
// to the server over its own connection, so the server sees the load of N
// real agents. A simulated node does only what the control plane can see of
// a kubelet with the fake runtime — Node registration, Lease renewals,
// NodeStatus, a watch on its own pods, pods reported Running and Ready, and
// the final delete of terminating pods — without the informers, probe
// workers and logs server that make internal/agent too heavy to run by the
// thousand. The objects it writes are pure functions of plain values
// (status.go); Run wires them to the API. Imported by cli and bench tests.
package sim
