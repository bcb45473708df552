package validation

import (
	"encoding/json"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// isDualStack reports whether the addresses (or CIDRs) contain at least one
// IPv4 and one IPv6 entry.
func isDualStack(values []string) bool {
	v4, v6 := false, false
	for _, v := range values {
		s, _, _ := strings.Cut(v, "/")
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		if addr.Is4() || addr.Is4In6() {
			v4 = true
		} else {
			v6 = true
		}
	}
	return v4 && v6
}

// podSpecFields returns the spec as a map keyed by JSON field name, so
// changed fields can be named without reflection over Go field names.
func podSpecFields(spec *corev1.PodSpec) map[string]json.RawMessage {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}
