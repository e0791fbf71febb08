package memstore

import (
	"fmt"
	"sync"
	"unsafe"
)

// An arena hands the shards' slabs their chunks from a few large regions
// mapped for the whole store, one chunk after another, instead of one mapping
// per chunk. On Linux the regions are aligned to 2 MiB and advised for
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
// An arena is safe for concurrent use; slabs take a chunk every 256 KiB of
// records, so its lock is rarely contended.
type arena struct {
	huge    bool // advise huge pages (New sets it)
	mu      sync.Mutex
	regions [][]byte // every mapping made, for close
	rest    []byte   // the unused, aligned rest of the last region
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
		mem, err := mapMemory(regionSize + hugeAlign)
		if err != nil {
			return nil, fmt.Errorf("memstore: allocating %d bytes of record memory: %w", regionSize, err)
		}
		skip := 0
		if align := uintptr(hugeAlign); align > 0 {
			skip = int(-uintptr(unsafe.Pointer(unsafe.SliceData(mem))) & (align - 1))
		}
		a.regions = append(a.regions, mem)
		a.rest = mem[skip : skip+regionSize]
		if a.huge {
			adviseHuge(a.rest)
		}
	}
	p := a.rest[:n:n]
	a.rest = a.rest[n:]
	return p, nil
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
	for _, r := range a.regions {
		unmapMemory(r)
	}
	a.regions, a.rest = nil, []byte{}
}
