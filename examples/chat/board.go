package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Post is one message as the board keeps it.
type Post struct {
	ID         string
	Room       string
	User       string
	Text       string
	ClientTime *time.Time
	PostedAt   time.Time
}

// Board keeps the rooms' messages in memory. It does not deduplicate: the
// idempotency runtime in front of it does, and Board counts what got through.
// It is safe for concurrent use.
type Board struct {
	mu    sync.Mutex
	rooms map[string][]Post
	n     int
	now   func() time.Time
}

// NewBoard returns an empty board.
func NewBoard() *Board {
	return &Board{rooms: make(map[string][]Post), now: time.Now}
}

// Add appends a message to room and returns it.
func (b *Board) Add(room, user, text string, clientTime *time.Time) Post {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	p := Post{
		ID:         fmt.Sprintf("m_%d", b.n),
		Room:       room,
		User:       user,
		Text:       text,
		ClientTime: clientTime,
		PostedAt:   b.now().UTC(),
	}
	b.rooms[room] = append(b.rooms[room], p)
	return p
}

// List returns a copy of room's messages, oldest first.
func (b *Board) List(room string) []Post {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.rooms[room])
}
