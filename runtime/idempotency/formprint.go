package idempotency

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxFormFields is url.ParseQuery's default limit on the fields of a query
// (or urlencoded body): a body with more is not a form to it.
const maxFormFields = 10000

// maxFingerprintParts bounds the parts of a multipart body fingerprinted by
// field; a body with more is fingerprinted as raw bytes (the generated
// server refuses it anyway, as serverkit.MaxFormParts).
const maxFingerprintParts = 1000

// Form body fingerprints. A form body is fingerprinted by what a server
// decodes from it, not by its bytes, so that a retry that encodes the same
// fields differently replays:
//
//   - multipart/form-data: each named part's name, filename, Content-Type
//     (parsed and re-formatted: case, spacing and parameter order do not
//     matter; a part without one stays without one) and the SHA-256 of its
//     content. The boundary, the preamble and epilogue, the other part
//     headers and a quoted-printable transfer encoding do not count; parts
//     without a name are ignored, as servers ignore them.
//   - application/x-www-form-urlencoded: each field's unescaped name and
//     value ("a+b" and "a%20b" are the same value).
//
// Fields are ordered by name, and the values (parts) of one name keep the
// order they were sent in: form fields are the properties of an object, a set,
// while repeated values of one field are the items of an array. A body that
// does not parse is fingerprinted as raw bytes.

// formKind classifies a request's Content-Type: 'M' for multipart/form-data
// (with its boundary), 'f' for urlencoded, 0 for anything else.
func formKind(r *http.Request) (kind byte, boundary string) {
	vals := r.Header["Content-Type"]
	if len(vals) != 1 {
		return 0, ""
	}
	ct := vals[0]
	// A cheap test first: most bodies are JSON.
	if len(ct) < 19 || (!strings.EqualFold(ct[:19], "multipart/form-data") && !strings.EqualFold(ct[:19], "application/x-www-f")) {
		return 0, ""
	}
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return 0, ""
	case mt == "multipart/form-data" && params["boundary"] != "":
		return 'M', params["boundary"]
	case mt == "application/x-www-form-urlencoded":
		return 'f', ""
	}
	return 0, ""
}

// appendFormFingerprint appends the fingerprint of r's form body (see above)
// to pre.out and reports true; it appends nothing and reports false when the
// body is not a form or does not parse.
func appendFormFingerprint(pre *canon, r *http.Request, body []byte) bool {
	kind, boundary := formKind(r)
	var out []byte
	var ok bool
	switch kind {
	case 'M':
		out, ok = appendMultipartPrint(pre.out, body, boundary)
	case 'f':
		out, ok = appendURLEncodedPrint(pre.out, body)
	}
	if !ok {
		return false
	}
	pre.out = out
	return true
}

// formField is one part of a multipart body as fingerprinted.
type formField struct {
	name, filename, contentType string
	value                       []byte // the SHA-256 of the content
}

func byName(a, b formField) int { return cmp.Compare(a.name, b.name) }

// appendMultipartPrint appends the fingerprint of a multipart/form-data body.
func appendMultipartPrint(b, body []byte, boundary string) ([]byte, bool) {
	fields, ok := multipartFields(body, boundary, "")
	if !ok {
		return b, false
	}
	slices.SortStableFunc(fields, byName)
	return appendParts(b, fields), true
}

// appendParts appends multipart fields: 'M', their count, then each one.
func appendParts(b []byte, fields []formField) []byte {
	b = append(b, 'M')
	b = binary.AppendUvarint(b, uint64(len(fields)))
	for _, f := range fields {
		b = appendString(b, f.name)
		b = appendString(b, f.filename)
		b = appendString(b, f.contentType)
		b = append(b, f.value...)
	}
	return b
}

// multipartFields parses a multipart/form-data body into its named parts,
// in order (only those called only, unless only is ""); false when it does
// not parse.
func multipartFields(body []byte, boundary, only string) ([]formField, bool) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	h := sha256.New()
	var buf [4096]byte // io.Copy would allocate 32 KiB per part
	var fields []formField
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, true
		}
		if err != nil || n == maxFingerprintParts {
			return nil, false
		}
		name := p.FormName()
		if name == "" || (only != "" && name != only) {
			continue
		}
		h.Reset()
		if _, err := io.CopyBuffer(h, p, buf[:]); err != nil {
			return nil, false
		}
		fields = append(fields, formField{
			name:        name,
			filename:    p.FileName(),
			contentType: PartContentType(p.Header.Get("Content-Type")),
			value:       h.Sum(nil),
		})
	}
}

// appendFormPointer appends the value of a fingerprint JSON Pointer item
// (/amount) in r's form body, as appendFormField does, or 'a' when the field
// is absent. It reports false, appending nothing, when the body is not a
// form or does not parse, so the pointer is looked up in JSON.
func appendFormPointer(pre *canon, r *http.Request, body []byte, ptr []string) bool {
	out, present, ok := appendFormField(pre.out, r, body, ptr)
	if !ok {
		return false
	}
	if !present {
		out = append(out, 'a')
	}
	pre.out = out
	return true
}

