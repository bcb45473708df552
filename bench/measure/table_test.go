package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrintTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, r Result) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", Result{Label: "everynode", Nodes: 1000,
		Steady:  &Steady{WindowS: 10, Procs: map[string]ProcResult{"server": {CPUSeconds: 1, EndRSSMiB: 100}, "sim": {CPUSeconds: 5}}},
		Rollout: &Rollout{ReadyS: 2, Procs: map[string]ProcResult{"server": {CPUSeconds: 4, PeakRSSMiB: 120, LifetimePeakRSSMiB: 130}}},
		Evict:   &Evict{Lateness: Dist{Count: 2, MinMs: -5, P50Ms: 10, P99Ms: 20, MaxMs: 20}},
	})
	b := write("b.json", Result{Label: "kubernetes", Nodes: 1000,
		Steady:  &Steady{WindowS: 10, Procs: map[string]ProcResult{"kube-apiserver": {CPUSeconds: 6, EndRSSMiB: 400}, "etcd": {CPUSeconds: 3, EndRSSMiB: 100}, "kwok": {CPUSeconds: 9}}},
		Rollout: &Rollout{ReadyS: 50, Procs: map[string]ProcResult{"kube-apiserver": {CPUSeconds: 30, PeakRSSMiB: 500, LifetimePeakRSSMiB: 520}}},
		Evict:   &Evict{Lateness: Dist{Count: 2, MinMs: 100, P50Ms: 300, P99Ms: 900, MaxMs: 900}},
	})
	var out strings.Builder
	if err := printTable(&out, []string{a, b}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| scenario | everynode (N=1000) | kubernetes (N=1000) | ratio |",
		"| steady: control plane CPU (cores) | 0.100 | 0.900 | 9.0× |",
		"| steady: node simulator CPU (cores) | 0.500 | 0.900 | 1.8× |",
		"| steady: control plane RSS (MiB) | 100 | 500 | 5.0× |",
		"| rollout: apply → numberReady == N (s) | 2.00 | 50.00 | 25.0× |",
		"| eviction: lateness p99 (ms) | 20 | 900 | – |",
		"| eviction: spread max − min (ms) | 25 | 800 | 32.0× |",
		"| control plane peak RSS over the run (MiB) | 130 | 520 | 4.0× |",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "join:") {
		t.Errorf("rows of scenarios that did not run are printed:\n%s", out.String())
	}
}
