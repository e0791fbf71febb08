//go:build linux && (amd64 || arm64)

package sqlitestore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// TestCopyMappedSurvivesTruncation: a WAL file that another process truncates
// under the shim's mapping makes the copy fault; copyMapped reports it (the
// read then goes to pread) instead of crashing the process.
func TestCopyMappedSurvivesTruncation(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x-wal"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 3*4096)
	for i := range page {
		page[i] = byte(i)
	}
	if _, err := f.Write(page); err != nil {
		t.Fatal(err)
	}
	addr, _, errno := syscall.Syscall6(syscall.SYS_MMAP, 0, walMapSize, syscall.PROT_READ, syscall.MAP_SHARED, f.Fd(), 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer syscall.Syscall(syscall.SYS_MUNMAP, addr, walMapSize, 0)
	w := &walFile{mapped: addr, size: int64(len(page))}
	buf := make([]byte, 100)
	dst := uintptr(unsafe.Pointer(&buf[0]))
	if !w.copyMapped(dst, 8192, 100) || buf[99] != page[8192+99] {
		t.Fatalf("copy of a mapped page: got %v", buf[:4])
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if w.copyMapped(dst, 8192, 100) {
		t.Fatal("a copy past the end of the truncated file succeeded")
	}
	if w.size != 0 {
		t.Fatalf("size after the fault: %d, want 0 (no more mapped reads until a read or write shows the file's size)", w.size)
	}
}
