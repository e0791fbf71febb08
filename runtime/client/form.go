package client

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	"github.com/idemgen/idemgen/runtime/upload"
)

// Multipart encodes a typed multipart/form-data request body, field by field
// in the order a generated client adds them. The body is encoded once per
// call, so a retry resends the same bytes with the same boundary (a server's
// form fingerprint would not need it, but a proxy's raw one might).
type Multipart struct {
	buf bytes.Buffer
	w   *multipart.Writer
	err error
}

// NewMultipart returns an empty body with a random boundary.
func NewMultipart() *Multipart {
	m := &Multipart{}
	m.w = multipart.NewWriter(&m.buf)
	return m
}

// partHeader is the header of a part called name.
func partHeader(name, filename, contentType string) textproto.MIMEHeader {
	h := make(textproto.MIMEHeader)
	cd := `form-data; name="` + quoteEscaper.Replace(name) + `"`
	if filename != "" {
		cd += `; filename="` + quoteEscaper.Replace(filename) + `"`
	}
	h.Set("Content-Disposition", cd)
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return h
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// Field adds v (a scalar, a pointer to one, a slice: one part per item, or a
// struct or map: JSON) as parts called name; an absent value (nil pointer or
// slice) adds none. contentType, when not empty, is sent as each part's
// Content-Type (the spec's encoding for the property).
func (m *Multipart) Field(name string, v any, contentType string) {
	if m.err != nil {
		return
	}
	items, ok, err := ParamValues(v)
	if err != nil {
		m.err = fmt.Errorf("client: multipart field %q: %w", name, err)
		return
	}
	if !ok {
		return
	}
	for _, it := range items {
		m.part(name, "", contentType, []byte(it))
	}
}

// File adds f (an upload.File, a *upload.File: nil adds nothing, or a
// []upload.File: one part each) as parts called name. A file without a
// ContentType is sent as contentType, or application/octet-stream when that
// is empty too.
func (m *Multipart) File(name string, f any, contentType string) {
	if m.err != nil {
		return
	}
	add := func(f upload.File) {
		ct := f.ContentType
		if ct == "" {
			ct = contentType
		}
		if ct == "" {
			ct = upload.DefaultContentType
		}
		m.part(name, f.Filename, ct, f.Data)
	}
	switch f := f.(type) {
	case upload.File:
		add(f)
	case *upload.File:
		if f != nil {
			add(*f)
		}
	case []upload.File:
		for _, x := range f {
			add(x)
		}
	default:
		m.err = fmt.Errorf("client: multipart file %q: unsupported type %T", name, f)
	}
}

func (m *Multipart) part(name, filename, contentType string, data []byte) {
	w, err := m.w.CreatePart(partHeader(name, filename, contentType))
	if err == nil {
		_, err = w.Write(data)
	}
	if err != nil {
		m.err = fmt.Errorf("client: multipart field %q: %w", name, err)
	}
}

// Finish closes the body and returns it with its Content-Type (which names
// the boundary), or the first error a field met.
func (m *Multipart) Finish() ([]byte, string, error) {
	if m.err != nil {
		return nil, "", m.err
	}
	if err := m.w.Close(); err != nil {
		return nil, "", err
	}
	return m.buf.Bytes(), m.w.FormDataContentType(), nil
}

// Key adds the part called name that carries the idempotency key (the
// operation's key.field) and returns the key: key when not empty (the key the
// caller gave with WithIdempotencyKey), else the value of v (the body's field)
// when set, else a fresh key from newKey (NewKey when nil).
func (m *Multipart) Key(name string, v any, key string, newKey func() string) string {
	if key == "" {
		key = ParamString(v)
	}
	if key == "" {
		key = fresh(newKey)
	}
	m.part(name, "", "", []byte(key))
	return key
}
