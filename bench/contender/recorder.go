package contender

import (
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
)

// Recorder counts handler executions per idempotency key. It is safe for
// concurrent use; the handler of every contender calls Executed once per run.
type Recorder struct {
	prefix string
	next   atomic.Uint64
	seed   maphash.Seed
	shards [32]recorderShard
}

type recorderShard struct {
	mu   sync.Mutex
	keys map[string]uint32
}

// NewRecorder returns a Recorder whose execution ids start with prefix (make it
// unique per process, so that executions in two processes never share an id).
func NewRecorder(prefix string) *Recorder {
	r := &Recorder{prefix: prefix, seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].keys = make(map[string]uint32)
	}
	return r
}

// Executed records one handler execution for key and returns its execution id.
func (r *Recorder) Executed(key string) string {
	s := &r.shards[maphash.String(r.seed, key)%uint64(len(r.shards))]
	s.mu.Lock()
	s.keys[key]++
	s.mu.Unlock()
	return r.prefix + strconv.FormatUint(r.next.Add(1), 10)
}

// Snapshot returns the executions per key since the last Reset.
func (r *Recorder) Snapshot() map[string]uint32 {
	out := make(map[string]uint32)
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		for k, n := range s.keys {
			out[k] = n
		}
		s.mu.Unlock()
	}
	return out
}

// Reset forgets every recorded execution.
func (r *Recorder) Reset() {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		s.keys = make(map[string]uint32)
		s.mu.Unlock()
	}
}
