// Package runnertest is the conformance suite every runner.Runner passes:
// the behaviour the node agent relies on (start, logs, exit codes, graceful
// stop, remove, list, exec, and finding containers again after an agent
// restart), checked the same way for every runtime. Imported only by the
// tests of runner implementations.
package runnertest
