// Command demo is what "make demo" runs: it builds idemgen, regenerates the
// songs example with it, starts the songs server on a free loopback port with
// the embedded SQLite store, drives it with the generated client and prints a
// transcript: a create, a replayed retry, 20 concurrent duplicates, a key
// reused with another payload, a missing key and a flaky network. It exits 1
// when any expectation fails.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idemgen/idemgen/examples/songs/api"
	"github.com/idemgen/idemgen/runtime/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	code := run(ctx, os.Stdout)
	cancel()
	stop()
	os.Exit(code)
}

// demo holds the state of one run: where to print, the counters of the
// summary line and the failed expectations.
type demo struct {
	out       io.Writer
	failures  []string
	replays   int
	conflicts atomic.Int64 // 409 answers seen by any attempt of the client
	rejected  int
}

// expect records a failed expectation when ok is false.
func (d *demo) expect(ok bool, format string, args ...any) bool {
	if !ok {
		msg := fmt.Sprintf(format, args...)
		d.failures = append(d.failures, msg)
		fmt.Fprintf(d.out, "      FAIL: %s\n", msg)
	}
	return ok
}

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

func run(ctx context.Context, out io.Writer) int {
	start := time.Now()
	d := &demo{out: out}
	tmp, err := os.MkdirTemp("", "idemgen-demo-")
	if err != nil {
		fmt.Fprintln(out, "demo:", err)
		return 1
	}
	// The binaries and the store live in tmp; deferred calls run last in
	// first out, so the server stops before tmp is removed.
	defer os.RemoveAll(tmp)
	srv, err := setUp(ctx, d, tmp)
	if err != nil {
		fmt.Fprintln(out, "demo:", err)
		return 1
	}
	setUpTime := time.Since(start)
	start = time.Now()
	defer func() {
		if err := srv.stop(); err != nil && len(d.failures) == 0 {
			d.expect(false, "songs server: %v", err)
		}
	}()
	base := "http://" + srv.addr

	c, err := api.NewClient(base,
		client.WithRetryPolicy(client.Policy{BaseDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond}),
		client.WithClientObserver(client.ObserverFunc(func(ctx context.Context, e client.Event) {
			if e.Status == http.StatusConflict {
				d.conflicts.Add(1)
			}
		})))
	if err != nil {
		fmt.Fprintln(out, "demo:", err)
		return 1
	}

	first := d.create(ctx, c)
	d.retry(ctx, c, first)
	d.concurrent(ctx, c)
	d.otherPayload(ctx, c, first)
	d.noKey(ctx, base)
	d.flaky(ctx, c, srv.addr)

	songs := d.list(ctx, c)
	if len(d.failures) > 0 {
		d.printf("\nsongs server log:\n%s", srv.logs.String())
	}
	d.printf("\nsongs created: %d · replays: %d · conflicts: %d · rejected: %d\n",
		songs, d.replays, d.conflicts.Load(), d.rejected)
	took := fmt.Sprintf("in %s (building and starting took %s)",
		time.Since(start).Round(10*time.Millisecond), setUpTime.Round(100*time.Millisecond))
	if len(d.failures) > 0 {
		d.printf("%d expectation(s) failed %s\n", len(d.failures), took)
		return 1
	}
	d.printf("every expectation met %s\n", took)
	return 0
}

// setUp builds idemgen, regenerates the songs example, builds its server from
// the fresh code and starts it.
func setUp(ctx context.Context, d *demo, tmp string) (*server, error) {
	root, err := repoRoot(ctx)
	if err != nil {
		return nil, err
	}
	d.printf("idemgen demo: the songs example (examples/songs)\n\n")

	idemgen := filepath.Join(tmp, "idemgen")
	if err := goBuild(ctx, root, "./cmd/idemgen", idemgen, ""); err != nil {
		return nil, err
	}
	overlay, changed, err := regenerate(ctx, idemgen, root, tmp)
	if err != nil {
		return nil, err
	}
	if len(changed) == 0 {
		d.printf("  built idemgen and regenerated examples/songs/api: identical to the committed code\n")
	} else {
		// The server is built from the fresh code either way; make test is
		// where stale committed code fails.
		d.printf("  built idemgen and regenerated examples/songs/api: differs from the committed code in %s\n"+
			"  (run \"make generate\" and commit); using the fresh code\n", strings.Join(changed, ", "))
	}
	bin := filepath.Join(tmp, "songs")
	if err := goBuild(ctx, root, "./examples/songs", bin, overlay); err != nil {
		return nil, err
	}
	storeURL := "sqlite://" + filepath.ToSlash(filepath.Join(tmp, "songs.db"))
	srv, err := startServer(ctx, bin, storeURL, "-upload-time", "100ms")
	if err != nil {
		return nil, err
	}
	d.printf("  started the songs server on http://%s (store %s)\n\n", srv.addr, "sqlite://…/songs.db")
	return srv, nil
}

