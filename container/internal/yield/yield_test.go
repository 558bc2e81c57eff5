package yield

import "testing"

func TestPoint(t *testing.T) {
	for range 100 {
		Point()
	}
}
