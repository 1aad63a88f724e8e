//go:build !unix

package defaults

import "time"

func cpuTime() time.Duration { return 0 }
