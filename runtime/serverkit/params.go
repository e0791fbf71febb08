package serverkit

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

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
	if p, ok := dst.(*string); ok && len(raws) > 0 {
		*p = raws[0] // the common case (a path segment), without reflection
		return nil
	}
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

// Path returns a path parameter by its spec name (see NamePath).
func Path(r *http.Request, name string) ([]string, bool) {
	v := r.PathValue(name)
	return []string{v}, v != ""
}

// Location is where a parameter travels.
type Location string

// The locations of parameters (OpenAPI's "in").
const (
	InQuery  Location = "query"
	InHeader Location = "header"
	InPath   Location = "path"
	InCookie Location = "cookie"
)

// Parameter describes one parameter of an operation, as Params.Decode reads it.
type Parameter struct {
	// In and Name locate the parameter; a path parameter is read by its spec
	// name (see NamePath).
	In   Location
	Name string
	// Required makes a missing parameter a 400.
	Required bool
	// Explode reads each raw value as one item of an array (style form,
	// explode true); otherwise a raw value is split at Delimiter ("," when
	// empty; " " for spaceDelimited, "|" for pipeDelimited).
	Explode   bool
	Delimiter string
	// IdempotencyKey marks the header that carries the operation's
	// idempotency key: it is decoded as the middleware decodes it (see
	// KeyHeader), at most KeyMaxLength long (0: the default).
	IdempotencyKey bool
	KeyMaxLength   int
}

// Params reads the parameters of one request (see ParamsOf).
type Params struct {
	r     *http.Request
	query url.Values
}

// ParamsOf returns the reader of r's parameters; it parses the query once,
// on the first query parameter.
func ParamsOf(r *http.Request) Params { return Params{r: r} }

// Decode decodes parameter p into dst, a pointer to the request field, as
// Param does: a missing required parameter, or a value that does not decode,
// is a 400 naming the parameter ("query parameter \"limit\"").
func (ps *Params) Decode(dst any, p Parameter) error {
	var raws []string
	var present bool
	switch p.In {
	case InQuery:
		if ps.query == nil {
			ps.query = ps.r.URL.Query()
		}
		raws, present = ps.query[p.Name]
	case InHeader:
		if p.IdempotencyKey {
			var err error
			if raws, present, err = KeyHeader(ps.r, p.Name, p.KeyMaxLength); err != nil {
				return err
			}
		} else {
			raws, present = Header(ps.r, p.Name)
		}
	case InCookie:
		raws, present = Cookie(ps.r, p.Name)
	case InPath:
		raws, present = Path(ps.r, p.Name)
	default:
		return fmt.Errorf("parameter %q: unknown location %q", p.Name, p.In)
	}
	if !present {
		if p.Required {
			return BadRequest(p.field(), errors.New("is required"))
		}
		return nil
	}
	sep := p.Delimiter
	switch {
	case p.Explode:
		sep = ""
	case sep == "":
		sep = ","
	}
	if err := bind(dst, raws, sep); err != nil {
		return BadRequest(p.field(), err)
	}
	return nil
}

// DecodeString is Decode for a parameter whose request field is a string.
// Decode's dst escapes (it may take reflection), which costs an allocation
// per request; a path parameter, the common case, is read here without it.
func (ps *Params) DecodeString(dst *string, p Parameter) error {
	if p.In != InPath {
		v := *dst
		err := ps.Decode(&v, p)
		*dst = v
		return err
	}
	v := ps.r.PathValue(p.Name)
	if v == "" {
		if p.Required {
			return BadRequest(p.field(), errors.New("is required"))
		}
		return nil
	}
	*dst = v
	return nil
}

// field names the parameter in errors: `query parameter "limit"`.
func (p Parameter) field() string { return string(p.In) + " parameter " + strconv.Quote(p.Name) }
