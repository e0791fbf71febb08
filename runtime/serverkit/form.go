package serverkit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/upload"
	"github.com/idemgen/idemgen/runtime/validate"
)

// MaxFormParts is the most parts a multipart body may have (as net/http's
// ReadForm allows by default); more is a 400.
const MaxFormParts = 1000

// formPart is one field of a form body: a urlencoded value, or a multipart
// part with its filename and Content-Type.
type formPart struct {
	data        []byte
	filename    string
	contentType string // "" when the part sends none
}

// FormBody is a decoded application/x-www-form-urlencoded or
// multipart/form-data body, read field by field by a generated decoder into
// the body's Go type. A field that is missing or does not decode is listed
// under its JSON Pointer ("/quantity", "/tags/2") and Err returns every such
// violation as one 400.
type FormBody struct {
	parts map[string][]formPart
	errs  validate.Errors
}

// ReadForm parses a urlencoded body (already read and bounded by ReadBody).
func ReadForm(body []byte) (*FormBody, error) {
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, BadRequest("request body", fmt.Errorf("invalid form: %w", err))
	}
	f := &FormBody{parts: make(map[string][]formPart, len(vs))}
	for name, vals := range vs {
		ps := make([]formPart, len(vals))
		for i, v := range vals {
			ps[i].data = []byte(v)
		}
		f.parts[name] = ps
	}
	return f, nil
}

// ReadMultipart parses a multipart/form-data body (already read and bounded
// by ReadBody, so every part is held in memory) with the boundary of r's
// Content-Type. Parts without a name are ignored, as net/http does.
func ReadMultipart(r *http.Request, body []byte) (*FormBody, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, BadRequest("request body", errors.New("multipart body without a boundary"))
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	f := &FormBody{parts: make(map[string][]formPart)}
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, BadRequest("request body", fmt.Errorf("invalid multipart body: %w", err))
		}
		if n == MaxFormParts {
			return nil, BadRequest("request body", fmt.Errorf("multipart body has more than %d parts", MaxFormParts))
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, BadRequest("request body", fmt.Errorf("invalid multipart body: part %d: %w", n+1, err))
		}
		name := p.FormName()
		if name == "" {
			continue
		}
		f.parts[name] = append(f.parts[name], formPart{data: data, filename: p.FileName(),
			// As the idempotency fingerprint sees it: a retry whose part
			// types differ only in spelling replays, so the handler must not
			// see the spelling either.
			contentType: idempotency.PartContentType(p.Header.Get("Content-Type"))})
	}
}

// Field decodes the parts (or urlencoded values) called name into dst, a
// pointer to a field of the body's Go type: a value, a pointer (allocated: an
// optional value) or a slice, one item per repeated part in order. Scalars are
// parsed by kind, a type implementing encoding.TextUnmarshaler by its
// UnmarshalText, structs and maps as JSON (a part's default content type for
// an object). contentTypes, when given, are the media types (or ranges such
// as "image/*") the OpenAPI encoding object allows for the part; a part that
// declares another is refused.
func (f *FormBody) Field(name string, dst any, required bool, contentTypes ...string) {
	ps, ok := f.take(name, required, contentTypes)
	if !ok {
		return
	}
	v := reflect.ValueOf(dst).Elem()
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if f.fill(name, nv.Elem(), ps) {
			v.Set(nv)
		}
		return
	}
	f.fill(name, v, ps)
}

// Delimited decodes the urlencoded field called name, an array the spec's
// encoding object sends in one field (explode: false), into dst, a pointer to
// a slice: each value is split at sep ("," for style form, " " for
// spaceDelimited, "|" for pipeDelimited) and every item decoded as Field
// decodes one. A field sent more than once adds the items of each.
func (f *FormBody) Delimited(name string, dst any, required bool, sep string) {
	ps, ok := f.take(name, required, nil)
	if !ok {
		return
	}
	var items []formPart
	for _, p := range ps {
		if len(p.data) == 0 {
			continue
		}
		for _, it := range bytes.Split(p.data, []byte(sep)) {
			items = append(items, formPart{data: it})
		}
	}
	f.fill(name, reflect.ValueOf(dst).Elem(), items)
}

