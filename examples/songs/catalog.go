package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/idemgen/idemgen/examples/songs/api"
)

// Catalog implements the generated api.Handler: the songs live in memory.
// It does not deduplicate anything itself; the generated server wraps
// CreateSong with the idempotency runtime, and Catalog counts how often the
// handler really ran so that tests (and the demo) can check it.
type Catalog struct {
	// uploadTime is how long an upload "processes" before it is stored; it
	// gives concurrent duplicates something to overlap with.
	uploadTime time.Duration
	now        func() time.Time

	mu    sync.Mutex
	songs []api.Song
}

var _ api.Handler = (*Catalog)(nil)

// NewCatalog returns an empty catalog whose uploads take uploadTime.
func NewCatalog(uploadTime time.Duration) *Catalog {
	return &Catalog{uploadTime: uploadTime, now: time.Now}
}

// CreateSong stores a new song. Invalid input gets a 400 problem.
func (c *Catalog) CreateSong(ctx context.Context, req api.CreateSongRequestObject) (api.CreateSongResponseObject, error) {
	var bad []string
	if strings.TrimSpace(req.Body.Title) == "" {
		bad = append(bad, "title is empty")
	}
	if strings.TrimSpace(req.Body.Artist) == "" {
		bad = append(bad, "artist is empty")
	}
	if req.Body.DurationSeconds < 1 {
		bad = append(bad, "durationSeconds is below 1")
	}
	if len(bad) > 0 {
		return api.CreateSong400JSONResponse{Body: problem(400, "invalid song", strings.Join(bad, "; "))}, nil
	}
	select {
	case <-time.After(c.uploadTime):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := api.Song{
		ID:              fmt.Sprintf("s_%d", len(c.songs)+1),
		Title:           req.Body.Title,
		Artist:          req.Body.Artist,
		DurationSeconds: req.Body.DurationSeconds,
		CreatedAt:       c.now().UTC().Truncate(time.Millisecond),
	}
	c.songs = append(c.songs, s)
	return api.CreateSong201JSONResponse{Body: s}, nil
}

// ListSongs returns every song, oldest first.
func (c *Catalog) ListSongs(ctx context.Context, req api.ListSongsRequestObject) (api.ListSongsResponseObject, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return api.ListSongs200JSONResponse{Body: append([]api.Song{}, c.songs...)}, nil
}

// GetSong returns one song, or a 404 problem.
func (c *Catalog) GetSong(ctx context.Context, req api.GetSongRequestObject) (api.GetSongResponseObject, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.songs {
		if s.ID == req.ID {
			return api.GetSong200JSONResponse{Body: s}, nil
		}
	}
	return api.GetSong404JSONResponse{Body: problem(404, "song not found", fmt.Sprintf("no song %q", req.ID))}, nil
}

// Created returns how many songs the handler created.
func (c *Catalog) Created() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.songs)
}

func problem(status int, title, detail string) api.Problem {
	return api.Problem{Title: &title, Status: &status, Detail: &detail}
}