// newSong is the upload every step sends, unless it says otherwise.
var newSong = api.NewSong{Title: "Tide", Artist: "Mara", DurationSeconds: 201}

// created is what the first step returns to the later ones.
type created struct {
	key  string
	song api.Song
	body []byte
}

func shortKey(k string) string {
	if len(k) > 8 {
		return k[:8] + "…"
	}
	return k
}

// create uploads a song with a fresh key: the handler runs.
func (d *demo) create(ctx context.Context, c *api.Client) created {
	d.printf("1. create          POST /songs\n")
	resp, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: newSong})
	if !d.expect(err == nil, "create: %v", err) {
		return created{}
	}
	r, ok := resp.(api.CreateSong201JSONResponse)
	if !d.expect(ok, "create: got %T, want a 201", resp) {
		return created{}
	}
	d.printf("   Idempotency-Key: %s -> %d, song %s %q (handler ran; replayed: %v)\n",
		shortKey(raw.Result.Key), raw.Result.Status, r.Body.ID, r.Body.Title, raw.Result.Replayed)
	d.expect(!raw.Result.Replayed, "the first request was answered as a replay")
	return created{key: raw.Result.Key, song: r.Body, body: raw.Body}
}

// retry sends the same call again with the same key: the stored answer comes
// back, byte for byte, and the handler does not run.
func (d *demo) retry(ctx context.Context, c *api.Client, first created) {
	d.printf("2. retry, same key POST /songs\n")
	if first.key == "" {
		d.expect(false, "retry: skipped, the create failed")
		return
	}
	resp, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: newSong}, client.WithIdempotencyKey(first.key))
	if !d.expect(err == nil, "retry: %v", err) {
		return
	}
	r, _ := resp.(api.CreateSong201JSONResponse)
	same := bytes.Equal(raw.Body, first.body)
	d.printf("   Idempotency-Key: %s -> %d, song %s, Idempotent-Replayed: %s, same bytes: %v\n",
		shortKey(first.key), raw.Result.Status, r.Body.ID, raw.HTTP.Header.Get("Idempotent-Replayed"), same)
	d.expect(raw.Result.Replayed, "the retry was not a replay")
	d.expect(same, "the replay's body differs from the first response")
	d.expect(r.Body.ID == first.song.ID, "the retry returned song %s, want %s", r.Body.ID, first.song.ID)
	if raw.Result.Replayed {
		d.replays++
	}
}

// concurrent sends 20 identical calls with one new key at the same time: one
// runs the handler, the others wait for it (concurrent: wait) and replay it.
func (d *demo) concurrent(ctx context.Context, c *api.Client) {
	const n = 20
	d.printf("3. %d at once      POST /songs ×%d, one key\n", n, n)
	key := client.NewKey()
	song := api.NewSong{Title: "Undertow", Artist: "Mara", DurationSeconds: 187}
	type answer struct {
		id       string
		replayed bool
		err      error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: song}, client.WithIdempotencyKey(key))
			if err != nil {
				answers[i].err = err
				return
			}
			r, _ := resp.(api.CreateSong201JSONResponse)
			answers[i] = answer{id: r.Body.ID, replayed: raw.Result.Replayed}
		}()
	}
	wg.Wait()
	ids := map[string]int{}
	ran, replayed := 0, 0
	for _, a := range answers {
		if !d.expect(a.err == nil, "concurrent duplicate: %v", a.err) {
			continue
		}
		ids[a.id]++
		if a.replayed {
			replayed++
		} else {
			ran++
		}
	}
	d.printf("   Idempotency-Key: %s -> %d answers for %d song(s); handler ran %d×, %d replays\n",
		shortKey(key), ran+replayed, len(ids), ran, replayed)
	d.expect(len(ids) == 1 && ran == 1 && replayed == n-1,
		"%d concurrent duplicates: want 1 song, 1 run and %d replays; got %d songs, %d runs, %d replays",
		n, n-1, len(ids), ran, replayed)
	d.replays += replayed
}

