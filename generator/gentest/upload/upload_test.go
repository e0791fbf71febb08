package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/serverkit"
	"github.com/idemgen/idemgen/runtime/upload"
)

// studio records what its handler really received.
type studio struct {
	UnimplementedHandler
	photos, donations, scans atomic.Int64
	mu                       sync.Mutex
	last                     UploadPhotoRequest
	lastDonation             DonateRequest
}

func (s *studio) UploadPhoto(ctx context.Context, req UploadPhotoRequestObject) (UploadPhotoResponseObject, error) {
	n := s.photos.Add(1)
	s.mu.Lock()
	s.last = req.Body
	s.mu.Unlock()
	b := req.Body
	sum := sha256.Sum256(b.Image.Data)
	p := Photo{ID: int(n), Title: b.Title, Size: int(b.Image.Size()), Filename: &b.Image.Filename,
		ContentType: &b.Image.ContentType, Tags: b.Tags}
	h := hex.EncodeToString(sum[:])
	p.Sha256 = &h
	extras := len(b.Extras)
	p.Extras = &extras
	if b.Meta != nil {
		p.Camera = b.Meta.Camera
	}
	return UploadPhoto201JSONResponse{Body: p}, nil
}

func (s *studio) SubmitScan(ctx context.Context, req SubmitScanRequestObject) (SubmitScanResponseObject, error) {
	n := int(s.scans.Add(1))
	var r SubmitScan201JSONResponse
	r.Body.ID, r.Body.Key = n, req.Body.ScanKey
	return r, nil
}

func (s *studio) Donate(ctx context.Context, req DonateRequestObject) (DonateResponseObject, error) {
	n := int(s.donations.Add(1))
	s.mu.Lock()
	s.lastDonation = req.Body
	s.mu.Unlock()
	amount := req.Body.Amount
	var r Donate201JSONResponse
	r.Body.ID, r.Body.Amount, r.Body.Funds, r.Body.Codes = &n, &amount, req.Body.Funds, req.Body.Codes
	return r, nil
}

func newServer(t *testing.T, opts ...ServerOption) (*studio, *httptest.Server) {
	t.Helper()
	h := &studio{}
	srv, err := NewServer(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return h, ts
}

// formPart is one part a curl-like client sends.
type formPart struct {
	name, filename, contentType, content string
}

// curlBody encodes parts as `curl -F` does: mime/multipart.Writer with a
// fresh random boundary on every call.
func curlBody(t *testing.T, parts ...formPart) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := make(textproto.MIMEHeader)
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, p.content)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, ts *httptest.Server, path, key, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

var (
	png    = "\x89PNG\r\n\x1a\n" + strings.Repeat("pixel", 200)
	photo1 = []formPart{
		{"title", "", "", "Harbour at dawn"},
		{"rating", "", "", "4"},
		{"tags", "", "", "sea"},
		{"tags", "", "", "boats"},
		{"image", "harbour.png", "image/png", png},
		{"extras", "raw1.dng", "", "raw one"},
		{"extras", "raw2.dng", "", "raw two"},
		{"meta", "", "application/json", `{"camera":"X100","iso":200}`},
	}
)

