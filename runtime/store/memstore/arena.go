package memstore

import (
	"fmt"
	"sync"
	"unsafe"
)

// An arena hands the shards' slabs their chunks from a few large regions
// (4 MiB, doubling up to 32 MiB) mapped for the whole store, one chunk after
// another, instead of one mapping per chunk. On Linux the regions are aligned to 2 MiB and advised for
// transparent huge pages (MADV_HUGEPAGE): a store that grows (fresh keys,
// long lifetimes) writes every record to memory it has never used, and on
// the VMs the benchmarks run on the first user write to each 4 KiB page
// traps to the hypervisor (about 6 µs a page even after MADV_POPULATE_WRITE,
// about 2 µs per 1.3 KiB record) where a huge page takes one trap for 512
// pages. Because the shards take chunks in turn from the same regions, a
// huge page is shared by the chunks of several shards: what is resident
// before it is used stays bounded by the chunks being carved (32 shards ×
// 256 KiB at most; a slab's first chunks are smaller) plus one huge page,
// not a huge page per shard.
//
// With huge pages, the arena also makes the huge pages after the one being
// carved resident ahead of use, from a goroutine of its own: the first touch
// of a huge page zeroes 2 MiB (about 0.2 ms, and up to several ms on a VM
// whose memory the host has not backed yet), which would otherwise happen in
// a request, under its shard's lock. The CPU is the same; the wait moves off
// the requests.
//
// An arena is safe for concurrent use; slabs take a chunk every 256 KiB of
// records, so its lock is rarely contended.
type arena struct {
	huge    bool // advise huge pages and populate them ahead (New sets it)
	mu      sync.Mutex
	regions [][]byte // every mapping made, for close
	region  []byte   // the aligned part of the last region
	rest    []byte   // its unused rest
	ahead   int      // region[:ahead] is populated or being populated
	filling sync.WaitGroup
}

// piece returns n bytes (at most chunkSize, a multiple of 16) of fresh,
// zeroed record memory.
func (a *arena) piece(n int) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.regions == nil && a.rest != nil {
		return nil, ErrClosed
	}
	if len(a.rest) < n {
		// Regions double up to regionSize: a small store reserves (and is
		// charged, under strict overcommit) little address space.
		size := min(regionSize, firstRegion<<min(len(a.regions), 8))
		mem, err := mapMemory(size + hugeAlign)
		if err != nil {
			return nil, fmt.Errorf("memstore: allocating %d bytes of record memory: %w", size, err)
		}
		skip := 0
		if align := uintptr(hugeAlign); align > 0 {
			skip = int(-uintptr(unsafe.Pointer(unsafe.SliceData(mem))) & (align - 1))
		}
		a.regions = append(a.regions, mem)
		a.region = mem[skip : skip+size]
		a.rest, a.ahead = a.region, 0
		if a.huge {
			adviseHuge(a.region)
		}
	}
	p := a.rest[:n:n]
	a.rest = a.rest[n:]
	if a.huge {
		a.populateAhead(len(a.region) - len(a.rest))
	}
	return p, nil
}

// populateAhead makes the two huge pages after the one that holds region
// offset end-1 resident, from a goroutine (lock held): two, because the
// goroutine may wait for a P as long as a time slice (10 ms) before it
// starts. The page that holds end-1 is left to the slab that carves it, and
// a small store (within its first huge page) populates nothing ahead.
func (a *arena) populateAhead(end int) {
	page := hugeAlign // a variable: 0 (no huge pages) must not divide as a constant
	if page == 0 || (len(a.regions) == 1 && end <= page) {
		return // nothing ahead while the store fits its first huge page
	}
	next := (end + page - 1) / page * page // the page after end-1's
	want := min(len(a.region), next+2*page)
	from := max(a.ahead, next)
	if from >= want {
		return
	}
	a.ahead = want
	a.filling.Add(1)
	go func(mem []byte) {
		defer a.filling.Done()
		prefault(mem)
	}(a.region[from:want])
}

// mapped is the memory the arena has mapped.
func (a *arena) mapped() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.regions {
		n += len(r)
	}
	return n
}

// close unmaps every region: nothing may refer to them afterwards. piece
// fails from then on.
func (a *arena) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.filling.Wait() // no populating of memory unmapped (and maybe mapped again)
	for _, r := range a.regions {
		unmapMemory(r)
	}
	a.regions, a.region, a.rest = nil, nil, []byte{}
}
