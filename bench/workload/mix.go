package workload

import (
	"fmt"
	"strconv"
	"strings"
)

// Mix is a read/update mix: Read percent of operations are lookups, the
// rest updates, split evenly between inserts and deletes so that a
// prefilled set or map stays at its steady-state size.
type Mix struct {
	Read int // 0..100
}

// Mixes are the mixes of the reclamation literature (IBR, Hyaline):
// read-only, read-mostly, balanced, update-only.
func Mixes() []Mix { return []Mix{{100}, {90}, {50}, {0}} }

// String is "read/update", as in "90/10".
func (m Mix) String() string { return fmt.Sprintf("%d/%d", m.Read, 100-m.Read) }

// Slug is the mix as a file-name and benchmark-name part, as in "90-10".
func (m Mix) Slug() string { return fmt.Sprintf("%d-%d", m.Read, 100-m.Read) }

// ParseMix parses "90/10" (or "90-10", or "90").
func ParseMix(s string) (Mix, error) {
	r, u, two := strings.Cut(strings.ReplaceAll(s, "-", "/"), "/")
	read, err := strconv.Atoi(r)
	if err != nil || read < 0 || read > 100 {
		return Mix{}, fmt.Errorf("mix %q: want read/update percentages such as 90/10", s)
	}
	if two {
		if upd, err := strconv.Atoi(u); err != nil || read+upd != 100 {
			return Mix{}, fmt.Errorf("mix %q: the two percentages must add up to 100", s)
		}
	}
	return Mix{Read: read}, nil
}