// TestCurlRetryWithNewBoundaryReplays is issue 14's "Done when": two
// byte-identical `curl -F` uploads with one key (each with its own random
// boundary) run the handler once, and the retry gets the first answer's bytes.
func TestCurlRetryWithNewBoundaryReplays(t *testing.T) {
	h, ts := newServer(t)
	b1, ct1 := curlBody(t, photo1...)
	b2, ct2 := curlBody(t, photo1...)
	if ct1 == ct2 || bytes.Equal(b1, b2) {
		t.Fatal("the two uploads share a boundary; the test proves nothing")
	}
	first := post(t, ts, "/photos", "up-1", ct1, b1)
	if first.status != http.StatusCreated {
		t.Fatalf("first upload: %d %s", first.status, first.body)
	}
	second := post(t, ts, "/photos", "up-1", ct2, b2)
	if second.status != http.StatusCreated || !bytes.Equal(second.body, first.body) {
		t.Fatalf("retry with a new boundary: %d %s, want the first answer %s", second.status, second.body, first.body)
	}
	if second.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry not marked replayed: %v", second.header)
	}
	if n := h.photos.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}

	// The handler got the schema's Go type: fields, repeated fields in
	// order, files with their filename, content type and content.
	got := h.last
	if got.Title != "Harbour at dawn" || got.Rating == nil || *got.Rating != 4 ||
		strings.Join(got.Tags, ",") != "sea,boats" {
		t.Errorf("fields: %+v", got)
	}
	if got.Image.Filename != "harbour.png" || got.Image.ContentType != "image/png" || string(got.Image.Data) != png {
		t.Errorf("image: %q %q %d bytes", got.Image.Filename, got.Image.ContentType, len(got.Image.Data))
	}
	if got.Thumbnail != nil {
		t.Errorf("absent optional file decoded: %+v", got.Thumbnail)
	}
	if len(got.Extras) != 2 || got.Extras[1].Filename != "raw2.dng" || string(got.Extras[1].Data) != "raw two" ||
		got.Extras[0].ContentType != upload.DefaultContentType {
		t.Errorf("extras: %+v", got.Extras)
	}
	if got.Meta == nil || got.Meta.Camera == nil || *got.Meta.Camera != "X100" {
		t.Errorf("meta: %+v", got.Meta)
	}

	// Part order across names does not matter either (a browser may order
	// its fields differently on a retry).
	reordered := append([]formPart{photo1[7], photo1[4]}, photo1[:4]...)
	reordered = append(reordered, photo1[5], photo1[6])
	b3, ct3 := curlBody(t, reordered...)
	if third := post(t, ts, "/photos", "up-1", ct3, b3); third.status != http.StatusCreated || !bytes.Equal(third.body, first.body) {
		t.Fatalf("retry with parts reordered: %d %s", third.status, third.body)
	}

	// Another file content under the same key is another request: 422.
	other := append([]formPart(nil), photo1...)
	other[4].content = png + "!"
	b4, ct4 := curlBody(t, other...)
	if a := post(t, ts, "/photos", "up-1", ct4, b4); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("other file content, same key: %d %s, want 422", a.status, a.body)
	}
	// So is the same content with the repeated tags swapped: array order counts.
	swapped := append([]formPart(nil), photo1...)
	swapped[2], swapped[3] = swapped[3], swapped[2]
	b5, ct5 := curlBody(t, swapped...)
	if a := post(t, ts, "/photos", "up-1", ct5, b5); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("array items swapped, same key: %d %s, want 422", a.status, a.body)
	}
	if n := h.photos.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

// problem is a problem+json answer.
type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

func decodeProblem(t *testing.T, a answer) problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want problem+json: %s", ct, a.body)
	}
	var p problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	return p
}

// TestInvalidPartsAre400WithPointers: parts that do not match their schema
// are listed by pointer, the handler does not run and no key is claimed.
func TestInvalidPartsAre400WithPointers(t *testing.T) {
	h, ts := newServer(t)
	bad := []formPart{
		{"rating", "", "", "four"},
		{"tags", "", "", "ok"},
		{"image", "h.gif", "image/gif", "GIF89a"},
		{"meta", "", "text/plain", `{"iso":"high"}`},
	}
	b, ct := curlBody(t, bad...)
	a := post(t, ts, "/photos", "up-2", ct, b)
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d %s, want 400", a.status, a.body)
	}
	p := decodeProblem(t, a)
	want := map[string]string{
		"/title":  "is required",
		"/rating": "want an integer",
		"/image":  `Content-Type "image/gif" is not image/png or image/jpeg`,
		"/meta":   `Content-Type "text/plain" is not application/json`,
	}
	for _, e := range p.Errors {
		if w, ok := want[e.Pointer]; ok && strings.Contains(e.Detail, w) {
			delete(want, e.Pointer)
		}
	}
	if len(want) > 0 {
		t.Fatalf("missing violations %v in %s", want, a.body)
	}

	// An item of an array that does not decode is named by its index.
	b, ct = curlBody(t, formPart{"title", "", "", "t"}, formPart{"image", "a.png", "image/png", "x"},
		formPart{"meta", "", "application/json", `{"iso":"high"}`})
	a = post(t, ts, "/photos", "up-2", ct, b)
	if p := decodeProblem(t, a); a.status != 400 || len(p.Errors) != 1 || p.Errors[0].Pointer != "/meta" {
		t.Fatalf("bad JSON part: %d %s", a.status, a.body)
	}
	if h.photos.Load() != 0 {
		t.Fatal("the handler ran on an invalid request")
	}
	// The key was not claimed: a valid upload with it runs.
	b, ct = curlBody(t, photo1...)
	if a := post(t, ts, "/photos", "up-2", ct, b); a.status != http.StatusCreated || h.photos.Load() != 1 {
		t.Fatalf("valid upload after invalid ones: %d %s", a.status, a.body)
	}
}

