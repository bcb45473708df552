package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// simulators are the --procs names that stand for the nodes, not the
// control plane.
var simulators = []string{"sim", "kwok"}

// printTable prints the results in files side by side as a markdown
// table; with two files, a last column says how many times the second's
// figure is the first's.
func printTable(w io.Writer, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("-table needs result files")
	}
	var rs []*Result
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		r := &Result{}
		if err := json.Unmarshal(data, r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		rs = append(rs, r)
	}
	head := "| scenario |"
	rule := "|---|"
	for _, r := range rs {
		head += fmt.Sprintf(" %s (N=%d) |", r.Label, r.Nodes)
		rule += "---|"
	}
	if len(rs) == 2 {
		head += " ratio |"
		rule += "---|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	figs := make([]map[string]float64, len(rs))
	for i, r := range rs {
		figs[i] = figures(r)
	}
	for _, row := range tableRows {
		cells := make([]string, len(rs))
		vals := make([]float64, len(rs))
		oks := make([]bool, len(rs))
		any := false
		for i := range rs {
			vals[i], oks[i] = figs[i][row.key]
			if oks[i] {
				cells[i] = fmt.Sprintf(row.format, vals[i])
				any = true
			} else {
				cells[i] = "–"
			}
		}
		if !any {
			continue
		}
		line := "| " + row.name + " | " + strings.Join(cells, " | ") + " |"
		if len(rs) == 2 {
			ratio := "–"
			if oks[0] && oks[1] && vals[0] > 0 && row.ratio {
				ratio = fmt.Sprintf("%.1f×", vals[1]/vals[0])
			}
			line += " " + ratio + " |"
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

type tableRow struct {
	name, key, format string
	ratio             bool // a "times" ratio makes sense (not for signed lateness)
}

var tableRows = []tableRow{
	{"steady: control plane CPU (cores)", "steady.cpu", "%.3f", true},
	{"steady: node simulator CPU (cores)", "steady.sim.cpu", "%.3f", true},
	{"steady: control plane RSS (MiB)", "steady.rss", "%.0f", true},
	{"rollout: apply → all pods created (s)", "rollout.created", "%.2f", true},
	{"rollout: apply → numberReady == N (s)", "rollout.ready", "%.2f", true},
	{"rollout: control plane CPU (s)", "rollout.cpu", "%.2f", true},
	{"rollout: control plane peak RSS (MiB)", "rollout.peak", "%.0f", true},
	{"join: node added → pod Ready p50 (ms)", "join.pod.p50", "%.0f", true},
	{"join: node added → pod Ready p99 (ms)", "join.pod.p99", "%.0f", true},
	{"join: node added → DaemonSet status p50 (ms)", "join.ds.p50", "%.0f", true},
	{"join: node added → DaemonSet status p99 (ms)", "join.ds.p99", "%.0f", true},
	{"rolling update, maxUnavailable 10 % (s)", "update.ready", "%.2f", true},
	{"rolling update: control plane CPU (s)", "update.cpu", "%.2f", true},
	{"eviction: lateness p50 (ms)", "evict.p50", "%.0f", false},
	{"eviction: lateness p99 (ms)", "evict.p99", "%.0f", false},
	{"eviction: spread max − min (ms)", "evict.spread", "%.0f", true},
	{"control plane peak RSS over the run (MiB)", "peak", "%.0f", true},
}

// figures flattens a result into the table's keys; RSS and CPU figures
// add up the control plane's processes (everything but the simulators).
func figures(r *Result) map[string]float64 {
	m := map[string]float64{}
	var phases []map[string]ProcResult
	if s := r.Steady; s != nil {
		m["steady.cpu"] = sum(s.Procs, false, cpu) / s.WindowS
		m["steady.sim.cpu"] = sum(s.Procs, true, cpu) / s.WindowS
		m["steady.rss"] = sum(s.Procs, false, endRSS)
		phases = append(phases, s.Procs)
	}
	if ro := r.Rollout; ro != nil {
		m["rollout.created"] = ro.AllCreatedS
		m["rollout.ready"] = ro.ReadyS
		m["rollout.cpu"] = sum(ro.Procs, false, cpu)
		m["rollout.peak"] = sum(ro.Procs, false, peak)
		phases = append(phases, ro.Procs)
	}
	if j := r.Join; j != nil {
		m["join.pod.p50"], m["join.pod.p99"] = j.PodReady.P50Ms, j.PodReady.P99Ms
		m["join.ds.p50"], m["join.ds.p99"] = j.DSCounted.P50Ms, j.DSCounted.P99Ms
		phases = append(phases, j.Procs)
	}
	if u := r.Update; u != nil {
		m["update.ready"] = u.ReadyS
		m["update.cpu"] = sum(u.Procs, false, cpu)
		phases = append(phases, u.Procs)
	}
	if e := r.Evict; e != nil {
		m["evict.p50"], m["evict.p99"] = e.Lateness.P50Ms, e.Lateness.P99Ms
		m["evict.spread"] = e.Lateness.MaxMs - e.Lateness.MinMs
		phases = append(phases, e.Procs)
	}
	for _, ps := range phases {
		m["peak"] = max(m["peak"], sum(ps, false, lifePeak))
	}
	return m
}

// sum adds f over the processes of one side (control plane or node
// simulators).
func sum(procs map[string]ProcResult, simulator bool, f func(ProcResult) float64) float64 {
	var t float64
	for name, p := range procs {
		if slices.Contains(simulators, name) == simulator {
			t += f(p)
		}
	}
	return t
}

func cpu(p ProcResult) float64      { return p.CPUSeconds }
func peak(p ProcResult) float64     { return p.PeakRSSMiB }
func endRSS(p ProcResult) float64   { return p.EndRSSMiB }
func lifePeak(p ProcResult) float64 { return p.LifetimePeakRSSMiB }
