//go:build !linux

package memstore

// prefault is Linux only (MADV_POPULATE_WRITE); elsewhere pages fault in on
// first write.
func prefault([]byte) bool { return false }

// hugeAlign is 0: transparent huge pages are Linux only.
const hugeAlign = 0

func adviseHuge([]byte) {}
