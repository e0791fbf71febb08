package memstore

import (
	"syscall"
	"time"
)

// wallNano is the wall clock in Unix nanoseconds, to the microsecond. On
// linux/amd64 gettimeofday is a vDSO call that reads only the wall clock:
// about half the cost of time.Now, which also reads the monotonic clock
// (that the store, keeping Unix times, never uses). Claim and Complete each
// read the clock once per request.
func wallNano() int64 {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return time.Now().UnixNano()
	}
	return tv.Nano()
}
