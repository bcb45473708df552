package fake

import (
	"fmt"
	"path"
)

// UnpullableImages returns a PullableImages function that refuses every
// image matching one of the glob patterns (path.Match syntax, e.g.
// "*:non-existent") and accepts all others; an image a real kubelet could
// never pull can thus be simulated without naming it in the product. A
// malformed pattern is an error.
func UnpullableImages(patterns []string) (func(image string) bool, error) {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("unpullable image pattern %q: %w", p, err)
		}
	}
	return func(image string) bool {
		for _, p := range patterns {
			if ok, _ := path.Match(p, image); ok {
				return false
			}
		}
		return true
	}, nil
}