// fill decodes ps into v; false when some part did not decode.
func (f *FormBody) fill(name string, v reflect.Value, ps []formPart) bool {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
		s := reflect.MakeSlice(v.Type(), len(ps), len(ps))
		ok := true
		f.errs.Enter(name)
		for i, p := range ps {
			if err := bindScalar(s.Index(i), string(p.data)); err != nil {
				f.errs.AddIndex(i, err.Error())
				ok = false
			}
		}
		f.errs.Leave()
		if ok {
			v.Set(s)
		}
		return ok
	}
	if len(ps) > 1 {
		f.errs.Add(name, fmt.Sprintf("is sent %d times, want one value", len(ps)))
		return false
	}
	if err := bindScalar(v, string(ps[0].data)); err != nil {
		f.errs.Add(name, err.Error())
		return false
	}
	return true
}

// File decodes the parts called name into dst: a *upload.File, a
// **upload.File (an optional file) or a *[]upload.File (one per part, in
// order). contentTypes are as for Field. A part without a filename is taken
// as a file too (some clients send one for a binary property).
func (f *FormBody) File(name string, dst any, required bool, contentTypes ...string) {
	ps, ok := f.take(name, required, contentTypes)
	if !ok {
		return
	}
	file := func(p formPart) upload.File {
		ct := p.contentType
		if ct == "" {
			ct = upload.DefaultContentType
		}
		return upload.File{Filename: p.filename, ContentType: ct, Data: p.data}
	}
	switch d := dst.(type) {
	case *[]upload.File:
		fs := make([]upload.File, len(ps))
		for i, p := range ps {
			fs[i] = file(p)
		}
		*d = fs
		return
	case *upload.File, **upload.File:
	default:
		panic(fmt.Sprintf("serverkit: FormBody.File: unsupported destination %T", dst))
	}
	if len(ps) > 1 {
		f.errs.Add(name, fmt.Sprintf("is sent %d times, want one file", len(ps)))
		return
	}
	fl := file(ps[0])
	switch d := dst.(type) {
	case *upload.File:
		*d = fl
	case **upload.File:
		*d = &fl
	}
}

// take returns the parts called name, after checking their presence and
// content types; false when there is nothing to decode.
func (f *FormBody) take(name string, required bool, contentTypes []string) ([]formPart, bool) {
	ps := f.parts[name]
	if len(ps) == 0 {
		if required {
			f.errs.Add(name, "is required")
		}
		return nil, false
	}
	if len(contentTypes) == 0 {
		return ps, true
	}
	ok := true
	for i, p := range ps {
		if p.contentType == "" || mediaMatches(p.contentType, contentTypes) {
			continue
		}
		detail := fmt.Sprintf("Content-Type %q is not %s", p.contentType, strings.Join(contentTypes, " or "))
		if len(ps) > 1 {
			f.errs.Enter(name)
			f.errs.AddIndex(i, detail)
			f.errs.Leave()
		} else {
			f.errs.Add(name, detail)
		}
		ok = false
	}
	return ps, ok
}

// mediaMatches reports whether the media type ct is one of allowed (exactly,
// or through a "type/*" or "*/*" range).
func mediaMatches(ct string, allowed []string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		if am, _, err := mime.ParseMediaType(a); err == nil {
			a = am
		}
		switch {
		case a == mt, a == "*/*":
			return true
		case strings.HasSuffix(a, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(a, "*")):
			return true
		}
	}
	return false
}

// Err returns the violations found by Field and File (a *validate.Error,
// answered 400 problem+json with an errors list), or nil.
func (f *FormBody) Err() error { return f.errs.Err() }
