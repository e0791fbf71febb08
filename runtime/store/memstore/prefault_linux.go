package memstore

import "syscall"

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14+): it faults the range
// in, writable, in one system call.
const madvPopulateWrite = 23

// prefault makes mem resident ahead of its first write. One madvise for many
// pages costs far less than a trap per page: on the Firecracker VMs the
// benchmarks run on, a first write to a fresh 4 KiB page costs about 11 µs,
// populating it about 0.7 µs. It reports false when the kernel cannot do it
// (before 5.14), so that the caller stops asking.
func prefault(mem []byte) bool {
	return syscall.Madvise(mem, madvPopulateWrite) == nil
}
