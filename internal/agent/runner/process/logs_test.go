package process

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/everynode/everynode/internal/agent/runner"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func TestLogWriter(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes)
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"full lines", "a\nb\n", "2026-01-02T03:04:05.000000006Z stdout F a\n2026-01-02T03:04:05.000000006Z stdout F b\n"},
		{"empty line", "\n", "2026-01-02T03:04:05.000000006Z stdout F \n"},
		{"last line without newline is full", "a", "2026-01-02T03:04:05.000000006Z stdout F a\n"},
		{"carriage return is kept", "a\r\n", "2026-01-02T03:04:05.000000006Z stdout F a\r\n"},
		{
			"a line longer than the buffer is split into partial records",
			long + "yz\n",
			"2026-01-02T03:04:05.000000006Z stdout P " + long + "\n2026-01-02T03:04:05.000000006Z stdout F yz\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			lw := &logWriter{out: &buf, now: func() time.Time { return t0 }}
			if err := lw.copyStream("stdout", strings.NewReader(tc.input)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("log of %q (-want +got):\n%s", tc.input, diff)
			}
		})
	}
}

func TestLogOutput(t *testing.T) {
	const log = "2026-01-02T03:04:05.000000001Z stdout F one\n" +
		"2026-01-02T03:04:06.000000002Z stderr P tw\n" +
		"2026-01-02T03:04:06.000000003Z stderr F o\n" +
		"2026-01-02T03:04:07.000000004Z stdout F three\n" +
		"2026-01-02T03:04:08.000000005Z stdout F inco" // being written
	since := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
	tests := []struct {
		name string
		opts runner.LogOptions
		want string
	}{
		{"everything, without the incomplete line", runner.LogOptions{}, "one\ntwo\nthree\n"},
		{"tail 2 counts a split line once", runner.LogOptions{TailLines: ptr[int64](2)}, "two\nthree\n"},
		{"tail 1", runner.LogOptions{TailLines: ptr[int64](1)}, "three\n"},
		{"limitBytes cuts mid-line", runner.LogOptions{LimitBytes: ptr[int64](6)}, "one\ntw"},
		{"sinceTime", runner.LogOptions{SinceTime: &since}, "two\nthree\n"},
		{
			"timestamps prefix each record",
			runner.LogOptions{Timestamps: true, TailLines: ptr[int64](1)},
			"2026-01-02T03:04:07.000000004Z three\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/log"
			if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := followLog(t.Context(), path, tc.opts, func() bool { return true }, &buf); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("Logs(%+v) (-want +got):\n%s", tc.opts, diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCgroupLimits(t *testing.T) {
	tests := []struct {
		name       string
		spec       runner.ContainerSpec
		wantMemory string
		wantCPU    string
	}{
		{"no limits", runner.ContainerSpec{}, "max", "max 100000"},
		{"256Mi and 500m", runner.ContainerSpec{MemoryBytes: 256 << 20, CPUMillis: 500}, "268435456", "50000 100000"},
		{"2 CPUs", runner.ContainerSpec{CPUMillis: 2000}, "max", "200000 100000"},
		{"1m is raised to the kernel's 1ms minimum quota", runner.ContainerSpec{CPUMillis: 1}, "max", "1000 100000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			memory, cpu := cgroupLimits(tc.spec)
			if diff := cmp.Diff([]string{tc.wantMemory, tc.wantCPU}, []string{memory, cpu}); diff != "" {
				t.Errorf("memory.max, cpu.max (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlive(t *testing.T) {
	self := os.Getpid()
	ticks, err := startTicks(self)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pid   int
		ticks uint64
		want  bool
	}{
		{"the recorded process", self, ticks, true},
		{"pid reused by a process started at another time", self, ticks + 1, false},
		{"no such pid", 1 << 30, ticks, false},
		{"no pid recorded", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := alive(tc.pid, tc.ticks); got != tc.want {
				t.Errorf("alive(%d, %d) = %v, want %v", tc.pid, tc.ticks, got, tc.want)
			}
		})
	}
}
