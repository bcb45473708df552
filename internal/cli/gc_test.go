package cli

import (
	"runtime/debug"
	"testing"
)

func TestSetServerGC(t *testing.T) {
	tests := []struct {
		name string
		gogc string
		want int
	}{
		{name: "GOGC unset: the server's target", gogc: "", want: serverGCPercent},
		{name: "GOGC set: left to the runtime", gogc: "200", want: 137},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := debug.SetGCPercent(137)
			defer debug.SetGCPercent(orig)
			setServerGC(func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			})
			if got := debug.SetGCPercent(orig); got != tc.want {
				t.Errorf("GC percent %d, want %d", got, tc.want)
			}
		})
	}
}
