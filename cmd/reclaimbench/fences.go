package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
)

// The fence path (internal/fence) is chosen once per process, so the
// sequentially consistent column of -fences both comes from a child: the
// same executable with RECLAIM_FENCE=sc and -sc-child, which runs the same
// microbenchmarks and prints one JSON line per case.

// scLine is one microbenchmark result of the child.
type scLine struct {
	Name    string  `json:"name"`
	NsPerOp float64 `json:"ns_per_op"`
}

// measureSC runs the microbenchmarks of rs again on the SC path and fills
// in their scNsPerOp.
func measureSC(ctx context.Context, o *options, rs []*microResult) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("-fences both: %v", err)
	}
	cmd := exec.CommandContext(ctx, exe, "-sc-child", "-run", o.microRun.String(),
		"-count", strconv.Itoa(o.count), "-benchtime", o.benchtime.String())
	cmd.Env = append(os.Environ(), "RECLAIM_FENCE=sc")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil // interrupted: the partial results have no SC column
	}
	if err != nil {
		return fmt.Errorf("-fences both: the SC child failed: %v\n%s", err, stderr.Bytes())
	}
	byName := map[string]*microResult{}
	for _, r := range rs {
		byName[r.c.Name] = r
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l scLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("-fences both: the SC child wrote %q: %v", sc.Text(), err)
		}
		if r := byName[l.Name]; r != nil {
			r.scNsPerOp = l.NsPerOp
		}
	}
	return nil
}

// runSCChild is the child's whole run: the selected microbenchmarks, one
// JSON line each on stdout.
func runSCChild(o *options, stdout, stderr io.Writer) int {
	rs, err := runMicro(selectedMicro(o), o.count, o.benchtime, func() bool { return false }, func(string) {})
	if err != nil {
		fmt.Fprintf(stderr, "reclaimbench: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	for _, r := range rs {
		if err := enc.Encode(scLine{Name: r.c.Name, NsPerOp: r.nsPerOp}); err != nil {
			fmt.Fprintf(stderr, "reclaimbench: %v\n", err)
			return 1
		}
	}
	return 0
}
