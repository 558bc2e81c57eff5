package stress

import "testing"

func TestRelativePackage(t *testing.T) {
	const mod = "github.com/go-reclaim/reclaim"
	for _, tc := range []struct{ bin, mod, want string }{
		{mod + "/container/stack.test", mod, "./container/stack"},
		{mod + "/stress.test", mod, "./stress"},
		{mod + ".test", mod, "."},
		{"example.com/other/pkg.test", mod, "example.com/other/pkg"},
		{mod + "x/y.test", mod, mod + "x/y"}, // a module path prefix is not a parent
		{"command-line-arguments", "", ""},
		{"", mod, ""},
	} {
		if got := relativePackage(tc.bin, tc.mod); got != tc.want {
			t.Errorf("relativePackage(%q, %q) = %q, want %q", tc.bin, tc.mod, got, tc.want)
		}
	}
}
