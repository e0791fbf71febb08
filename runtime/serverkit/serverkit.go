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

// RequestError is a request that could not be decoded: a parameter or the
// body did not match the spec. Field names what was wrong ("query parameter
// \"limit\"", "request body"). The server answers it with 400 problem+json.
type RequestError struct {
	Field  string
	Status int
	Err    error
}

// Error returns the field and the error: `query parameter "limit": want an integer (64 bits), got "x"`.
func (e *RequestError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *RequestError) Unwrap() error { return e.Err }

// BadRequest returns a 400 RequestError about field.
func BadRequest(field string, err error) error {
	return &RequestError{Field: field, Status: http.StatusBadRequest, Err: err}
}

// problemNames name the problems a generated server writes itself; the
// problem "type" is the configured base URI, "#" and the name (as the
// idempotency runtime does for its own problems).
var problemNames = map[int]string{
	http.StatusBadRequest:            "request-invalid",
	http.StatusNotFound:              "route-not-found",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusRequestEntityTooLarge: "request-too-large",
	http.StatusInternalServerError:   "internal-error",
	http.StatusNotImplemented:        "not-implemented",
}

// writeProblem writes a problem of status with detail: problem+json, or a
// small HTML page for a browser (idempotency.WriteProblemFor).
func writeProblem(w http.ResponseWriter, r *http.Request, problemType string, status int, detail string) {
	p := idempotency.Problem{Status: status, Title: http.StatusText(status), Detail: detail, Instance: r.URL.Path}
	if problemType != "" {
		p.Type = problemType + "#" + problemNames[status]
	}
	idempotency.WriteProblemFor(w, r, p)
}

// WriteRequestError writes err (a *RequestError) as problem+json.
func WriteRequestError(w http.ResponseWriter, r *http.Request, problemType string, err error) {
	var re *RequestError
	status := http.StatusBadRequest
	if errors.As(err, &re) && re.Status != 0 {
		status = re.Status
	}
	writeProblem(w, r, problemType, status, err.Error())
}

// WriteServerError is the default error handler: 500 problem+json. The error
// text is not sent (it may hold internal details).
func WriteServerError(w http.ResponseWriter, r *http.Request, problemType string) {
	writeProblem(w, r, problemType, http.StatusInternalServerError, "")
}

// split splits the raw values of a parameter into items: each raw value is
// one item when sep is empty (explode), otherwise it is split at sep.
func split(raws []string, sep string) []string {
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

// bind decodes the raw values of one parameter (or form field) into dst, a
// pointer to the request field: a value, a pointer (allocated: an optional
// value) or a slice (every item decoded). sep is the array separator ("" when
// each raw value is one item).
func bind(dst any, raws []string, sep string) error {
	v := reflect.ValueOf(dst).Elem()
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := bindValue(nv.Elem(), raws, sep); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	return bindValue(v, raws, sep)
}

func bindValue(v reflect.Value, raws []string, sep string) error {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
		items := split(raws, sep)
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			if err := bindScalar(s.Index(i), it); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		v.Set(s)
		return nil
	}
	if len(raws) == 0 {
		return errors.New("missing value")
	}
	return bindScalar(v, raws[0])
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func bindScalar(v reflect.Value, s string) error {
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := bindScalar(nv.Elem(), s); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
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

// Param decodes the raw values of one parameter (from Query, Header, Cookie or
// Path) into dst, a pointer to the request field: a value, a pointer (allocated:
// an optional value) or a slice (every item decoded). sep is the array separator,
// "" when each raw value is one item. Scalars are parsed by kind, a type
// implementing encoding.TextUnmarshaler by its UnmarshalText, structs and maps
// as JSON; a value whose Valid method returns false is rejected. present
// reports whether the request carries the parameter; a missing required
// parameter is a 400 naming field, as is a value that does not decode.
func Param(field string, dst any, raws []string, present, required bool, sep string) error {
	if !present {
		if required {
			return BadRequest(field, errors.New("is required"))
		}
		return nil
	}
	if err := bind(dst, raws, sep); err != nil {
		return BadRequest(field, err)
	}
	return nil
}

// Query returns the values of a query parameter.
func Query(q url.Values, name string) ([]string, bool) {
	vs, ok := q[name]
	return vs, ok
}

// Header returns the values of a request header.
func Header(r *http.Request, name string) ([]string, bool) {
	vs := r.Header.Values(name)
	return vs, len(vs) > 0
}

// KeyHeader returns the idempotency key that the request carries in header
// name (the header of the operation's policy), decoded as the idempotency
// middleware decodes it, with idempotency.ParseKeyHeader: the bare form (evt_1)
// and the structured-field string form ("evt_1") both give evt_1, so the
// handler sees the key the request was deduplicated by. maxLen is the policy's
// key.maxLength, zero meaning idempotency.DefaultMaxLength. present reports
// whether the request has the header; a value that is not a key (malformed,
// too long, or sent in more than one header field) is a 400 naming the header
// parameter.
func KeyHeader(r *http.Request, name string, maxLen int) (vals []string, present bool, err error) {
	raws := r.Header.Values(name)
	if len(raws) == 0 {
		return nil, false, nil
	}
	field := fmt.Sprintf("header parameter %q", name)
	if len(raws) > 1 {
		return nil, true, BadRequest(field, fmt.Errorf("%w: %d header fields, want one", idempotency.ErrInvalidKey, len(raws)))
	}
	if maxLen <= 0 {
		maxLen = idempotency.DefaultMaxLength
	}
	key, err := idempotency.ParseKeyHeader(raws[0], maxLen)
	if err != nil {
		return nil, true, BadRequest(field, err)
	}
	return []string{key}, true, nil
}

// Cookie returns the value of a cookie.
func Cookie(r *http.Request, name string) ([]string, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return nil, false
	}
	return []string{c.Value}, true
}

// PathParam locates one path parameter of an operation: the ServeMux
// wildcard that holds it, and the group of a regular expression over the
// wildcard's value when the parameter shares its segment with text.
type PathParam struct {
	// Name is the parameter's name in the spec.
	Name string
	// Wildcard is the name of the ServeMux wildcard that holds it.
	Wildcard string
	// Regexp, when not nil, splits the wildcard's value; the parameter is
	// submatch Group of it. A value it does not match leaves the parameter unset.
	Regexp *regexp.Regexp
	Group  int
}

// NamePath makes every path parameter readable under its name in the spec
// (r.PathValue("billId")) before next runs: ServeMux wildcards are named by
// position, but the idempotency runtime (scope path:NAME, derive path:NAME)
// and the generated decoders read parameters by their spec names.
func NamePath(next http.Handler, params ...PathParam) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range params {
			v := r.PathValue(p.Wildcard)
			if p.Regexp != nil {
				m := p.Regexp.FindStringSubmatch(v)
				if m == nil {
					continue
				}
				v = m[p.Group]
			}
			r.SetPathValue(p.Name, v)
		}
		next.ServeHTTP(w, r)
	})
}

