// Package serverkit holds the helpers every generated server needs. It is real,
// tested Go code, but it is never imported: the emitter embeds this file and
// copies its declarations (all unexported) into each generated server_gen.go, so
// that generated packages depend only on the standard library and the idempotency
// runtime. Keep every identifier here unexported and prefixed with "kit" so it can
// never collide with generated names.
package serverkit

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// kitRequestError is a request that could not be decoded: a parameter or the
// body did not match the spec. Field names what was wrong ("query parameter
// \"limit\"", "request body"). The server answers it with 400 problem+json.
type kitRequestError struct {
	Field  string
	Status int
	Err    error
}

func (e *kitRequestError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *kitRequestError) Unwrap() error { return e.Err }

// kitBadRequest returns a 400 kitRequestError about field.
func kitBadRequest(field string, err error) error {
	return &kitRequestError{Field: field, Status: http.StatusBadRequest, Err: err}
}

// kitProblemNames name the problems a generated server writes itself; the
// problem "type" is the configured base URI, "#" and the name (as the
// idempotency runtime does for its own problems).
var kitProblemNames = map[int]string{
	http.StatusBadRequest:            "request-invalid",
	http.StatusNotFound:              "route-not-found",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusRequestEntityTooLarge: "request-too-large",
	http.StatusInternalServerError:   "internal-error",
	http.StatusNotImplemented:        "not-implemented",
}

// kitProblem writes a problem+json of status with detail.
func kitProblem(w http.ResponseWriter, r *http.Request, problemType string, status int, detail string) {
	p := idempotency.Problem{Status: status, Title: http.StatusText(status), Detail: detail, Instance: r.URL.Path}
	if problemType != "" {
		p.Type = problemType + "#" + kitProblemNames[status]
	}
	idempotency.WriteProblem(w, p)
}

// kitWriteRequestError writes err (a *kitRequestError) as problem+json.
func kitWriteRequestError(w http.ResponseWriter, r *http.Request, problemType string, err error) {
	var re *kitRequestError
	status := http.StatusBadRequest
	if errors.As(err, &re) && re.Status != 0 {
		status = re.Status
	}
	kitProblem(w, r, problemType, status, err.Error())
}

// kitWriteServerError is the default error handler: 500 problem+json. The error
// text is not sent (it may hold internal details).
func kitWriteServerError(w http.ResponseWriter, r *http.Request, problemType string) {
	kitProblem(w, r, problemType, http.StatusInternalServerError, "")
}

// kitSplit splits the raw values of a parameter into items: each raw value is
// one item when sep is empty (explode), otherwise it is split at sep.
func kitSplit(raws []string, sep string) []string {
	if sep == "" {
		return raws
	}
	var items []string
	for _, r := range raws {
		if r == "" {
			continue
		}
		items = append(items, strings.Split(r, sep)...)
	}
	return items
}

// kitBind decodes the raw values of one parameter (or form field) into dst, a
// pointer to the request field: a value, a pointer (allocated: an optional
// value) or a slice (every item decoded). sep is the array separator ("" when
// each raw value is one item).
func kitBind(dst any, raws []string, sep string) error {
	v := reflect.ValueOf(dst).Elem()
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := kitBindValue(nv.Elem(), raws, sep); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	return kitBindValue(v, raws, sep)
}

func kitBindValue(v reflect.Value, raws []string, sep string) error {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
		items := kitSplit(raws, sep)
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			if err := kitBindScalar(s.Index(i), it); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		v.Set(s)
		return nil
	}
	if len(raws) == 0 {
		return errors.New("missing value")
	}
	return kitBindScalar(v, raws[0])
}

var kitTextUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func kitBindScalar(v reflect.Value, s string) error {
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := kitBindScalar(nv.Elem(), s); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	if reflect.PointerTo(v.Type()).Implements(kitTextUnmarshaler) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("invalid value %q: %w", s, err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want a boolean, got %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("want an integer (%d bits), got %q", v.Type().Bits(), s)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("want an unsigned integer, got %q", s)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		v.SetFloat(f)
	case reflect.Slice: // []byte and json.RawMessage: the raw text.
		v.SetBytes([]byte(s))
	default: // structs, maps, unions: the value is JSON text.
		if err := json.Unmarshal([]byte(s), v.Addr().Interface()); err != nil {
			return fmt.Errorf("want JSON for %s, got %q", v.Type(), s)
		}
	}
	if vv, ok := v.Interface().(interface{ Valid() bool }); ok && !vv.Valid() {
		return fmt.Errorf("%q is not one of the allowed values", s)
	}
	return nil
}

