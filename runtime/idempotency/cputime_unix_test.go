//go:build unix

package idempotency

import (
	"syscall"
	"time"
)

// processCPU is the process's user+system CPU time (storetest.CPUTime, which
// this internal test package cannot import): per op it measures the code
// rather than the neighbours on a shared machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
