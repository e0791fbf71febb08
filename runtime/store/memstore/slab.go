package memstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// A slab hands out slots of pointer-free memory obtained from the operating
// system (mapMemory), outside the Go heap: the garbage collector neither
// scans the records nor counts them towards its next goal, so a store of
// many records costs no GC headroom (with GOGC=100 the heap may grow to twice
// its live size before a collection). A slot is named by a 32-bit handle:
// chunk index << 16 | offset/16.
//
// Slots come in size classes (multiples of 16 bytes up to 4 KiB, then 32
// classes per doubling, at most ~3% rounding) carved from chunks of 64, 128,
// then 256 KiB, which the store's arena hands out. A freed slot goes on its class's free
// list and is reused by the next record of that class; a slot larger than
// maxSlot is a mapping of its own and is unmapped when freed. Memory on a
// free list stays mapped (and resident once touched) until the arena is
// closed.
//
// A slab is not safe for concurrent use: each shard owns one, under its lock.
type slab struct {
	arena      *arena   // where carved chunks come from (shared by the store's shards)
	chunks     [][]byte // chunk i's memory; nil once unmapped
	freeChunks []uint32 // indices of unmapped chunks, for reuse
	cur        uint32   // chunk being carved (when carving)
	off        int      // next free offset in chunk cur
	carving    bool
	ready      int                // chunk cur is resident up to here (prefaulted)
	noPrefault bool               // the kernel cannot prefault: let pages fault in
	free       [numClasses]uint32 // per class: handle+1 of the first free slot, 0 = none
}

const (
	chunkSize  = 1 << 18 // the largest chunk carved
	firstChunk = 1 << 16 // a slab's first chunk; the next ones double up to chunkSize
	maxSlot    = 1 << 18 // larger slots are mappings of their own
	// prefaultStep is how far ahead of carving a chunk is made resident: a
	// record store that only grows (fresh keys, long lifetimes) writes every
	// record to a page never touched before, and prefaulting 16 pages per
	// system call is much cheaper than 16 page faults, while bounding what is
	// resident but unused to 64 KiB per shard.
	prefaultStep = 64 << 10
	maxChunks    = 1<<16 - 1 // a handle's chunk index is 16 bits (the last one unused: handle+1 must not wrap)
	smallLimit   = 1 << 12   // up to here classes are every 16 bytes
	numClasses   = smallLimit/16 + (18-12)*32
)

// errSlabFull is returned when a shard has used all its chunk handles
// (16 GiB of records per shard).
var errSlabFull = errors.New("memstore: a shard's record memory is exhausted (16 GiB)")

// sizeClass returns the class and slot size for n bytes (n <= maxSlot).
func sizeClass(n int) (class int, size int) {
	if n <= smallLimit {
		c := (max(n, 16) + 15) / 16
		return c - 1, c * 16
	}
	p := bits.Len(uint(n - 1)) // n <= 1<<p
	step := 1 << (p - 6)
	k := (n + step - 1) / step // 33..64
	return smallLimit/16 + (p-13)*32 + (k - 33), k * step
}

// alloc returns a slot of at least n bytes; its first 4 bytes hold the slot's
// size and must not be overwritten.
func (s *slab) alloc(n int) (uint32, error) {
	if n > maxSlot {
		if uint64(n) > math.MaxUint32-uint64(pageSize) {
			return 0, fmt.Errorf("memstore: a record of %d bytes is too large", n)
		}
		c, mem, err := s.mapChunk((n + pageSize - 1) / pageSize * pageSize)
		if err != nil {
			return 0, err
		}
		binary.LittleEndian.PutUint32(mem, uint32(len(mem)))
		return c << 16, nil
	}
	class, size := sizeClass(n)
	if h := s.free[class]; h != 0 {
		slot := s.bytes(h - 1)
		s.free[class] = binary.LittleEndian.Uint32(slot[4:])
		return h - 1, nil
	}
	if !s.carving || s.off+size > len(s.chunks[s.cur]) {
		// A slab's first chunks are smaller, so that a small store keeps
		// little memory resident (32 shards' first chunks: one huge page).
		n := min(chunkSize, firstChunk<<min(len(s.chunks), 8))
		for n < size {
			n *= 2
		}
		mem, err := s.arena.piece(n)
		if err != nil {
			return 0, err
		}
		c, err := s.addChunk(mem)
		if err != nil {
			return 0, err // the piece stays the arena's, unmapped at its close
		}
		s.cur, s.off, s.carving, s.ready = c, 0, true, 0
	}
	h := s.cur<<16 | uint32(s.off>>4)
	s.off += size
	if s.off > s.ready && !s.noPrefault {
		end := min(len(s.chunks[s.cur]), (s.off+prefaultStep-1)/prefaultStep*prefaultStep)
		s.noPrefault = !prefault(s.chunks[s.cur][s.ready:end])
		s.ready = end
	}
	binary.LittleEndian.PutUint32(s.bytes(h), uint32(size))
	return h, nil
}

// mapChunk maps n bytes of record memory and adds them as a chunk.
func (s *slab) mapChunk(n int) (uint32, []byte, error) {
	mem, err := mapMemory(n)
	if err != nil {
		return 0, nil, fmt.Errorf("memstore: allocating %d bytes of record memory: %w", n, err)
	}
	c, err := s.addChunk(mem)
	if err != nil {
		unmapMemory(mem)
		return 0, nil, err
	}
	return c, mem, nil
}

func (s *slab) addChunk(mem []byte) (uint32, error) {
	if n := len(s.freeChunks); n > 0 {
		c := s.freeChunks[n-1]
		s.freeChunks = s.freeChunks[:n-1]
		s.chunks[c] = mem
		return c, nil
	}
	if len(s.chunks) >= maxChunks {
		return 0, errSlabFull
	}
	s.chunks = append(s.chunks, mem)
	return uint32(len(s.chunks) - 1), nil
}

// bytes returns slot h, from its start to the end of its chunk.
func (s *slab) bytes(h uint32) []byte {
	return s.chunks[h>>16][int(h&0xffff)<<4:]
}

// release frees slot h for reuse.
func (s *slab) release(h uint32) {
	slot := s.bytes(h)
	size := int(binary.LittleEndian.Uint32(slot))
	if size > maxSlot {
		c := h >> 16
		unmapMemory(s.chunks[c])
		s.chunks[c] = nil
		s.freeChunks = append(s.freeChunks, c)
		return
	}
	class, _ := sizeClass(size)
	binary.LittleEndian.PutUint32(slot[4:], s.free[class])
	s.free[class] = h + 1
}

// close unmaps the slab's large slots and forgets its chunks, which the
// arena unmaps at its own close; the slab is empty (and usable, with the same
// arena) afterwards.
func (s *slab) close() {
	for _, mem := range s.chunks {
		// A chunk's first slot was carved first, or is the large slot itself:
		// its size tells them apart.
		if mem != nil && binary.LittleEndian.Uint32(mem) > maxSlot {
			unmapMemory(mem)
		}
	}
	*s = slab{arena: s.arena}
}