// kitParam decodes one parameter. present reports whether the request carries
// it; a missing required parameter is a 400 naming it.
func kitParam(field string, dst any, raws []string, present, required bool, sep string) error {
	if !present {
		if required {
			return kitBadRequest(field, errors.New("is required"))
		}
		return nil
	}
	if err := kitBind(dst, raws, sep); err != nil {
		return kitBadRequest(field, err)
	}
	return nil
}

// kitQuery returns the values of a query parameter.
func kitQuery(q url.Values, name string) ([]string, bool) {
	vs, ok := q[name]
	return vs, ok
}

// kitHeader returns the values of a request header.
func kitHeader(r *http.Request, name string) ([]string, bool) {
	vs := r.Header.Values(name)
	return vs, len(vs) > 0
}

// kitCookie returns the value of a cookie.
func kitCookie(r *http.Request, name string) ([]string, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return nil, false
	}
	return []string{c.Value}, true
}

// kitPathParam locates one path parameter of an operation: the ServeMux
// wildcard that holds it, and the group of a regular expression over the
// wildcard's value when the parameter shares its segment with text.
type kitPathParam struct {
	name     string
	wildcard string
	re       *regexp.Regexp
	group    int
}

// kitNamePath makes every path parameter readable under its name in the spec
// (r.PathValue("billId")) before next runs: ServeMux wildcards are named by
// position, but the idempotency runtime (scope path:NAME, derive path:NAME)
// and the generated decoders read parameters by their spec names.
func kitNamePath(next http.Handler, params ...kitPathParam) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range params {
			v := r.PathValue(p.wildcard)
			if p.re != nil {
				m := p.re.FindStringSubmatch(v)
				if m == nil {
					continue
				}
				v = m[p.group]
			}
			r.SetPathValue(p.name, v)
		}
		next.ServeHTTP(w, r)
	})
}

// kitPath returns a path parameter by its spec name (see kitNamePath).
func kitPath(r *http.Request, name string) ([]string, bool) {
	v := r.PathValue(name)
	return []string{v}, v != ""
}

// kitRoute is one operation behind a ServeMux pattern shared with others: it
// serves a request when every (wildcard, expression) pair matches.
type kitRoute struct {
	wildcards []string
	res       []*regexp.Regexp
	handler   http.Handler
}

// kitDispatch serves a request with the first route that matches, or 404.
func kitDispatch(problemType string, routes ...kitRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	next:
		for _, rt := range routes {
			for i, wc := range rt.wildcards {
				if !rt.res[i].MatchString(r.PathValue(wc)) {
					continue next
				}
			}
			rt.handler.ServeHTTP(w, r)
			return
		}
		kitWriteRequestError(w, r, problemType, &kitRequestError{Field: "path", Status: http.StatusNotFound, Err: errors.New("no operation matches")})
	})
}

// kitHandle registers h for pattern, turning ServeMux's panic on conflicting
// patterns (possible with some specs) into an error.
func kitHandle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// kitMediaType returns the index of the declared media type that the request's
// Content-Type matches (exactly, or through a "type/*" or "*/*" range), or -1.
// A request without Content-Type matches the first declared type.
func kitMediaType(r *http.Request, declared []string) int {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return 0
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

// kitUnsupported is the 415 for a Content-Type the operation does not declare.
func kitUnsupported(r *http.Request) error {
	return &kitRequestError{Field: "request body", Status: http.StatusUnsupportedMediaType,
		Err: fmt.Errorf("unsupported Content-Type %q", r.Header.Get("Content-Type"))}
}

// kitReadBody reads the whole request body, at most limit bytes (a larger body
// is a 413); present is false when it is empty. A missing required body is a
// 400.
func kitReadBody(r *http.Request, required bool, limit int64) (body []byte, present bool, err error) {
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, false, kitBadRequest("request body", err)
		}
		if int64(len(body)) > limit {
			return nil, false, &kitRequestError{Field: "request body", Status: http.StatusRequestEntityTooLarge,
				Err: fmt.Errorf("is larger than %d bytes", limit)}
		}
	}
	if len(body) == 0 {
		if required {
			return nil, false, kitBadRequest("request body", errors.New("is required"))
		}
		return nil, false, nil
	}
	return body, true, nil
}

