//go:build linux || darwin || freebsd || netbsd || openbsd

package bpe

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time used by the process. Benchmarks report it
// beside wall time because the shared build machines are often overloaded,
// which inflates ns/op but not the CPU actually spent per operation.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