// appendFormField appends the field that a JSON Pointer (/amount) names in
// r's form body: its values in order ('f', the count, each value), or its
// parts as the body fingerprint has them. present is false when the body has
// no such field (a pointer below the top level never has one); ok is false,
// and nothing is appended, when the body is not a form or does not parse.
func appendFormField(b []byte, r *http.Request, body []byte, ptr []string) (out []byte, present, ok bool) {
	kind, boundary := formKind(r)
	if kind == 0 {
		return b, false, false
	}
	if len(ptr) != 1 || ptr[0] == "" {
		return b, false, true
	}
	if kind == 'M' {
		fields, ok := multipartFields(body, boundary, ptr[0])
		if !ok || len(fields) == 0 {
			return b, false, ok
		}
		return appendParts(b, fields), true, true
	}
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return b, false, false
	}
	vals, present := vs[ptr[0]]
	if !present {
		return b, false, true
	}
	b = append(b, 'f')
	b = binary.AppendUvarint(b, uint64(len(vals)))
	for _, v := range vals {
		b = appendString(b, v)
	}
	return b, true, true
}

// appendURLEncodedPrint appends the fingerprint of a urlencoded body.
func appendURLEncodedPrint(b, body []byte) ([]byte, bool) {
	// As url.ParseQuery reads the body (the server decodes it with that),
	// without its map: the fields in a slice, sorted by name, stably.
	type field struct{ name, value string }
	q := string(body)
	n := strings.Count(q, "&") + 1
	if n > maxFormFields {
		return b, false // url.ParseQuery refuses it too
	}
	fields := make([]field, 0, n)
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if strings.Contains(kv, ";") {
			return b, false // url.ParseQuery refuses it
		}
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := queryUnescape(k)
		if err != nil {
			return b, false
		}
		if v, err = queryUnescape(v); err != nil {
			return b, false
		}
		fields = append(fields, field{k, v})
	}
	slices.SortStableFunc(fields, func(x, y field) int { return cmp.Compare(x.name, y.name) })
	names := 0
	for i := range fields {
		if i == 0 || fields[i].name != fields[i-1].name {
			names++
		}
	}
	b = append(b, 'f')
	b = binary.AppendUvarint(b, uint64(names))
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		b = appendString(b, fields[i].name)
		b = binary.AppendUvarint(b, uint64(j-i))
		for _, f := range fields[i:j] {
			b = appendString(b, f.value)
		}
		i = j
	}
	return b, true
}

// queryUnescape is url.QueryUnescape without its copy when there is nothing
// to unescape.
func queryUnescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// PartContentType is the Content-Type of a multipart part as it is
// fingerprinted, and as a generated server hands it to the handler: parsed
// and formatted again (lower-case type and parameter names, parameters
// sorted), or trimmed when it does not parse; "" stays "".
func PartContentType(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" || canonicalMediaType(ct) {
		return ct
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

// multipartField returns the first value of the part called name in r's
// multipart/form-data body (at most maxKeyPart bytes of it are read) and how
// many parts have that name; multipart is false when the body is not
// multipart/form-data. It reads key.field from an upload.
func multipartField(r *http.Request, body []byte, name string) (value string, n int, isMultipart bool, err error) {
	kind, boundary := formKind(r)
	if kind != 'M' {
		return "", 0, false, nil
	}
	if name == "" { // a pointer below the top level: no part has it
		return "", 0, true, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, perr := mr.NextPart()
		if perr == io.EOF {
			return value, n, true, nil
		}
		if perr != nil {
			return "", 0, true, fmt.Errorf("%w: the multipart body does not parse", ErrInvalidKey)
		}
		if p.FormName() != name {
			continue
		}
		n++
		if n == 1 {
			b, rerr := io.ReadAll(io.LimitReader(p, maxKeyPart+1))
			if rerr != nil || len(b) > maxKeyPart {
				return "", n, true, fmt.Errorf("%w: part %s is not a key", ErrInvalidKey, name)
			}
			value = string(b)
		}
	}
}

// maxKeyPart bounds the key part read; checkKey refuses anything longer
// than a key's maxLength anyway.
const maxKeyPart = 4096

// canonicalMediaType reports a Content-Type that parsing and formatting
// would give back unchanged ("image/png"): no parameters, no upper case, no
// spaces. Most parts send one.
func canonicalMediaType(ct string) bool {
	for i := 0; i < len(ct); i++ {
		switch c := ct[i]; {
		case c == ';' || c == ' ' || c == '\t' || ('A' <= c && c <= 'Z'):
			return false
		}
	}
	return true
}