// otherPayload reuses the first key for another song: 422, nothing created.
func (d *demo) otherPayload(ctx context.Context, c *api.Client, first created) {
	d.printf("4. other payload   POST /songs, the first key with another title\n")
	other := newSong
	other.Title = "Tide (remix)"
	resp, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: other}, client.WithIdempotencyKey(first.key))
	if !d.expect(err == nil, "other payload: %v", err) {
		return
	}
	// The spec declares the 422 (a problem+json): it comes back typed, with a nil error.
	p, ok := resp.(api.CreateSong422JSONResponse)
	if !d.expect(ok, "other payload: got %T, want CreateSong422JSONResponse", resp) {
		return
	}
	detail := ""
	if p.Body.Detail != nil {
		detail = *p.Body.Detail
	}
	d.printf("   Idempotency-Key: %s -> %d %s: %q (attempts: %d)\n",
		shortKey(first.key), raw.Result.Status, raw.HTTP.Header.Get("Content-Type"), detail, raw.Result.Attempts)
	d.expect(raw.Result.Attempts == 1, "a 422 was retried (%d attempts)", raw.Result.Attempts)
	d.rejected++
}

// noKey posts without an Idempotency-Key header, as a hand-written client
// might (the generated client always sends one): 400.
func (d *demo) noKey(ctx context.Context, base string) {
	d.printf("5. no key          POST /songs without Idempotency-Key (plain net/http)\n")
	body, _ := json.Marshal(newSong)
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/songs", bytes.NewReader(body))
	if err != nil {
		d.expect(false, "no key: %v", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if !d.expect(err == nil, "no key: %v", err) {
		return
	}
	defer resp.Body.Close()
	var p client.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	d.printf("   -> %d %s: %q\n", resp.StatusCode, resp.Header.Get("Content-Type"), p.Detail)
	if d.expect(resp.StatusCode == http.StatusBadRequest, "no key: got %d, want 400", resp.StatusCode) {
		d.rejected++
	}
}

// flaky uploads through a proxy that drops the first response after the
// server committed: the client sees the connection close, retries with the
// same key and gets the replay; one song exists.
func (d *demo) flaky(ctx context.Context, direct *api.Client, addr string) {
	d.printf("6. flaky network   POST /songs through a proxy that drops the first response\n")
	p, err := startDropProxy(addr, 1)
	if err != nil {
		d.expect(false, "flaky: %v", err)
		return
	}
	defer p.Close()
	c, err := api.NewClient(p.URL(), client.WithRetryPolicy(client.Policy{BaseDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond}))
	if err != nil {
		d.expect(false, "flaky: %v", err)
		return
	}
	song := api.NewSong{Title: "Static", Artist: "Mara", DurationSeconds: 233}
	resp, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: song})
	if !d.expect(err == nil, "flaky: %v", err) {
		return
	}
	r, _ := resp.(api.CreateSong201JSONResponse)
	d.printf("   attempt 1: the server created %s, the proxy dropped its answer; attempt %d -> %d, replayed: %v\n",
		r.Body.ID, raw.Result.Attempts, raw.Result.Status, raw.Result.Replayed)
	d.expect(p.Dropped() == 1, "the proxy dropped %d responses, want 1", p.Dropped())
	d.expect(raw.Result.Attempts == 2, "flaky: %d attempts, want 2", raw.Result.Attempts)
	d.expect(raw.Result.Replayed, "flaky: the retry was not a replay")
	if raw.Result.Replayed {
		d.replays++
	}
	n := 0
	if list, _, err := direct.ListSongs(ctx, api.ListSongsRequestObject{}); err == nil {
		if l, ok := list.(api.ListSongs200JSONResponse); ok {
			for _, s := range l.Body {
				if s.Title == song.Title {
					n++
				}
			}
		}
	}
	d.printf("   songs titled %q: %d\n", song.Title, n)
	d.expect(n == 1, "flaky: %d songs titled %q, want 1", n, song.Title)
}

// list returns how many songs the server holds: one per logical upload.
func (d *demo) list(ctx context.Context, c *api.Client) int {
	resp, _, err := c.ListSongs(ctx, api.ListSongsRequestObject{})
	if !d.expect(err == nil, "list: %v", err) {
		return 0
	}
	l, _ := resp.(api.ListSongs200JSONResponse)
	d.printf("\nGET /songs -> %d songs\n", len(l.Body))
	d.expect(len(l.Body) == 3, "GET /songs: %d songs, want 3 (create, 20 at once, flaky)", len(l.Body))
	return len(l.Body)
}
