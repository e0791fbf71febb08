//go:build !linux

package memstore

// prefault is Linux only (MADV_POPULATE_WRITE); elsewhere pages fault in on
// first write.
func prefault([]byte) bool { return false }
