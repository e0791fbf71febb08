package memstore

import (
	"syscall"
	"testing"
	"unsafe"
)

// resident reports, per page of mem, whether it is in memory (mincore).
func resident(t *testing.T, mem []byte) []bool {
	t.Helper()
	vec := make([]byte, (len(mem)+pageSize-1)/pageSize)
	_, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	in := make([]bool, len(vec))
	for i, v := range vec {
		in[i] = v&1 != 0
	}
	return in
}

// Carving prefaults the chunk one step ahead of the slots it hands out, and
// no further: the pages past the step stay untouched.
func TestCarvingPrefaults(t *testing.T) {
	var s slab
	defer s.close()
	h, err := s.alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	if s.noPrefault {
		t.Skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+)")
	}
	chunk := s.chunks[h>>16]
	in := resident(t, chunk)
	step := prefaultStep / pageSize
	for i, ok := range in {
		if ok != (i < step) {
			t.Fatalf("after the first slot, page %d resident = %v (want the first %d of %d pages)", i, ok, step, len(in))
		}
	}
	// Carve past the first step: the next step becomes resident.
	for s.off <= prefaultStep {
		if _, err := s.alloc(1000); err != nil {
			t.Fatal(err)
		}
	}
	in = resident(t, chunk)
	for i, ok := range in {
		if ok != (i < 2*step) {
			t.Fatalf("after %d bytes carved, page %d resident = %v (want the first %d)", s.off, i, ok, 2*step)
		}
	}
}
