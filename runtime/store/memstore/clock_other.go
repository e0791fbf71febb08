//go:build !(linux && amd64)

package memstore

import "time"

// wallNano is the wall clock in Unix nanoseconds.
func wallNano() int64 { return time.Now().UnixNano() }
