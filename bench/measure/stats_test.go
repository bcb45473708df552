package main

import (
	"testing"
	"time"
)

func TestDistOf(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want Dist
	}{
		{"empty", nil, Dist{}},
		{"one", ms(7), Dist{Count: 1, MinMs: 7, P50Ms: 7, P99Ms: 7, MaxMs: 7}},
		{"two", ms(9, 1), Dist{Count: 2, MinMs: 1, P50Ms: 1, P99Ms: 9, MaxMs: 9}},
		{"hundred", ms(hundred...), Dist{Count: 100, MinMs: 1, P50Ms: 50, P99Ms: 99, MaxMs: 100}},
		{"negative lateness", ms(-3, 2, 4), Dist{Count: 3, MinMs: -3, P50Ms: 2, P99Ms: 4, MaxMs: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := distOf(tc.in); got != tc.want {
				t.Errorf("distOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}
