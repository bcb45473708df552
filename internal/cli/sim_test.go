package cli

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseChurn(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"empty is no churn", "", 0, false},
		{"zero rate is no churn", "0/min", 0, false},
		{"one per minute", "1/min", time.Minute, false},
		{"five per second", "5/s", 200 * time.Millisecond, false},
		{"fractional rate", "0.5/h", 2 * time.Hour, false},
		{"plain interval", "30s", 30 * time.Second, false},
		{"unknown unit", "1/day", 0, true},
		{"not a count", "x/min", 0, true},
		{"not a duration", "often", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseChurn(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseChurn(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseChurn(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
