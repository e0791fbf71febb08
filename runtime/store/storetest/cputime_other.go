//go:build !unix

package storetest

import "time"

// CPUTime is 0 where getrusage does not exist (Windows, Plan 9, wasm): the
// cpu-ns/op metric then reads 0 and only ns/op is meaningful.
func CPUTime() time.Duration { return 0 }
