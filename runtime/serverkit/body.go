package serverkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// MediaType returns the index of the declared media type that the request's
// Content-Type matches (exactly, or through a "type/*" or "*/*" range), or -1.
// A request without Content-Type matches the first declared type.
func MediaType(r *http.Request, declared []string) int {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return 0
	}
	for i, d := range declared { // the common case, without parsing
		if strings.EqualFold(d, ct) {
			return i
		}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return -1
	}
	for i, d := range declared {
		if strings.EqualFold(d, mt) {
			return i
		}
	}
	for i, d := range declared {
		if d == "*/*" {
			return i
		}
		if prefix, ok := strings.CutSuffix(d, "/*"); ok && strings.HasPrefix(mt, prefix+"/") {
			return i
		}
	}
	return -1
}

// Unsupported is the 415 for a Content-Type the operation does not declare.
func Unsupported(r *http.Request) error {
	return &RequestError{Field: "request body", Status: http.StatusUnsupportedMediaType,
		Err: fmt.Errorf("unsupported Content-Type %q", r.Header.Get("Content-Type"))}
}

// ReadBody reads the whole request body, at most limit bytes (a larger body
// is a 413); present is false when it is empty. A missing required body is a
// 400.
func ReadBody(r *http.Request, required bool, limit int64) (body []byte, present bool, err error) {
	if r.Body != nil {
		body, err = readAll(io.LimitReader(r.Body, limit+1), r.ContentLength, limit)
		if err != nil {
			return nil, false, BadRequest("request body", err)
		}
		if int64(len(body)) > limit {
			return nil, false, &RequestError{Field: "request body", Status: http.StatusRequestEntityTooLarge,
				Err: fmt.Errorf("is larger than %d bytes", limit)}
		}
	}
	if len(body) == 0 {
		if required {
			return nil, false, BadRequest("request body", errors.New("is required"))
		}
		return nil, false, nil
	}
	return body, true, nil
}

// readAll is io.ReadAll with the buffer sized from the declared length
// (when it is positive, within limit and at most 64 KiB: a client that
// declares more does not get it allocated before it sends it): one
// allocation instead of io.ReadAll's growing ones.
func readAll(r io.Reader, declared, limit int64) ([]byte, error) {
	size := int64(512)
	if declared > 0 && declared <= min(limit, 64<<10) {
		size = declared + 1 // +1: the read that sees EOF needs no room
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append grow it
		}
	}
}

// DecodeJSON decodes a JSON body into dst, naming the offending field on failure.
func DecodeJSON(body []byte, dst any) error {
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return BadRequest("request body", fmt.Errorf("field %q: want %s, got JSON %s", te.Field, te.Type, te.Value))
		case errors.As(err, &te):
			return BadRequest("request body", fmt.Errorf("want %s, got JSON %s", te.Type, te.Value))
		case errors.As(err, &se):
			return BadRequest("request body", fmt.Errorf("invalid JSON at offset %d: %w", se.Offset, err))
		}
		return BadRequest("request body", err)
	}
	return nil
}

// ParseForm parses a form-urlencoded body.
func ParseForm(body []byte) (url.Values, error) {
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, BadRequest("request body", fmt.Errorf("invalid form: %w", err))
	}
	return vs, nil
}

// FormField decodes one field of a form body.
func FormField(form url.Values, name string, dst any, required bool) error {
	vs, ok := form[name]
	return Param(fmt.Sprintf("form field %q", name), dst, vs, ok, required, "")
}

// ParseMultipart parses a multipart/form-data body (files over 32 MiB in total
// spill to temporary files, as net/http does).
func ParseMultipart(r *http.Request, body []byte) (*multipart.Form, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, BadRequest("request body", errors.New("multipart body without a boundary"))
	}
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(32 << 20)
	if err != nil {
		return nil, BadRequest("request body", fmt.Errorf("invalid multipart body: %w", err))
	}
	return form, nil
}
