package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeOutputs writes every output file into -out.
func writeOutputs(res *results) error {
	dir := res.opts.out
	plots, pending, err := writePlots(dir, res)
	if err != nil {
		return err
	}
	for _, write := range []func(string, *results) error{
		writeResultsCSV, writeSummaryCSV, writeRobustCSV, writeMicroCSV, writeBenchstat,
	} {
		if err := write(dir, res); err != nil {
			return err
		}
	}
	return writeReport(dir, res, plots, pending)
}

// writeFile creates dir/name and fills it with write, through a buffer
// whose flush reports any write error.
func writeFile(dir, name string, write func(io.Writer)) error {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	write(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}
