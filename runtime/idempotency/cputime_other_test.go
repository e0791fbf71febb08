//go:build !unix

package idempotency

import "time"

// processCPU is 0 where getrusage does not exist: cpu-ns/op then reads 0.
func processCPU() time.Duration { return 0 }