// TestFileOverMaxBodyIs413: the body, files included, is bounded by the
// server's maximum body size.
func TestFileOverMaxBodyIs413(t *testing.T) {
	h, ts := newServer(t, serverkit.WithMaxBodyBytes(4<<10))
	b, ct := curlBody(t, formPart{"title", "", "", "big"}, formPart{"image", "big.png", "image/png", strings.Repeat("x", 5<<10)})
	a := post(t, ts, "/photos", "up-3", ct, b)
	if a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d %s, want 413", a.status, a.body)
	}
	if p := decodeProblem(t, a); p.Status != 413 {
		t.Fatalf("problem %+v", p)
	}
	if h.photos.Load() != 0 {
		t.Fatal("the handler ran")
	}

	// Under the server's limit (10 MiB by default) but over the policy's
	// maxRequestBytes (1 MiB by default): the idempotency middleware's 413.
	h, ts = newServer(t)
	b, ct = curlBody(t, formPart{"title", "", "", "big"}, formPart{"image", "big.png", "image/png", strings.Repeat("x", 1<<20)})
	a = post(t, ts, "/photos", "up-4", ct, b)
	if p := decodeProblem(t, a); a.status != http.StatusRequestEntityTooLarge || p.Status != 413 {
		t.Fatalf("over maxRequestBytes: %d %s", a.status, a.body)
	}
	if h.photos.Load() != 0 {
		t.Fatal("the handler ran")
	}
}

// TestURLEncodedReorderedFieldsReplay: a urlencoded retry with its fields in
// another order replays; repeated values of an array field keep their order.
func TestURLEncodedReorderedFieldsReplay(t *testing.T) {
	h, ts := newServer(t)
	const ct = "application/x-www-form-urlencoded"
	first := post(t, ts, "/donations", "don-1", ct, []byte("amount=25&currency=EUR&note=thanks+a+lot&funds=parks&funds=libraries"))
	if first.status != http.StatusCreated {
		t.Fatalf("%d %s", first.status, first.body)
	}
	got := h.lastDonation
	if got.Amount != 25 || got.Currency != "EUR" || got.Note == nil || *got.Note != "thanks a lot" ||
		strings.Join(got.Funds, ",") != "parks,libraries" {
		t.Fatalf("decoded %+v", got)
	}
	again := post(t, ts, "/donations", "don-1", ct+"; charset=utf-8", []byte("funds=parks&note=thanks%20a%20lot&currency=EUR&funds=libraries&amount=25"))
	if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || h.donations.Load() != 1 {
		t.Fatalf("reordered retry: %d %s (handler ran %d times)", again.status, again.body, h.donations.Load())
	}
	swapped := post(t, ts, "/donations", "don-1", ct, []byte("amount=25&currency=EUR&note=thanks+a+lot&funds=libraries&funds=parks"))
	if swapped.status != http.StatusUnprocessableEntity {
		t.Fatalf("array values swapped: %d %s, want 422", swapped.status, swapped.body)
	}
	bad := post(t, ts, "/donations", "don-2", ct, []byte("amount=lots"))
	if p := decodeProblem(t, bad); bad.status != 400 || len(p.Errors) != 2 {
		t.Fatalf("invalid donation: %d %s", bad.status, bad.body)
	}
}

