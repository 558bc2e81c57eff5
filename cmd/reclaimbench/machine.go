package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/go-reclaim/reclaim/internal/fence"
)

// machine describes where the suite ran, for the report and benchstat.
type machine struct {
	cpu        string // model name, "" if unknown
	numCPU     int
	gomaxprocs int
	goos       string
	goarch     string
	goVersion  string
	fences     string // internal/fence.Mode(): "asymmetric" or "sc"
}

func describeMachine() machine {
	return machine{
		cpu:        cpuModel(),
		numCPU:     runtime.NumCPU(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		goos:       runtime.GOOS,
		goarch:     runtime.GOARCH,
		goVersion:  runtime.Version(),
		fences:     fence.Mode(),
	}
}

// cpuModel reads the processor's model name on Linux.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// String is one line: "AMD EPYC ..., 2 CPUs, GOMAXPROCS=2, linux/amd64,
// go1.26.8, fences asymmetric".
func (m machine) String() string {
	cpu := m.cpu
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return fmt.Sprintf("%s, %d CPUs, GOMAXPROCS=%d, %s/%s, %s, fences %s", cpu, m.numCPU, m.gomaxprocs, m.goos, m.goarch, m.goVersion, m.fences)
}
