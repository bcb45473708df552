package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// proc is one control-plane (or simulator) process whose CPU and memory a
// phase accounts for.
type proc struct {
	name string
	pid  int
}

func parseProcs(s string) ([]proc, error) {
	var out []proc
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		name, pid, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil {
			return nil, fmt.Errorf("invalid --procs entry %q: want name=pid", kv)
		}
		out = append(out, proc{name, n})
	}
	return out, nil
}

// sample is one reading of a process from /proc.
type sample struct {
	cpuTicks     uint64
	hwmKB, rssKB uint64
}

// clkTck is sysconf(_SC_CLK_TCK), 100 on Linux.
const clkTck = 100.0

func readProc(pid int) (sample, error) {
	var s sample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which may hold spaces: utime and
	// stime are the 14th and 15th fields of the line.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	s.cpuTicks = ut + st
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			s.hwmKB, _ = strconv.ParseUint(f[1], 10, 64)
		case "VmRSS:":
			s.rssKB, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	return s, nil
}

// ProcResult is what one process used during a phase.
type ProcResult struct {
	CPUSeconds float64 `json:"cpu_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	EndRSSMiB  float64 `json:"end_rss_mib"`
	// LifetimePeakRSSMiB is the peak since the process started (the
	// phase's peak or an earlier one, whichever is higher).
	LifetimePeakRSSMiB float64 `json:"lifetime_peak_rss_mib"`
}

type phase struct {
	procs  []proc
	before map[string]sample
}

// startPhase samples the processes and resets their peak RSS, so that
// VmHWM at the end covers this phase only.
func startPhase(procs []proc) *phase {
	ph := &phase{procs: procs, before: map[string]sample{}}
	for _, p := range procs {
		s, err := readProc(p.pid)
		if err != nil {
			fmt.Fprintf(os.Stderr, "read /proc of %s: %v\n", p.name, err)
			continue
		}
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0)
		ph.before[p.name] = s
	}
	return ph
}

func (ph *phase) end() map[string]ProcResult {
	out := map[string]ProcResult{}
	for _, p := range ph.procs {
		s, err := readProc(p.pid)
		if err != nil {
			continue
		}
		b := ph.before[p.name]
		out[p.name] = ProcResult{
			CPUSeconds:         float64(s.cpuTicks-b.cpuTicks) / clkTck,
			PeakRSSMiB:         float64(s.hwmKB) / 1024,
			EndRSSMiB:          float64(s.rssKB) / 1024,
			LifetimePeakRSSMiB: float64(max(s.hwmKB, b.hwmKB)) / 1024,
		}
	}
	return out
}
