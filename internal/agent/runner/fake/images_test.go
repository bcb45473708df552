package fake

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnpullableImages(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		image    string
		want     bool
	}{
		{name: "no patterns: everything pulls", image: "busybox:1", want: true},
		{name: "tag glob refuses a matching image", patterns: []string{"*:non-existent"}, image: "foo:non-existent", want: false},
		{name: "tag glob spans no slash", patterns: []string{"*:non-existent"}, image: "registry.k8s.io/foo:non-existent", want: true},
		{name: "path glob for registry images", patterns: []string{"*/*:non-existent"}, image: "registry.k8s.io/foo:non-existent", want: false},
		{name: "other tags still pull", patterns: []string{"*:non-existent"}, image: "foo:1.0", want: true},
		{name: "exact name", patterns: []string{"a:1", "b:2"}, image: "b:2", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pullable, err := UnpullableImages(tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, pullable(tt.image)); diff != "" {
				t.Errorf("pullable(%q) (-want +got):\n%s", tt.image, diff)
			}
		})
	}
}

func TestUnpullableImagesRejectsBadPattern(t *testing.T) {
	if _, err := UnpullableImages([]string{"["}); err == nil {
		t.Fatal("want an error for a malformed pattern, got none")
	}
}
