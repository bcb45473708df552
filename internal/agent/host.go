package agent

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// HostInfo is what the node reports about its machine.
type HostInfo struct {
	Hostname        string
	OSImage         string // PRETTY_NAME of /etc/os-release
	KernelVersion   string
	OperatingSystem string // runtime.GOOS
	Architecture    string // runtime.GOARCH
	MachineID       string
	CPUs            int64
	MemoryBytes     int64 // MemTotal of /proc/meminfo
}

// ReadHostInfo reads this machine's facts; what cannot be read stays empty.
func ReadHostInfo() HostInfo {
	h := HostInfo{
		OperatingSystem: runtime.GOOS,
		Architecture:    runtime.GOARCH,
		CPUs:            int64(runtime.NumCPU()),
		OSImage:         "Unknown",
	}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if v, ok := osReleaseValue(b, "PRETTY_NAME"); ok {
			h.OSImage = v
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.KernelVersion = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		h.MachineID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		h.MemoryBytes = memTotal(b)
	}
	return h
}

// osReleaseValue reads KEY=value (optionally quoted) from os-release.
func osReleaseValue(b []byte, key string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), key+"=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			return u, true
		}
		return strings.Trim(v, `'"`), true
	}
	return "", false
}

// memTotal parses "MemTotal:  16310540 kB" into bytes.
func memTotal(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0
			}
			if len(f) >= 3 && f[2] == "kB" {
				n *= 1024
			}
			return n
		}
	}
	return 0
}
