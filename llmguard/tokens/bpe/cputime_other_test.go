//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package bpe

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
