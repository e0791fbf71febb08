package serverkit

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/upload"
	"github.com/idemgen/idemgen/runtime/validate"
)

func multipartRequest(t *testing.T, write func(w *multipart.Writer)) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	write(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("POST", "/", nil)
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r, buf.Bytes()
}

// pointers lists the pointers of a *validate.Error.
func pointers(t *testing.T, err error) string {
	t.Helper()
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T), want a *validate.Error", err, err)
	}
	var ps []string
	for _, v := range ve.Violations {
		ps = append(ps, v.Pointer)
	}
	return strings.Join(ps, " ")
}

func TestFormBodyFiles(t *testing.T) {
	r, body := multipartRequest(t, func(w *multipart.Writer) {
		fw, _ := w.CreateFormFile("doc", "a.txt")
		fw.Write([]byte("one"))
		fw, _ = w.CreateFormFile("docs", "b.txt")
		fw.Write([]byte("two"))
		fw, _ = w.CreateFormFile("docs", "c.txt")
		fw.Write([]byte("three"))
		w.WriteField("twice", "1")
		w.WriteField("twice", "2")
	})
	f, err := ReadMultipart(r, body)
	if err != nil {
		t.Fatal(err)
	}
	var one upload.File
	var opt *upload.File
	var many []upload.File
	var twice int
	var missing *upload.File
	f.File("doc", &one, true)
	f.File("doc", &opt, false)
	f.File("docs", &many, false)
	f.File("absent", &missing, false)
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if one.Filename != "a.txt" || string(one.Data) != "one" || one.ContentType != "application/octet-stream" ||
		opt == nil || opt.Filename != "a.txt" || len(many) != 2 || string(many[1].Data) != "three" || missing != nil {
		t.Fatalf("decoded %+v %+v %+v %+v", one, opt, many, missing)
	}
	f.Field("twice", &twice, true)
	f.File("docs", &one, true)
	f.File("nothing", &one, true)
	if got := pointers(t, f.Err()); got != "/twice /docs /nothing" {
		t.Fatalf("violations at %q", got)
	}
}

func TestReadMultipartLimits(t *testing.T) {
	r, body := multipartRequest(t, func(w *multipart.Writer) {
		for i := 0; i <= MaxFormParts; i++ {
			w.WriteField(fmt.Sprint("f", i), "v")
		}
	})
	if _, err := ReadMultipart(r, body); err == nil || !strings.Contains(err.Error(), "more than 1000 parts") {
		t.Fatalf("%d parts: %v", MaxFormParts+1, err)
	}
	r.Header.Set("Content-Type", "multipart/form-data")
	if _, err := ReadMultipart(r, body); err == nil || !strings.Contains(err.Error(), "boundary") {
		t.Fatalf("no boundary: %v", err)
	}
	r, _ = multipartRequest(t, func(w *multipart.Writer) { w.WriteField("a", "b") })
	if _, err := ReadMultipart(r, []byte("--nope\r\n")); err == nil {
		t.Fatal("a body without its boundary parsed")
	}
}

func TestMediaMatches(t *testing.T) {
	for _, c := range []struct {
		ct      string
		allowed []string
		want    bool
	}{
		{"image/png", []string{"image/png"}, true},
		{"Image/PNG; q=1", []string{"image/png"}, true},
		{"image/gif", []string{"image/png", "image/jpeg"}, false},
		{"image/gif", []string{"image/*"}, true},
		{"imagex/gif", []string{"image/*"}, false},
		{"text/plain", []string{"*/*"}, true},
		{"application/json; charset=utf-8", []string{" application/json "}, true},
		{"not a type", []string{"*/*"}, false},
	} {
		if got := mediaMatches(c.ct, c.allowed); got != c.want {
			t.Errorf("mediaMatches(%q, %q) = %v", c.ct, c.allowed, got)
		}
	}
}

func TestReadFormFields(t *testing.T) {
	f, err := ReadForm([]byte("n=4&n=x&when=2024-01-02T03:04:05Z&flag=maybe"))
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	var flag bool
	var when struct{ Y int }
	f.Field("n", &ns, false)
	f.Field("flag", &flag, false)
	f.Field("when", &when, false) // a struct is JSON: not a timestamp
	if got := pointers(t, f.Err()); got != "/n/1 /flag /when" {
		t.Fatalf("violations at %q", got)
	}
	if _, err := ReadForm([]byte("a=%zz")); err == nil {
		t.Fatal("a bad escape parsed")
	}
}