// kitJSON decodes a JSON body into dst, naming the offending field on failure.
func kitJSON(body []byte, dst any) error {
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return kitBadRequest("request body", fmt.Errorf("field %q: want %s, got JSON %s", te.Field, te.Type, te.Value))
		case errors.As(err, &te):
			return kitBadRequest("request body", fmt.Errorf("want %s, got JSON %s", te.Type, te.Value))
		case errors.As(err, &se):
			return kitBadRequest("request body", fmt.Errorf("invalid JSON at offset %d: %w", se.Offset, err))
		}
		return kitBadRequest("request body", err)
	}
	return nil
}

// kitRequire checks that a JSON object body has every required property (a
// missing one would otherwise decode as its zero value). Only the top level is
// checked.
func kitRequire(body []byte, names ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil // not an object: the decoder reports the type
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return kitBadRequest("request body", fmt.Errorf("field %q is required", n))
		}
	}
	return nil
}

// kitCheck reports the first value in a decoded body whose type has a Valid
// method (the generated enums) that returns false, naming it by JSON Pointer.
func kitCheck(v any) error {
	if err := kitWalk(reflect.ValueOf(v), ""); err != nil {
		return kitBadRequest("request body", err)
	}
	return nil
}

func kitWalk(v reflect.Value, ptr string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return kitWalk(v.Elem(), ptr)
	case reflect.Invalid:
		return nil
	}
	if v.CanInterface() {
		if vv, ok := v.Interface().(interface{ Valid() bool }); ok && !vv.Valid() {
			val := fmt.Sprint(v.Interface())
			if v.Kind() == reflect.String {
				val = strconv.Quote(v.String())
			}
			return fmt.Errorf("field %q: %s is not one of the allowed values", ptr, val)
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			// Fields without a json tag (the variants of a union) keep the
			// pointer of the union itself.
			p := ptr
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				p = ptr + "/" + kitEscape(name)
			}
			if err := kitWalk(v.Field(i), p); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			if err := kitWalk(v.Index(i), ptr+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		// Sorted, so that the same body always names the same field.
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if err := kitWalk(v.MapIndex(k), ptr+"/"+kitEscape(fmt.Sprint(k))); err != nil {
				return err
			}
		}
	}
	return nil
}

// kitEscape escapes a JSON Pointer token.
func kitEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// kitForm parses a form-urlencoded body.
func kitForm(body []byte) (url.Values, error) {
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, kitBadRequest("request body", fmt.Errorf("invalid form: %w", err))
	}
	return vs, nil
}

// kitFormField decodes one field of a form body.
func kitFormField(form url.Values, name string, dst any, required bool) error {
	vs, ok := form[name]
	return kitParam(fmt.Sprintf("form field %q", name), dst, vs, ok, required, "")
}

// kitMultipart parses a multipart/form-data body (files over 32 MiB in total
// spill to temporary files, as net/http does).
func kitMultipart(r *http.Request, body []byte) (*multipart.Form, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, kitBadRequest("request body", errors.New("multipart body without a boundary"))
	}
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(32 << 20)
	if err != nil {
		return nil, kitBadRequest("request body", fmt.Errorf("invalid multipart body: %w", err))
	}
	return form, nil
}

// kitFormat formats a header value: "" and false for a nil pointer or slice.
func kitFormat(v any) (string, bool) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "", false
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		if rv.IsNil() {
			return "", false
		}
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i], _ = kitFormat(rv.Index(i).Interface())
		}
		return strings.Join(parts, ","), true
	}
	if m, ok := rv.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err != nil {
			return "", false
		}
		return string(b), true
	}
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), true
	case reflect.Slice:
		return string(rv.Bytes()), true
	case reflect.Struct, reflect.Map, reflect.Interface:
		b, err := json.Marshal(rv.Interface())
		if err != nil {
			return "", false
		}
		return string(b), true
	}
	return fmt.Sprint(rv.Interface()), true
}

// kitSetHeader sets a response header from a typed value (skipped when unset).
func kitSetHeader(w http.ResponseWriter, name string, v any) {
	if s, ok := kitFormat(v); ok {
		w.Header().Set(name, s)
	}
}

// kitWrite writes status, Content-Type (when not empty) and body.
func kitWrite(w http.ResponseWriter, status int, contentType string, body []byte) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	if len(body) > 0 {
		w.Write(body)
	}
}

// kitWriteStream writes status, Content-Type and copies body (nil: no body).
func kitWriteStream(w http.ResponseWriter, status int, contentType string, body io.Reader) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	if body != nil {
		io.Copy(w, body)
	}
}

// kitStatus returns status, or def when the handler left it zero.
func kitStatus(status, def int) int {
	if status == 0 {
		return def
	}
	return status
}
