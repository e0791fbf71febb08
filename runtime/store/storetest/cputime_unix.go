//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// CPUTime is the process's user+system CPU time. Benchmarks report it per
// operation (ReportCPU) next to ns/op: on a shared machine, wall time mostly
// measures the neighbours, CPU time the code.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
