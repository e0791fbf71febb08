//go:build !unix

package memstore_test

// minorFaults is 0 where getrusage does not exist: faults/op then reads 0.
func minorFaults() int64 { return 0 }