// TestClientUploads: the generated client encodes the typed body as
// multipart; two calls with one key encode it with different boundaries and
// the second replays.
func TestClientUploads(t *testing.T) {
	h, ts := newServer(t)
	c, err := NewClient(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	camera := "X100"
	req := UploadPhotoRequestObject{Body: UploadPhotoRequest{
		Title:  "Pier",
		Tags:   []string{"b", "a"},
		Image:  upload.File{Filename: "pier.jpg", ContentType: "image/jpeg", Data: []byte("jpeg bytes")},
		Extras: []upload.File{{Filename: "x.bin", Data: []byte{0, 1, 2}}},
		Meta:   &Meta{Camera: &camera},
	}}
	var answers [2][]byte
	for i := range answers {
		resp, raw, err := c.UploadPhoto(context.Background(), req, client.WithIdempotencyKey("client-up-1"))
		if err != nil {
			t.Fatal(err)
		}
		r, ok := resp.(UploadPhoto201JSONResponse)
		if !ok {
			t.Fatalf("got %T", resp)
		}
		if r.Body.Title != "Pier" || r.Body.Size != len("jpeg bytes") || *r.Body.Filename != "pier.jpg" ||
			*r.Body.ContentType != "image/jpeg" || strings.Join(r.Body.Tags, ",") != "b,a" || *r.Body.Extras != 1 ||
			r.Body.Camera == nil || *r.Body.Camera != "X100" {
			t.Fatalf("answer %+v", r.Body)
		}
		answers[i], _ = json.Marshal(r.Body)
		_ = raw
	}
	if h.photos.Load() != 1 || !bytes.Equal(answers[0], answers[1]) {
		t.Fatalf("handler ran %d times; answers %s / %s", h.photos.Load(), answers[0], answers[1])
	}
	if got := h.last.Extras; len(got) != 1 || got[0].ContentType != upload.DefaultContentType || !bytes.Equal(got[0].Data, []byte{0, 1, 2}) {
		t.Fatalf("extras %+v", got)
	}

	dresp, _, err := c.Donate(context.Background(), DonateRequestObject{Body: DonateRequest{Amount: 5, Currency: "CHF", Funds: []string{"z", "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := dresp.(Donate201JSONResponse); !ok || *d.Body.Amount != 5 || strings.Join(d.Body.Funds, ",") != "z,a" {
		t.Fatalf("donation %+v", dresp)
	}
}

// TestFormBodiesAreValidated: decoded form bodies are checked against their
// schema like JSON bodies, before the key is claimed.
func TestFormBodiesAreValidated(t *testing.T) {
	h, ts := newServer(t)
	b, ct := curlBody(t,
		formPart{"title", "", "", strings.Repeat("t", 41)},
		formPart{"rating", "", "", "9"},
		formPart{"tags", "", "", "a"}, formPart{"tags", "", "", "b"}, formPart{"tags", "", "", "c"}, formPart{"tags", "", "", "d"},
		formPart{"image", "i.png", "image/png", "x"})
	a := post(t, ts, "/photos", "val-1", ct, b)
	p := decodeProblem(t, a)
	var ptrs []string
	for _, e := range p.Errors {
		ptrs = append(ptrs, e.Pointer)
	}
	if a.status != 400 || strings.Join(ptrs, " ") != "/title /rating /tags" {
		t.Fatalf("invalid upload: %d %s", a.status, a.body)
	}
	d := post(t, ts, "/donations", "val-2", "application/x-www-form-urlencoded", []byte("amount=0&currency=eur"))
	p = decodeProblem(t, d)
	ptrs = ptrs[:0]
	for _, e := range p.Errors {
		ptrs = append(ptrs, e.Pointer)
	}
	if d.status != 400 || strings.Join(ptrs, " ") != "/amount /currency" {
		t.Fatalf("invalid donation: %d %s", d.status, d.body)
	}
	if h.photos.Load()+h.donations.Load() != 0 {
		t.Fatal("a handler ran")
	}
	if a := post(t, ts, "/donations", "val-2", "application/x-www-form-urlencoded", []byte("amount=1&currency=EUR")); a.status != 201 {
		t.Fatalf("valid donation with the same key: %d %s", a.status, a.body)
	}
}

// TestKeyInAPart: key.field read from a multipart part, by the server and
// filled in by the client.
func TestKeyInAPart(t *testing.T) {
	h, ts := newServer(t)
	b1, ct1 := curlBody(t, formPart{"scanKey", "", "", "scan-7"}, formPart{"page", "p1.tiff", "image/tiff", "page one"})
	b2, ct2 := curlBody(t, formPart{"page", "p1.tiff", "image/tiff", "page one"}, formPart{"scanKey", "", "", "scan-7"})
	a1 := post(t, ts, "/scans", "", ct1, b1)
	a2 := post(t, ts, "/scans", "", ct2, b2)
	if a1.status != 201 || a2.status != 201 || !bytes.Equal(a1.body, a2.body) || h.scans.Load() != 1 {
		t.Fatalf("key in a part: %d %s / %d %s, handler ran %d times", a1.status, a1.body, a2.status, a2.body, h.scans.Load())
	}
	b3, ct3 := curlBody(t, formPart{"page", "p1.tiff", "image/tiff", "page one"})
	if a := post(t, ts, "/scans", "", ct3, b3); a.status != 400 {
		t.Fatalf("no key part: %d %s, want 400", a.status, a.body)
	}
	b4, ct4 := curlBody(t, formPart{"scanKey", "", "", "a"}, formPart{"scanKey", "", "", "b"}, formPart{"page", "", "", "x"})
	if a := post(t, ts, "/scans", "", ct4, b4); a.status != 400 {
		t.Fatalf("two key parts: %d %s, want 400", a.status, a.body)
	}

	c, err := NewClient(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	page := upload.File{Filename: "p2.tiff", Data: []byte("page two")}
	resp, _, err := c.SubmitScan(context.Background(), SubmitScanRequestObject{Body: SubmitScanRequest{Page: page}})
	if err != nil {
		t.Fatal(err)
	}
	fresh := resp.(SubmitScan201JSONResponse).Body
	if fresh.Key == "" || fresh.Key == "scan-7" {
		t.Fatalf("client did not fill a fresh key: %+v", fresh)
	}
	again, _, err := c.SubmitScan(context.Background(), SubmitScanRequestObject{Body: SubmitScanRequest{Page: page}}, client.WithIdempotencyKey(fresh.Key))
	if err != nil {
		t.Fatal(err)
	}
	if got := again.(SubmitScan201JSONResponse).Body; got != fresh || h.scans.Load() != 2 {
		t.Fatalf("retry with the filled key: %+v (first %+v), handler ran %d times", got, fresh, h.scans.Load())
	}
}

// TestDelimitedField: an array the encoding object sends unexploded
// (pipeDelimited) is one field, split into its items, and the client joins
// it so.
func TestDelimitedField(t *testing.T) {
	h, ts := newServer(t)
	const ct = "application/x-www-form-urlencoded"
	a := post(t, ts, "/donations", "del-1", ct, []byte("amount=3&currency=EUR&codes=7%7C8%7C9"))
	if a.status != 201 || fmt.Sprint(h.lastDonation.Codes) != "[7 8 9]" {
		t.Fatalf("%d %s: codes %v", a.status, a.body, h.lastDonation.Codes)
	}
	bad := post(t, ts, "/donations", "del-2", ct, []byte("amount=3&currency=EUR&codes=7|x"))
	if p := decodeProblem(t, bad); bad.status != 400 || len(p.Errors) != 1 || p.Errors[0].Pointer != "/codes/1" {
		t.Fatalf("bad item: %d %s", bad.status, bad.body)
	}
	var sent string
	c, err := NewClient(ts.URL, client.WithRequestEditorFn(func(ctx context.Context, r *http.Request) error {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		sent = string(b)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := c.Donate(context.Background(), DonateRequestObject{Body: DonateRequest{Amount: 1, Currency: "EUR", Codes: []int{4, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := resp.(Donate201JSONResponse); !ok || fmt.Sprint(d.Body.Codes) != "[4 2]" || !strings.Contains(sent, "codes=4%7C2") {
		t.Fatalf("client: %+v, sent %q", resp, sent)
	}
}
