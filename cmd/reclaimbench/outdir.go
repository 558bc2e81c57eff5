package main

import (
	"fmt"
	"os"
)

// prepareOut creates dir if needed and proves it writable by creating and
// removing a file in it, so that a bad -out fails before any benchmark
// runs rather than after all of them.
func prepareOut(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".reclaimbench-probe-*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, err)
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, err)
	}
	return nil
}
