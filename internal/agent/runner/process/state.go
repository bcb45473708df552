package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/everynode/everynode/internal/agent/runner"
)

// The files of a container's state directory.
const (
	specFile  = "spec.json"  // written by the runner before the shim starts
	stateFile = "state.json" // written by the shim: start, then exit
	logFile   = "container.log"
	shimLog   = "shim.log" // the shim's own stdout and stderr
)

// record is spec.json: what the shim needs to start the container.
type record struct {
	Spec runner.ContainerSpec
	// Cgroup is the container's cgroup directory, already created and
	// limited by the runner; empty when limits are not enforced.
	Cgroup string `json:",omitempty"`
}

// shimState is state.json, written atomically by the shim: once when the
// process has started (or failed to), once more when it has exited.
type shimState struct {
	ShimPid        int
	ShimStartTicks uint64
	// Pid is the container's process, also the leader of its process group.
	Pid           int
	PidStartTicks uint64
	StartedAt     time.Time
	// StartError is set when the process could not be started at all.
	StartError string `json:",omitempty"`

	Exited     bool
	ExitCode   int
	FinishedAt time.Time
	Reason     string
	Message    string `json:",omitempty"`
}

// writeJSONAtomic writes v to path so that readers see the old or the new
// content, never a partial file.
func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// startTicks returns the start time of a process in clock ticks since boot
// (field 22 of /proc/<pid>/stat). Together with the pid it identifies a
// process across pid reuse.
func startTicks(pid int) (uint64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may itself contain
	// spaces or parentheses: the fields we want follow its last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// alive reports whether the process pid is still the one that started at
// ticks (and not a later process that reused its pid).
func alive(pid int, ticks uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := startTicks(pid)
	return err == nil && got == ticks
}

// signalProcess sends sig to pid if it is still the process recorded with ticks.
func signalProcess(pid int, ticks uint64, sig syscall.Signal) error {
	if !alive(pid, ticks) {
		return nil
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %d to pid %d: %w", sig, pid, err)
	}
	return nil
}
