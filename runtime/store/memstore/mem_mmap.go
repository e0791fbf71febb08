//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package memstore

import (
	"os"
	"syscall"
)

var pageSize = os.Getpagesize()

// mapMemory returns n bytes of zeroed anonymous memory outside the Go heap.
func mapMemory(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

// unmapMemory returns memory from mapMemory to the operating system. Nothing
// may refer to it afterwards: the store copies out everything it hands out.
func unmapMemory(b []byte) { _ = syscall.Munmap(b) }

// regionSize is the most record memory the arena maps at a time (address
// space: it becomes resident only as the slabs carve it); its first region
// is firstRegion, and the next ones double.
const (
	regionSize  = 32 << 20
	firstRegion = 4 << 20
)
