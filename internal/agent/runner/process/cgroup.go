package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/everynode/everynode/internal/agent/runner"
)

// DefaultCgroupRoot is where containers' cgroups are created when
// Config.CgroupRoot is empty: a child of the cgroup v2 root, because a
// cgroup that holds processes (such as the agent's own) cannot delegate
// controllers to children.
const DefaultCgroupRoot = "/sys/fs/cgroup/everynode"

// cgroup2Magic is the statfs type of a cgroup v2 filesystem.
const cgroup2Magic = 0x63677270

// cpuPeriodMicros is the cpu.max period; the quota is the share of it the
// CPU limit allows.
const cpuPeriodMicros = 100000

// prepareCgroupRoot makes root a cgroup whose children may use the memory
// and cpu controllers. The error says why limits cannot be enforced.
func prepareCgroupRoot(root string) error {
	parent := filepath.Dir(root)
	var fs syscall.Statfs_t
	if err := syscall.Statfs(parent, &fs); err != nil {
		return fmt.Errorf("cgroup v2 is not available at %s: %w", parent, err)
	}
	if int64(fs.Type) != cgroup2Magic {
		return fmt.Errorf("%s is not a cgroup v2 filesystem (cgroup v1 or none)", parent)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", root, err)
	}
	if err := enableControllers(parent); err != nil {
		return err
	}
	return enableControllers(root)
}

// enableControllers turns on the memory and cpu controllers for the
// children of dir, unless they are on already.
func enableControllers(dir string) error {
	file := filepath.Join(dir, "cgroup.subtree_control")
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	on := strings.Fields(string(data))
	for _, c := range []string{"memory", "cpu"} {
		if contains(on, c) {
			continue
		}
		if err := os.WriteFile(file, []byte("+"+c), 0o644); err != nil {
			return fmt.Errorf("enable the %s controller in %s: %w", c, file, err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// createCgroup creates the cgroup of one container under root with its
// limits; zero limits mean "max".
func createCgroup(root string, id runner.ID, spec runner.ContainerSpec) (string, error) {
	dir := filepath.Join(root, string(id))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	memory, cpu := cgroupLimits(spec)
	for file, value := range map[string]string{"memory.max": memory, "cpu.max": cpu} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
			_ = os.Remove(dir)
			return "", fmt.Errorf("set %s of %s: %w", file, dir, err)
		}
	}
	return dir, nil
}

// cgroupLimits returns the memory.max and cpu.max values for a spec.
func cgroupLimits(spec runner.ContainerSpec) (memory, cpu string) {
	memory, cpu = "max", "max "+strconv.Itoa(cpuPeriodMicros)
	if spec.MemoryBytes > 0 {
		memory = strconv.FormatInt(spec.MemoryBytes, 10)
	}
	if spec.CPUMillis > 0 {
		// The kernel refuses quotas under 1ms.
		quota := max(spec.CPUMillis*cpuPeriodMicros/1000, 1000)
		cpu = strconv.FormatInt(quota, 10) + " " + strconv.Itoa(cpuPeriodMicros)
	}
	return memory, cpu
}

// oomKilled reports whether the kernel killed a process of the cgroup for
// running out of memory.
func oomKilled(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "memory.events"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, n, ok := strings.Cut(line, " "); ok && name == "oom_kill" {
			return n != "0"
		}
	}
	return false
}

// killCgroup kills every process left in the cgroup.
func killCgroup(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644)
}

// removeCgroup removes the cgroup directory; it fails while processes
// remain, which a later Remove retries.
func removeCgroup(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}
