package idempotency

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// part is one multipart part of a test body.
type part struct {
	name, filename, contentType, content string
}

// multipartBody encodes parts with boundary, as mime/multipart.Writer does
// (the writer curl-like clients use).
func multipartBody(t testing.TB, boundary string, parts []part) (body []byte, contentType string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
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
		pw.Write([]byte(p.content))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// formPrint is the form fingerprint of a body, or "" when it is not taken
// as a form.
func formPrint(contentType string, body []byte) string {
	r, _ := http.NewRequest("POST", "/", nil)
	r.Header.Set("Content-Type", contentType)
	var pre canon
	if !appendFormFingerprint(&pre, r, body) {
		return ""
	}
	return hexSum(pre.out)
}

func mpPrint(t testing.TB, boundary string, parts ...part) string {
	b, ct := multipartBody(t, boundary, parts)
	fp := formPrint(ct, b)
	if fp == "" {
		t.Fatalf("multipart body not fingerprinted as a form:\n%s", b)
	}
	return fp
}

func TestMultipartFingerprint(t *testing.T) {
	logo := part{"logo", "logo.png", "image/png", "\x89PNG..."}
	title := part{"title", "", "", "Blue"}
	tag1, tag2 := part{"tags", "", "", "a"}, part{"tags", "", "", "b"}
	base := mpPrint(t, "b1", title, logo, tag1, tag2)

	same := map[string]string{
		"another boundary":           mpPrint(t, "X-------------------------9051914041544843365972754266", title, logo, tag1, tag2),
		"other fields first":         mpPrint(t, "b2", tag1, logo, tag2, title),
		"content type spelling":      mpPrint(t, "b3", title, part{"logo", "logo.png", "Image/PNG", "\x89PNG..."}, tag1, tag2),
		"a part without a name":      mpPrint(t, "b4", title, logo, part{"", "", "", "ignored"}, tag1, tag2),
		"a directory in a filename":  mpPrint(t, "b5", title, part{"logo", "/tmp/logo.png", "image/png", "\x89PNG..."}, tag1, tag2),
		"content type param spacing": mpPrint(t, "b6", part{"title", "", "text/plain;charset=utf-8", "Blue"}, logo, tag1, tag2),
	}
	withCharset := mpPrint(t, "b7", part{"title", "", "text/plain; charset=UTF-8", "Blue"}, logo, tag1, tag2)
	if same["content type param spacing"] == base {
		t.Errorf("a charset parameter did not count")
	}
	delete(same, "content type param spacing")
	if mpPrint(t, "b8", part{"title", "", "text/plain ; Charset=UTF-8", "Blue"}, logo, tag1, tag2) != withCharset {
		t.Errorf("the spelling of a content type parameter counted")
	}
	for name, fp := range same {
		if fp != base {
			t.Errorf("%s: fingerprint changed", name)
		}
	}

	differ := map[string]string{
		"other file content":      mpPrint(t, "b1", title, part{"logo", "logo.png", "image/png", "\x89PNG!.."}, tag1, tag2),
		"other filename":          mpPrint(t, "b1", title, part{"logo", "logo2.png", "image/png", "\x89PNG..."}, tag1, tag2),
		"other content type":      mpPrint(t, "b1", title, part{"logo", "logo.png", "image/gif", "\x89PNG..."}, tag1, tag2),
		"no content type":         mpPrint(t, "b1", title, part{"logo", "logo.png", "", "\x89PNG..."}, tag1, tag2),
		"array items reordered":   mpPrint(t, "b1", title, logo, tag2, tag1),
		"a field missing":         mpPrint(t, "b1", title, logo, tag1),
		"a value made a file":     mpPrint(t, "b1", part{"title", "t.txt", "", "Blue"}, logo, tag1, tag2),
		"a field renamed":         mpPrint(t, "b1", part{"Title", "", "", "Blue"}, logo, tag1, tag2),
		"content moved to a name": mpPrint(t, "b1", part{"title", "", "", "Blue" + "logo"}, tag1, tag2),
	}
	for name, fp := range differ {
		if fp == base {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}

func TestURLEncodedFingerprint(t *testing.T) {
	const ct = "application/x-www-form-urlencoded"
	base := formPrint(ct, []byte("amount=10&token=abc&tag=a&tag=b"))
	if base == "" {
		t.Fatal("not fingerprinted as a form")
	}
	for _, body := range []string{
		"token=abc&amount=10&tag=a&tag=b",
		"tag=a&token=abc&tag=b&amount=10",
		"amount=10&&token=abc&tag=a&tag=b",
		"%61mount=1%30&token=abc&tag=a&tag=b",
	} {
		if fp := formPrint(ct, []byte(body)); fp != base {
			t.Errorf("%s: fingerprint changed", body)
		}
	}
	if formPrint("Application/X-WWW-Form-Urlencoded; charset=utf-8", []byte("token=abc&amount=10&tag=a&tag=b")) != base {
		t.Error("the spelling of the Content-Type counted")
	}
	for _, body := range []string{
		"amount=10&token=abc&tag=b&tag=a",
		"amount=11&token=abc&tag=a&tag=b",
		"amount=10&token=abc&tag=a",
		"amount=10&token=abc&tag=a&tag=b&tag=",
	} {
		if fp := formPrint(ct, []byte(body)); fp == base {
			t.Errorf("%s: same fingerprint", body)
		}
	}
	if formPrint(ct, []byte("a=b+c")) != formPrint(ct, []byte("a=b%20c")) {
		t.Error("+ and %20 are different spaces")
	}
}

func TestFormFingerprintFallsBackToRaw(t *testing.T) {
	for _, c := range []struct{ ct, body string }{
		{"application/json", `{"a":1}`},
		{"multipart/form-data", "--x\r\n\r\n--x--"},                                                     // no boundary
		{"multipart/form-data; boundary=x", "no parts here"},                                            // no first boundary
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=a\r\n\r\nabc"}, // truncated
		{"multipart/mixed; boundary=x", "--x\r\n\r\nhi\r\n--x--"},
		{"application/x-www-form-urlencoded", "a=%zz"},
		{"application/x-www-form-urlencoded", "a=1;b=2"},
		{"", "a=1"},
	} {
		if fp := formPrint(c.ct, []byte(c.body)); fp != "" {
			t.Errorf("%q %q: fingerprinted as a form", c.ct, c.body)
		}
	}
}

// FuzzFormFingerprint checks the form fingerprint's promises on fields made
// from the input: two encodings of the same fields (another boundary,
// another order of the names, the same order within a name) fingerprint the
// same, and a body made of the raw input never panics.
func FuzzFormFingerprint(f *testing.F) {
	f.Add([]byte("title\x00Blue\x00logo\x01logo.png\x00\x89PNG\x00tags\x00a\x00tags\x00b"), uint8(3))
	f.Add([]byte("a\x00\x00b\x00=&%\x00a\x00x"), uint8(1))
	f.Add([]byte("Text/Plain; charset=UTF-8"), uint8(0))
	f.Add([]byte("image/png"), uint8(0))
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--x--\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, rot uint8) {
		// Raw input as a body of each kind: any answer, no panic; a
		// urlencoded one read as url.ParseQuery (the server's decoder) does.
		formPrint("multipart/form-data; boundary=x", data)
		if ct := string(data); PartContentType(ct) != slowPartContentType(ct) {
			t.Fatalf("PartContentType(%q) = %q, parsing gives %q", ct, PartContentType(ct), slowPartContentType(ct))
		}
		got, gotOK := appendURLEncodedPrint(nil, data)
		want, wantOK := parseQueryPrint(data)
		if gotOK != wantOK || !bytes.Equal(got, want) {
			t.Fatalf("urlencoded %q: %v %q, url.ParseQuery gives %v %q", data, gotOK, got, wantOK, want)
		}

		// Fields: name \x00 value pairs; a name containing \x01 splits off a
		// filename (a file part).
		items := bytes.Split(data, []byte{0})
		var parts []part
		for i := 0; i+1 < len(items); i += 2 {
			name, filename, _ := strings.Cut(string(items[i]), "\x01")
			if name == "" || strings.ContainsAny(name, "\"\r\n\\") || strings.ContainsAny(filename, "\"\r\n\\") {
				continue
			}
			parts = append(parts, part{name: name, filename: filename, content: string(items[i+1])})
		}
		if len(parts) == 0 {
			return
		}
		// Another order: the distinct names rotated, each name's parts in order.
		var names []string
		seen := map[string]bool{}
		for _, p := range parts {
			if !seen[p.name] {
				seen[p.name] = true
				names = append(names, p.name)
			}
		}
		k := int(rot) % len(names)
		names = append(names[k:], names[:k]...)
		var moved []part
		for _, n := range names {
			for _, p := range parts {
				if p.name == n {
					moved = append(moved, p)
				}
			}
		}
		if a, b := mpPrint(t, "first-boundary", parts...), mpPrint(t, "other_boundary.0123456789", moved...); a != b {
			t.Fatalf("multipart: same fields, other boundary and order, other fingerprint:\n%q\n%q", parts, moved)
		}
		enc := func(ps []part) []byte {
			var b strings.Builder
			for i, p := range ps {
				if i > 0 {
					b.WriteByte('&')
				}
				b.WriteString(url.QueryEscape(p.name) + "=" + url.QueryEscape(p.content))
			}
			return []byte(b.String())
		}
		const ct = "application/x-www-form-urlencoded"
		a, b := formPrint(ct, enc(parts)), formPrint(ct, enc(moved))
		if a == "" || a != b {
			t.Fatalf("urlencoded: same fields in another order: %q vs %q", a, b)
		}
	})
}

// TestFormPointerFingerprint: a fingerprint JSON Pointer item compares the
// form field of that name, in urlencoded and multipart bodies alike.
func TestFormPointerFingerprint(t *testing.T) {
	c, err := compile(Policy{Operation: "donate", Fingerprint: []string{"/amount"}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Middleware{c: c}
	fp := func(ct string, body []byte) string {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", ct)
		st := getState()
		defer putState(st)
		sum := m.requestFingerprintSum(r, body, st)
		return string(sum.b[:sum.n])
	}
	const form = "application/x-www-form-urlencoded"
	base := fp(form, []byte("amount=10&note=a"))
	if fp(form, []byte("note=b&amount=10")) != base {
		t.Error("another field counted")
	}
	for _, body := range []string{"amount=11&note=a", "note=a", "amount=10&amount=10&note=a"} {
		if fp(form, []byte(body)) == base {
			t.Errorf("%s: same fingerprint as amount=10", body)
		}
	}
	mb := func(parts ...part) string {
		b, ct := multipartBody(t, "bnd", parts)
		return fp(ct, b)
	}
	mbase := mb(part{"amount", "", "", "10"}, part{"note", "", "", "a"})
	if mb(part{"note", "", "", "b"}, part{"amount", "", "", "10"}) != mbase {
		t.Error("multipart: another field counted")
	}
	if mb(part{"amount", "", "", "11"}) == mbase || mb(part{"note", "", "", "a"}) == mbase {
		t.Error("multipart: the amount did not count")
	}
}

// TestFormDerivedKey: key.derive reads a pointer as the form field of that
// name.
func TestFormDerivedKey(t *testing.T) {
	c, err := compile(Policy{Operation: "pay", Key: Key{Derive: []string{"/invoice"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Middleware{c: c}
	key := func(ct string, body []byte) (string, bool) {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", ct)
		st := getState()
		defer putState(st)
		k, ok, err := m.deriveKey(r, body, st)
		if err != nil {
			t.Fatal(err)
		}
		return k, ok
	}
	const form = "application/x-www-form-urlencoded"
	k1, ok1 := key(form, []byte("invoice=INV-1&amount=3"))
	k2, ok2 := key(form, []byte("amount=4&invoice=INV-1"))
	k3, _ := key(form, []byte("invoice=INV-2"))
	if !ok1 || !ok2 || k1 != k2 || k1 == k3 {
		t.Fatalf("urlencoded: %q %v, %q %v, %q", k1, ok1, k2, ok2, k3)
	}
	if _, ok := key(form, []byte("amount=4")); ok {
		t.Fatal("urlencoded: a key without the field")
	}
	b, ct := multipartBody(t, "bnd", []part{{"invoice", "", "", "INV-1"}})
	if k, ok := key(ct, b); !ok || k == "" {
		t.Fatalf("multipart: %q %v", k, ok)
	}
}

// BenchmarkFormFingerprint compares the form fingerprint with the raw-bytes
// one it replaces, on a small upload (two fields and an 8 KiB file) and a
// 12-field urlencoded form; JSON is the cost the form test adds to a JSON
// body (one header lookup and prefix test).
func BenchmarkFormFingerprint(b *testing.B) {
	file := strings.Repeat("0123456789abcdef", 512)
	mp, mpType := multipartBody(b, "b0undary", []part{{"title", "", "", "Harbour"}, {"tags", "", "", "sea"}, {"image", "h.png", "image/png", file}})
	var form strings.Builder
	for i := range 12 {
		if i > 0 {
			form.WriteByte('&')
		}
		fmt.Fprintf(&form, "field%02d=value+%d", i, i)
	}
	cases := []struct {
		name, ct string
		body     []byte
	}{
		{"multipart", mpType, mp},
		{"urlencoded", "application/x-www-form-urlencoded", []byte(form.String())},
		{"json", "application/json", []byte(`{"sku":"AB","quantity":1}`)},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", c.ct)
		for _, form := range []bool{true, false} {
			name := c.name + "/raw"
			if form {
				name = c.name + "/form"
			}
			b.Run(name, func(b *testing.B) {
				var pre canon
				b.SetBytes(int64(len(c.body)))
				b.ReportAllocs()
				defer reportFormCPU(b, processCPU())
				for b.Loop() {
					pre.out = pre.out[:0]
					if !form || !appendFormFingerprint(&pre, r, c.body) {
						appendBodyFingerprint(&pre, c.body)
					}
					_ = hexSum(pre.out)
				}
			})
		}
	}
}

func reportFormCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// parseQueryPrint is the urlencoded fingerprint pre-image built on
// url.ParseQuery, the reference appendURLEncodedPrint must agree with.
func parseQueryPrint(body []byte) ([]byte, bool) {
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, false
	}
	names := make([]string, 0, len(vs))
	for name := range vs {
		names = append(names, name)
	}
	slices.Sort(names)
	b := []byte{'f'}
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendString(b, name)
		b = binary.AppendUvarint(b, uint64(len(vs[name])))
		for _, v := range vs[name] {
			b = appendString(b, v)
		}
	}
	return b, true
}

func TestPartContentType(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		" image/png ":                     "image/png",
		"Image/PNG":                       "image/png",
		"text/plain;charset=utf-8":        "text/plain; charset=utf-8",
		"text/plain; Charset=UTF-8; a=b":  "text/plain; a=b; charset=UTF-8",
		"not a type":                      "not a type",
		"imagepng":                        "imagepng",
		"image/p@ng":                      "image/p@ng",
		"application/octet-stream":        "application/octet-stream",
		"multipart/mixed; boundary=\"x\"": "multipart/mixed; boundary=x",
	} {
		if got := PartContentType(in); got != want {
			t.Errorf("PartContentType(%q) = %q, want %q", in, got, want)
		}
	}
}

// slowPartContentType is PartContentType without its fast path.
func slowPartContentType(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return ""
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	if f := mime.FormatMediaType(mt, params); f != "" {
		return f
	}
	return ct
}