// Path returns a path parameter by its spec name (see NamePath).
func Path(r *http.Request, name string) ([]string, bool) {
	v := r.PathValue(name)
	return []string{v}, v != ""
}

// Route is one operation behind a ServeMux pattern shared with others: it
// serves a request when every (wildcard, expression) pair matches.
type Route struct {
	// Wildcards and Regexps are pairs: Regexps[i] must match the value of
	// the ServeMux wildcard Wildcards[i].
	Wildcards []string
	Regexps   []*regexp.Regexp
	// Handler serves the requests the route matches.
	Handler http.Handler
}

// Dispatch serves a request with the first route that matches, or 404.
func Dispatch(problemType string, routes ...Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	next:
		for _, rt := range routes {
			for i, wc := range rt.Wildcards {
				if !rt.Regexps[i].MatchString(r.PathValue(wc)) {
					continue next
				}
			}
			rt.Handler.ServeHTTP(w, r)
			return
		}
		WriteRequestError(w, r, problemType, &RequestError{Field: "path", Status: http.StatusNotFound, Err: errors.New("no operation matches")})
	})
}

// Handle registers h for pattern, turning ServeMux's panic on conflicting
// patterns (possible with some specs) into an error.
func Handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// MediaType returns the index of the declared media type that the request's
// Content-Type matches (exactly, or through a "type/*" or "*/*" range), or -1.
// A request without Content-Type matches the first declared type.
func MediaType(r *http.Request, declared []string) int {
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
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
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

// RequireFields checks that a JSON object body has every required property (a
// missing one would otherwise decode as its zero value). Only the top level is
// checked.
func RequireFields(body []byte, names ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil // not an object: the decoder reports the type
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return BadRequest("request body", fmt.Errorf("field %q is required", n))
		}
	}
	return nil
}

// CheckValid reports the first value in a decoded body whose type has a Valid
// method (the generated enums) that returns false, naming it by JSON Pointer.
func CheckValid(v any) error {
	if err := walk(reflect.ValueOf(v), ""); err != nil {
		return BadRequest("request body", err)
	}
	return nil
}

func walk(v reflect.Value, ptr string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walk(v.Elem(), ptr)
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
				p = ptr + "/" + escapePointer(name)
			}
			if err := walk(v.Field(i), p); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			if err := walk(v.Index(i), ptr+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		// Sorted, so that the same body always names the same field.
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if err := walk(v.MapIndex(k), ptr+"/"+escapePointer(fmt.Sprint(k))); err != nil {
				return err
			}
		}
	}
	return nil
}

// escapePointer escapes a JSON Pointer token.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
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

// format formats a header value: "" and false for a nil pointer or slice.
func format(v any) (string, bool) {
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
			parts[i], _ = format(rv.Index(i).Interface())
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

// SetHeader sets a response header from a typed value (skipped when unset).
func SetHeader(w http.ResponseWriter, name string, v any) {
	if s, ok := format(v); ok {
		w.Header().Set(name, s)
	}
}

// Write writes status, Content-Type (when not empty) and body. A text/*
// type without a charset gets "; charset=utf-8": the generated types hold
// text as Go strings, and without it a browser guesses the charset of an
// HTML page that declares none ("Zoë" shows as "ZoÃ«").
func Write(w http.ResponseWriter, status int, contentType string, body []byte) {
	if contentType != "" {
		w.Header().Set("Content-Type", textCharset(contentType))
	}
	w.WriteHeader(status)
	if len(body) > 0 {
		w.Write(body)
	}
}

// textCharset returns contentType with "; charset=utf-8" added when it is a
// text/* type without a charset parameter.
func textCharset(contentType string) string {
	if len(contentType) > 5 && strings.EqualFold(contentType[:5], "text/") && !strings.Contains(strings.ToLower(contentType), "charset=") {
		return contentType + "; charset=utf-8"
	}
	return contentType
}

// WriteStream writes status, Content-Type and copies body (nil: no body).
func WriteStream(w http.ResponseWriter, status int, contentType string, body io.Reader) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	if body != nil {
		io.Copy(w, body)
	}
}

// Status returns status, or def when the handler left it zero.
func Status(status, def int) int {
	if status == 0 {
		return def
	}
	return status
}
