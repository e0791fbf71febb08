//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package memstore

// Without mmap the records live in pointer-free heap chunks: the GC does not
// scan them, but they count towards its heap goal.

var pageSize = 4096

func mapMemory(n int) ([]byte, error) { return make([]byte, n), nil }

func unmapMemory([]byte) {}

// regionSize is one chunk here: a heap region is allocated, not reserved.
const (
	regionSize  = chunkSize
	firstRegion = chunkSize
)
