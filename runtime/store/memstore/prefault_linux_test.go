package memstore

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/idemgen/idemgen/runtime/idempotency"
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
// no further: the pages past the step stay untouched. A slab's chunks grow
// from 64 KiB to 256 KiB.
func TestCarvingPrefaults(t *testing.T) {
	a := &arena{} // 4 KiB pages: a huge page would be resident at once
	defer a.close()
	s := slab{arena: a}
	defer s.close()
	var h uint32
	for len(s.chunks) < 3 {
		var err error
		if h, err = s.alloc(1000); err != nil {
			t.Fatal(err)
		}
		if s.noPrefault {
			t.Skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+)")
		}
	}
	for i, want := range []int{firstChunk, 2 * firstChunk, chunkSize} {
		if len(s.chunks[i]) != want {
			t.Fatalf("chunk %d: %d bytes, want %d", i, len(s.chunks[i]), want)
		}
	}
	chunk := s.chunks[h>>16]
	if h>>16 != 2 || h&0xffff != 0 {
		t.Fatalf("handle %#x: want the first slot of chunk 2", h)
	}
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

// The store's record memory comes from regions aligned to 2 MiB and advised
// for transparent huge pages (VmFlags "hg" in /proc/self/smaps), whose chunks
// the shards take in turn: the first chunks of two shards are adjacent.
func TestArenaAdvisesHugePages(t *testing.T) {
	s := New(WithSweepInterval(-1))
	defer s.Close()
	for i := range 2 {
		sh := &s.shards[i]
		sh.mu.Lock()
		err := sh.put(fmt.Sprint("id", i), uint64(i), false, 0, "fp", "tok", nil, idempotency.StateInFlight, 1, 1)
		sh.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	c0, c1 := s.shards[0].slab.chunks[0], s.shards[1].slab.chunks[0]
	a0, a1 := uintptr(unsafe.Pointer(&c0[0])), uintptr(unsafe.Pointer(&c1[0]))
	if a1 != a0+firstChunk || a0%hugeAlign != 0 {
		t.Fatalf("shard chunks at %#x and %#x: want adjacent, the first 2 MiB aligned", a0, a1)
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("this kernel has no transparent huge pages: %v", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	var flags string
	for _, block := range strings.Split(string(smaps), "\n") {
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(block, "%x-%x", &lo, &hi); n == 2 {
			flags = ""
			if lo <= a0 && a0 < hi {
				flags = "want"
			}
			continue
		}
		if flags == "want" && strings.HasPrefix(block, "VmFlags:") {
			flags = block
			break
		}
	}
	if !strings.Contains(flags+" ", " hg ") {
		t.Fatalf("the region's %q: want hg (MADV_HUGEPAGE)", flags)
	}
}

// With huge pages the arena populates the two huge pages past the one being
// carved from a goroutine, and nothing further; nothing while the store fits
// its first huge page.
func TestArenaPopulatesAhead(t *testing.T) {
	a := &arena{huge: true}
	defer a.close()
	if !prefault(make([]byte, pageSize)) {
		t.Skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+)")
	}
	check := func(from, n int) {
		t.Helper()
		a.filling.Wait()
		in := resident(t, a.region[from:])
		for i, ok := range in {
			if want := i < n/pageSize; ok != want {
				t.Fatalf("page %d past offset %d: resident = %v, want %v", i, from, ok, want)
			}
		}
	}
	for off := 0; off < hugeAlign; off += firstChunk {
		if _, err := a.piece(firstChunk); err != nil {
			t.Fatal(err)
		}
	}
	check(0, 0) // nobody wrote to the pieces
	// The first region (4 MiB) has no pages past the next; in the second,
	// the first piece has the two after its own populated.
	for len(a.regions) < 2 {
		if _, err := a.piece(firstChunk); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.region) != 2*firstRegion {
		t.Fatalf("second region: %d bytes, want %d", len(a.region), 2*firstRegion)
	}
	check(hugeAlign, 2*hugeAlign)
}
