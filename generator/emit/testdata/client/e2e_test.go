// This file is copied next to the code generated from api.yaml by
// client_e2e_test.go (in a temporary module) and run there: the generated
// client against the generated server and against a hand-written server of the
// IETF draft.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/client/clienttest"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

var ulidRe = regexp.MustCompile(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// impl counts the executions of every operation.
type impl struct {
	UnimplementedHandler
	songs, orders, votes, bills, logs atomic.Int64
	// block, when set, holds CreateSong until it is closed.
	block chan struct{}
	// orderIn, when set, is told that CreateOrder started; it then waits
	// for orderGo to close.
	orderIn  chan struct{}
	orderGo  chan struct{}
	getSongs atomic.Int64
	deletes  atomic.Int64
}

func (h *impl) CreateSong(ctx context.Context, req CreateSongRequestObject) (CreateSongResponseObject, error) {
	if h.block != nil {
		<-h.block
	}
	n := h.songs.Add(1)
	loc := fmt.Sprintf("/songs/%d", n)
	return CreateSong201JSONResponse{Headers: CreateSong201ResponseHeaders{Location: &loc}, Body: Song{ID: n, Title: req.Body.Title}}, nil
}

func (h *impl) GetSong(ctx context.Context, req GetSongRequestObject) (GetSongResponseObject, error) {
	h.getSongs.Add(1)
	switch req.ID {
	case 404:
		return GetSong404Response{}, nil
	case 503:
		return GetSong503Response{}, nil
	case 500:
		return nil, errors.New("the catalog is on fire")
	}
	return GetSong200JSONResponse{Body: Song{ID: req.ID, Title: "found"}}, nil
}

func (h *impl) DeleteSong(ctx context.Context, req DeleteSongRequestObject) (DeleteSongResponseObject, error) {
	h.deletes.Add(1)
	if req.ID == 409 {
		return DeleteSongDefaultJSONResponse{StatusCode: 409, Body: Error{Message: "the song is in a playlist"}}, nil
	}
	return DeleteSong204Response{}, nil
}

func (h *impl) CreateOrder(ctx context.Context, req CreateOrderRequestObject) (CreateOrderResponseObject, error) {
	if h.orderIn != nil {
		h.orderIn <- struct{}{}
		<-h.orderGo
	}
	h.orders.Add(1)
	return CreateOrder201JSONResponse{Body: req.Body}, nil
}

func (h *impl) Vote(ctx context.Context, req VoteRequestObject) (VoteResponseObject, error) {
	h.votes.Add(1)
	return Vote204Response{}, nil
}

func (h *impl) PayBill(ctx context.Context, req PayBillRequestObject) (PayBillResponseObject, error) {
	h.bills.Add(1)
	return PayBill201JSONResponse{Body: req.Body}, nil
}

func (h *impl) AppendLog(ctx context.Context, req AppendLogRequestObject) (AppendLogResponseObject, error) {
	h.logs.Add(1)
	return AppendLog204Response{}, nil
}

// seen records the requests that reached the server.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[len(s.reqs)-1]
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// dropFirst closes the connection instead of the first answer to a request
// matching path (after the handler ran and the outcome was stored), and records
// every request.
func dropFirst(path string, rec *seen) func(http.Handler) http.Handler {
	var dropped atomic.Bool
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec.mu.Lock()
			rec.reqs = append(rec.reqs, r.Clone(context.Background()))
			rec.mu.Unlock()
			if r.URL.Path == path && dropped.CompareAndSwap(false, true) {
				next.ServeHTTP(&blackhole{header: http.Header{}}, r)
				clienttest.HijackClose(w)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// blackhole is a ResponseWriter that discards the answer.
type blackhole struct{ header http.Header }

func (b *blackhole) Header() http.Header         { return b.header }
func (b *blackhole) Write(p []byte) (int, error) { return len(p), nil }
func (b *blackhole) WriteHeader(int)             {}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// start runs the generated server for h and returns a generated client of it
// whose retries do not wait and whose attempts each use a new connection.
func start(t *testing.T, h Handler, rec *seen, dropPath string, opts ...ClientOption) *Client {
	t.Helper()
	// The undeclared-500 test makes the handler fail: its log is noise here.
	srv, err := NewServer(h, serverkit.WithMiddleware(dropFirst(dropPath, rec)), serverkit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return newClient(t, ts.URL, opts...)
}

func newClient(t *testing.T, url string, opts ...ClientOption) *Client {
	t.Helper()
	base := []ClientOption{
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}),
		client.WithRetryOptions(client.WithSleep(noSleep)),
	}
	c, err := NewClient(url, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDroppedAnswerIsReplayed: the server commits the song, the connection is
// closed before the answer; the client retries with the same key and gets the
// replay; the song was created once.
func TestDroppedAnswerIsReplayed(t *testing.T) {
	h, rec := &impl{}, &seen{}
	c := start(t, h, rec, "/songs")
	resp, raw, err := c.CreateSong(context.Background(), CreateSongRequestObject{Body: NewSong{Title: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	created, ok := resp.(CreateSong201JSONResponse)
	if !ok || created.Body.Title != "a" || created.Headers.Location == nil || *created.Headers.Location != "/songs/1" {
		t.Fatalf("response = %#v", resp)
	}
	if h.songs.Load() != 1 || rec.count() != 2 {
		t.Errorf("%d songs created by %d requests; want 1 by 2", h.songs.Load(), rec.count())
	}
	res := raw.Result
	if !res.Replayed || res.Attempts != 2 || res.Status != 201 || !uuidV4.MatchString(res.Key) {
		t.Errorf("result = %+v", res)
	}
	for _, r := range rec.reqs {
		if got := r.Header.Get("Idempotency-Key"); got != `"`+res.Key+`"` {
			t.Errorf("request sent key %s, want %q", got, res.Key)
		}
	}
}

func TestKeySources(t *testing.T) {
	h, rec := &impl{}, &seen{}
	c := start(t, h, rec, "-")
	ctx := context.Background()

	// A caller's key, then a key the caller put in the declared header parameter.
	_, raw, err := c.CreateSong(ctx, CreateSongRequestObject{Body: NewSong{Title: "b"}}, client.WithIdempotencyKey("caller-key"))
	if err != nil || raw.Result.Key != "caller-key" || rec.last().Header.Get("Idempotency-Key") != `"caller-key"` {
		t.Errorf("caller key: err %v, result %+v", err, raw.Result)
	}
	_, raw, err = c.CreateSong(ctx, CreateSongRequestObject{IdempotencyKey: "param-key", Body: NewSong{Title: "b"}})
	if err != nil || raw.Result.Key != "param-key" {
		t.Errorf("param key: err %v, result %+v", err, raw.Result)
	}

	// A body field: filled when empty, kept when set.
	resp, raw, err := c.CreateOrder(ctx, CreateOrderRequestObject{Body: Order{Item: "tea"}})
	order, _ := resp.(CreateOrder201JSONResponse)
	if err != nil || !uuidV4.MatchString(raw.Result.Key) || order.Body.RequestID == nil || *order.Body.RequestID != raw.Result.Key {
		t.Errorf("body key: err %v, result %+v, order %+v", err, raw.Result, order.Body)
	}
	own := "order-7"
	_, raw, err = c.CreateOrder(ctx, CreateOrderRequestObject{Body: Order{Item: "tea", RequestID: &own}})
	if err != nil || raw.Result.Key != own {
		t.Errorf("own body key: err %v, result %+v", err, raw.Result)
	}
	_, raw, err = c.CreateOrder(ctx, CreateOrderRequestObject{Body: Order{Item: "tea", RequestID: &own}})
	if err != nil || !raw.Result.Replayed || h.orders.Load() != 2 {
		t.Errorf("repeated body key: err %v, result %+v, %d orders", err, raw.Result, h.orders.Load())
	}

	// A query key, in the ULID format the spec asks for.
	_, raw, err = c.Vote(ctx, VoteRequestObject{Choice: "yes"})
	if err != nil || !ulidRe.MatchString(raw.Result.Key) || rec.last().URL.Query().Get("token") != raw.Result.Key {
		t.Errorf("query key: err %v, result %+v, query %q", err, raw.Result, rec.last().URL.RawQuery)
	}
	own = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
	_, raw, err = c.Vote(ctx, VoteRequestObject{Choice: "yes", Token: own})
	if err != nil || raw.Result.Key != own || rec.last().URL.Query()["token"][0] != own || len(rec.last().URL.Query()["token"]) != 1 {
		t.Errorf("own query key: err %v, result %+v", err, raw.Result)
	}

	// A derived key: nothing is sent; the server deduplicates by bill and payer.
	for i := range 2 {
		_, raw, err = c.PayBill(ctx, PayBillRequestObject{BillId: "b-1", Body: Payment{Bill: "b-1", Payer: "ann", Amount: 5}}, client.WithIdempotencyKey("ignored"))
		if err != nil || raw.Result.Key != "" || rec.last().Header.Get("Idempotency-Key") != "" || raw.Result.Replayed != (i == 1) {
			t.Errorf("derived key, call %d: err %v, result %+v", i, err, raw.Result)
		}
	}
	if h.bills.Load() != 1 {
		t.Errorf("bill paid %d times", h.bills.Load())
	}
}

// TestDeclaredResults: every status the spec declares comes back as its typed
// response with a nil error, 4xx and 5xx included.
func TestDeclaredResults(t *testing.T) {
	h, rec := &impl{}, &seen{}
	c := start(t, h, rec, "-")
	ctx := context.Background()

	// A declared 2xx.
	got, _, err := c.GetSong(ctx, GetSongRequestObject{ID: 7})
	if song, ok := got.(GetSong200JSONResponse); err != nil || !ok || song.Body.ID != 7 || rec.last().URL.Path != "/songs/7" {
		t.Errorf("200: %#v, %v", got, err)
	}
	// A declared 404 without a body.
	got, raw, err := c.GetSong(ctx, GetSongRequestObject{ID: 404})
	if _, ok := got.(GetSong404Response); err != nil || !ok || raw.Result.Status != 404 || raw.Result.Attempts != 1 {
		t.Errorf("404: %#v, %v, %+v", got, err, raw.Result)
	}
	// A declared default, answered with a 409 of the application: typed,
	// its status kept, not retried (an ordinary conflict).
	del, raw, err := c.DeleteSong(ctx, DeleteSongRequestObject{ID: 409})
	if d, ok := del.(DeleteSongDefaultJSONResponse); err != nil || !ok || d.StatusCode != 409 || d.Body.Message != "the song is in a playlist" || raw.Result.Attempts != 1 {
		t.Errorf("default: %#v, %v, %+v", del, err, raw.Result)
	}
	if del, _, err = c.DeleteSong(ctx, DeleteSongRequestObject{ID: 1}); err != nil {
		t.Errorf("204: %#v, %v", del, err)
	} else if _, ok := del.(DeleteSong204Response); !ok {
		t.Errorf("204: %#v", del)
	}
	// A 4xx problem the spec declares (4XX, application/problem+json): the
	// runtime's 422 for a reused key comes back typed, never retried.
	if _, _, err := c.CreateSong(ctx, CreateSongRequestObject{Body: NewSong{Title: "one"}}, client.WithIdempotencyKey("k")); err != nil {
		t.Fatal(err)
	}
	resp, raw, err := c.CreateSong(ctx, CreateSongRequestObject{Body: NewSong{Title: "two"}}, client.WithIdempotencyKey("k"))
	if bad, ok := resp.(CreateSong4XXJSONResponse); err != nil || !ok || bad.StatusCode != 422 || bad.Body.Status == nil || *bad.Body.Status != 422 {
		t.Errorf("declared 4XX: %#v, %v", resp, err)
	}
	if raw.Result.Attempts != 1 || h.songs.Load() != 1 {
		t.Errorf("result %+v, %d songs", raw.Result, h.songs.Load())
	}
}

// TestDeclaredRetryableStatus: a declared 503 is retried like any 503, and
// when the attempts run out the last one comes back typed with a nil error.
func TestDeclaredRetryableStatus(t *testing.T) {
	h, rec := &impl{}, &seen{}
	c := start(t, h, rec, "-")
	got, raw, err := c.GetSong(context.Background(), GetSongRequestObject{ID: 503})
	if _, ok := got.(GetSong503Response); err != nil || !ok {
		t.Fatalf("declared 503: %#v, %v", got, err)
	}
	if raw.Result.Attempts != 5 || raw.Result.Status != 503 || h.getSongs.Load() != 5 {
		t.Errorf("result %+v after %d requests; want 5 attempts (the default policy)", raw.Result, h.getSongs.Load())
	}
}

// TestUndeclaredResults: a status the spec does not declare, and a
// problem+json answer where the spec declares another media type, are
// errors: a *client.Error whose text says each thing once.
func TestUndeclaredResults(t *testing.T) {
	h, rec := &impl{}, &seen{}
	c := start(t, h, rec, "-")
	ctx := context.Background()

	// An undeclared 500 (the handler failed): retried, then an error.
	got, raw, err := c.GetSong(ctx, GetSongRequestObject{ID: 500})
	var ce *client.Error
	if got != nil || !errors.As(err, &ce) || ce.Status != 500 || ce.Result.Attempts != 5 || raw.Result.Attempts != 5 {
		t.Fatalf("undeclared 500: %#v, %v, %+v", got, err, raw.Result)
	}
	if want := "client: getSong: 500 Internal Server Error (after 5 attempts)"; err.Error() != want {
		t.Errorf("error text %q, want %q", err.Error(), want)
	}

	// The runtime's 422 where the spec declares a JSON default, not a
	// problem: the answer is not the application's default.
	own := "order-1"
	if _, _, err := c.CreateOrder(ctx, CreateOrderRequestObject{Body: Order{Item: "tea", RequestID: &own}}); err != nil {
		t.Fatal(err)
	}
	resp, raw, err := c.CreateOrder(ctx, CreateOrderRequestObject{Body: Order{Item: "coffee", RequestID: &own}})
	var p *client.Problem
	if resp != nil || !errors.As(err, &ce) || !ce.KeyMismatch() || !errors.As(err, &p) || p.Status != 422 || raw.Result.Attempts != 1 {
		t.Fatalf("runtime 422: %#v, %v, %+v", resp, err, raw.Result)
	}
	want := "client: createOrder: 422 Unprocessable Entity: " + p.Detail
	if p.Detail == "" || err.Error() != want || strings.Count(err.Error(), "Unprocessable Entity") != 1 {
		t.Errorf("error text %q, want %q", err.Error(), want)
	}
}

// TestProblemPerStatus: problem+json is a declared outcome for the statuses
// that declare it (4XX of vote), not for the one that declares JSON (its 404).
func TestProblemPerStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct, status := "application/problem+json", 404
		switch r.URL.Query().Get("choice") {
		case "json404":
			ct = "application/json"
		case "problem409":
			status = 409
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"m","title":"t","status":%d}`, status)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetryPolicy(client.Policy{MaxAttempts: 1}))
	ctx := context.Background()
	resp, _, err := c.Vote(ctx, VoteRequestObject{Choice: "json404"})
	if nf, ok := resp.(Vote404JSONResponse); err != nil || !ok || nf.Body.Message != "m" {
		t.Errorf("JSON 404: %#v, %v", resp, err)
	}
	resp, _, err = c.Vote(ctx, VoteRequestObject{Choice: "problem404"})
	var ce *client.Error
	if resp != nil || !errors.As(err, &ce) || ce.Status != 404 || ce.Problem == nil {
		t.Errorf("problem 404: %#v, %v; want a *client.Error", resp, err)
	}
	resp, _, err = c.Vote(ctx, VoteRequestObject{Choice: "problem409"})
	if p, ok := resp.(Vote4XXJSONResponse); err != nil || !ok || p.StatusCode != 409 {
		t.Errorf("problem 409: %#v, %v; want the declared 4XX", resp, err)
	}
}

// TestRuntimeConflictIsAnError: a duplicate that arrives while the first call
// runs gets the runtime's 409 problem; without retries left it is an error
// that says the key is in flight, not the operation's JSON default.
func TestRuntimeConflictIsAnError(t *testing.T) {
	h, rec := &impl{orderIn: make(chan struct{}), orderGo: make(chan struct{})}, &seen{}
	c := start(t, h, rec, "-")
	ctx := context.Background()
	own := "order-2"
	first := make(chan error, 1)
	go func() {
		_, _, err := c.CreateOrder(ctx, CreateOrderRequestObject{Body: Order{Item: "tea", RequestID: &own}})
		first <- err
	}()
	<-h.orderIn // the first call holds the key
	resp, raw, err := c.CreateOrder(ctx, CreateOrderRequestObject{Body: Order{Item: "tea", RequestID: &own}},
		client.WithCallRetryPolicy(client.Policy{MaxAttempts: 1}))
	close(h.orderGo)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	var ce *client.Error
	var p *client.Problem
	if resp != nil || !errors.As(err, &ce) || !ce.InFlight() || !errors.As(err, &p) || p.Status != 409 || raw.Result.Attempts != 1 {
		t.Fatalf("runtime 409: %#v, %v, %+v", resp, err, raw.Result)
	}
	if strings.Count(err.Error(), "Conflict") != 1 {
		t.Errorf("error text %q says the title twice", err.Error())
	}
	if h.orders.Load() != 1 {
		t.Errorf("%d orders, want 1", h.orders.Load())
	}
}

// TestInFlightRetriedUntilReplay: a duplicate that arrives while the first call
// runs gets 409 and retries until the first call's outcome is replayed.
func TestInFlightRetriedUntilReplay(t *testing.T) {
	h, rec := &impl{block: make(chan struct{})}, &seen{}
	first := make(chan error, 1)
	var once sync.Once
	// The duplicate's backoff lets the first call finish.
	sleep := func(ctx context.Context, _ time.Duration) error {
		once.Do(func() {
			close(h.block)
			if err := <-first; err != nil {
				t.Error(err)
			}
		})
		return ctx.Err()
	}
	c := start(t, h, rec, "-", client.WithRetryOptions(client.WithSleep(sleep)))
	ctx := context.Background()
	go func() {
		_, _, err := c.CreateSong(ctx, CreateSongRequestObject{Body: NewSong{Title: "slow"}}, client.WithIdempotencyKey("dup"))
		first <- err
	}()
	for rec.count() == 0 { // the first call is in the handler once the server saw it
		time.Sleep(time.Millisecond)
	}
	resp, raw, err := c.CreateSong(ctx, CreateSongRequestObject{Body: NewSong{Title: "slow"}}, client.WithIdempotencyKey("dup"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.(CreateSong201JSONResponse); !ok || !raw.Result.Replayed || raw.Result.Attempts != 2 || h.songs.Load() != 1 {
		t.Errorf("response %#v, result %+v, %d songs", resp, raw.Result, h.songs.Load())
	}
}

// TestNonIdempotentNotRetried: a plain POST whose answer was lost is not sent
// again (it may have run: it did).
func TestNonIdempotentNotRetried(t *testing.T) {
	h, rec := &impl{}, &seen{}
	c := start(t, h, rec, "/log")
	_, raw, err := c.AppendLog(context.Background(), AppendLogRequestObject{Body: "line"})
	if err == nil || raw.Result.Attempts != 1 || h.logs.Load() != 1 {
		t.Errorf("err %v, result %+v, %d appends", err, raw.Result, h.logs.Load())
	}
}

func TestOptions(t *testing.T) {
	h, rec := &impl{}, &seen{}
	var events atomic.Int64
	c := start(t, h, rec, "-",
		client.WithUserAgent("e2e/1"),
		client.WithRequestEditorFn(func(ctx context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer x")
			return nil
		}),
		client.WithClientObserver(client.ObserverFunc(func(ctx context.Context, e client.Event) { events.Add(1) })),
		client.WithRetryPolicy(client.Policy{MaxAttempts: 1}))
	_, _, err := c.GetSong(context.Background(), GetSongRequestObject{ID: 1},
		client.WithCallRequestEditorFn(func(ctx context.Context, r *http.Request) error { r.Header.Set("X-Call", "1"); return nil }))
	r := rec.last()
	if err != nil || r.UserAgent() != "e2e/1" || r.Header.Get("Authorization") != "Bearer x" || r.Header.Get("X-Call") != "1" || events.Load() != 1 {
		t.Errorf("err %v, headers %v, %d events", err, r.Header, events.Load())
	}
	_, _, err = c.GetSong(context.Background(), GetSongRequestObject{ID: 1},
		client.WithCallRequestEditorFn(func(ctx context.Context, r *http.Request) error { return errors.New("no token") }))
	if err == nil || !strings.Contains(err.Error(), "e2e: getSong: request editor: no token") {
		t.Errorf("editor error = %v", err)
	}
	if _, err := NewClient("not a url"); err == nil {
		t.Error("NewClient accepted a relative URL")
	}
}

// TestDropProxy: 300 calls through a proxy that loses 30% of the answers; every
// call succeeds, every song is created once.
func TestDropProxy(t *testing.T) {
	h := &impl{}
	srv, err := NewServer(h)
	if err != nil {
		t.Fatal(err)
	}
	be := httptest.NewServer(srv)
	defer be.Close()
	px := clienttest.NewDropProxy(be.URL, be.Client(), 0.3, 7)
	ps := httptest.NewServer(px)
	defer ps.Close()
	c := newClient(t, ps.URL, client.WithRetryPolicy(client.Policy{MaxAttempts: 25, MaxElapsed: -1}))
	const calls = 300
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _, err := c.CreateSong(context.Background(), CreateSongRequestObject{Body: NewSong{Title: fmt.Sprint(i)}})
			if got, ok := resp.(CreateSong201JSONResponse); err == nil && (!ok || got.Body.Title != fmt.Sprint(i)) {
				err = fmt.Errorf("call %d: %#v", i, resp)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if h.songs.Load() != calls || px.Dropped() < calls/5 {
		t.Errorf("%d songs for %d calls, %d answers dropped", h.songs.Load(), calls, px.Dropped())
	}
}

// TestAgainstDraftServer: the generated client against a plain net/http server
// that implements the IETF draft by hand.
func TestAgainstDraftServer(t *testing.T) {
	var drops atomic.Int64
	s := &clienttest.DraftServer{
		Work: func(r *http.Request, body []byte) clienttest.Outcome {
			return clienttest.Outcome{Status: 201, Header: http.Header{"Content-Type": {"application/json"}, "Location": {"/songs/9"}},
				Body: []byte(`{"id":9,"title":"draft"}`)}
		},
		DropAfterCommit: func(*http.Request) bool { return drops.Add(1) == 1 },
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	c := newClient(t, ts.URL)
	resp, raw, err := c.CreateSong(context.Background(), CreateSongRequestObject{Body: NewSong{Title: "draft"}})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := resp.(CreateSong201JSONResponse)
	if !ok || got.Body.ID != 9 || *got.Headers.Location != "/songs/9" || !raw.Result.Replayed || raw.Result.Attempts != 2 {
		t.Errorf("response %#v, result %+v", resp, raw.Result)
	}
	if s.Runs() != 1 || s.Requests(raw.Result.Key) != 2 {
		t.Errorf("draft server ran %d times for %d requests", s.Runs(), s.Requests(raw.Result.Key))
	}
	// The draft server's 422 problem is declared (4XX, problem+json): typed.
	resp, _, err = c.CreateSong(context.Background(), CreateSongRequestObject{Body: NewSong{Title: "other"}}, client.WithIdempotencyKey(raw.Result.Key))
	if bad, ok := resp.(CreateSong4XXJSONResponse); err != nil || !ok || bad.StatusCode != 422 {
		t.Errorf("reused key: %#v, %v", resp, err)
	}
}
