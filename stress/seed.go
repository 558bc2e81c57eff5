package stress

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// The flags are registered on the default command line, as rapid does, so
// that go test passes them to the test binary: go test -stress.seed=N.
var (
	seedFlag  = flag.String("stress.seed", "", "stress: replay this seed (or set STRESS_SEED)")
	scaleFlag = flag.String("stress.scale", "", "stress: multiply every run's operations and duration, for soak runs (or set STRESS_SCALE)")
)

// Environment variables read by New, for replay and soak runs.
const (
	SeedEnv  = "STRESS_SEED"
	ScaleEnv = "STRESS_SCALE"
)

// setting returns the flag's value if set, else the environment
// variable's, and where it came from.
func setting(f *string, flagName, env string) (value, from string) {
	if *f != "" {
		return *f, "-" + flagName
	}
	return os.Getenv(env), env
}

// chooseSeed picks the replay seed, else the configured one, else a random one.
func chooseSeed(c *config) uint64 {
	if s, from := setting(seedFlag, "stress.seed", SeedEnv); s != "" {
		seed, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			c.errorf("%s=%q: not a seed (an unsigned integer)", from, s)
		}
		return seed
	}
	if c.seedSet {
		return c.seed
	}
	return rand.Uint64()
}

// Scale is the soak factor: -stress.scale, else STRESS_SCALE, else 1. New
// multiplies every Run's Ops and Duration by it; a test that sizes its own
// rounds (more rounds in a soak) reads it here. An invalid value counts as
// 1 here, and New reports it as a test error.
func Scale() float64 {
	k, _ := parseScale()
	return k
}

// chooseScale is Scale for New, which reports an invalid value.
func chooseScale(c *config) float64 {
	k, err := parseScale()
	if err != nil {
		c.errorf("%v", err)
	}
	return k
}

func parseScale() (float64, error) {
	s, from := setting(scaleFlag, "stress.scale", ScaleEnv)
	if s == "" {
		return 1, nil
	}
	k, err := strconv.ParseFloat(s, 64)
	if err != nil || !(k > 0) {
		return 1, fmt.Errorf("%s=%q: not a positive number", from, s)
	}
	return k, nil
}

// rerun is the line every failure ends with: the command that replays it
// from the module's root directory.
func rerun(testName string, seed uint64) string {
	race := ""
	if RaceEnabled {
		race = "-race "
	}
	pkg := ""
	if p := packagePath(); p != "" {
		pkg = " " + p
	}
	return fmt.Sprintf("seed=%d; rerun with %s=%d go test %s-run '%s'%s", seed, SeedEnv, seed, race, runPattern(testName), pkg)
}

// packagePath is the package of this test binary as go test takes it from
// the module's root: "./container/stack", "." for the root package, the
// import path for a package of another module, and "" if the binary is
// not a test binary with build information.
var packagePath = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return relativePackage(bi.Path, bi.Main.Path)
})

// relativePackage turns the path of a test binary ("example.com/m/x.test")
// into its package relative to the root of module mod ("./x").
func relativePackage(binPath, mod string) string {
	pkg, ok := strings.CutSuffix(binPath, ".test")
	switch {
	case !ok || pkg == "":
		return ""
	case mod != "" && pkg == mod:
		return "."
	case mod != "" && strings.HasPrefix(pkg, mod+"/"):
		return "./" + strings.TrimPrefix(pkg, mod+"/")
	}
	return pkg
}

// runPattern is a -run pattern that selects exactly the named (sub)test.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
