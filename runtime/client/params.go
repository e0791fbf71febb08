package client

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
)

// The helpers below serialize the parameters of generated clients (and read
// typed response headers) the way idemgen's generated servers parse them: a
// scalar by its text form (encoding.TextMarshaler, e.g. time.Time as RFC 3339,
// else strconv), an array item by item, an object as JSON text. A nil pointer or
// nil slice is an absent parameter.

// ParamValues returns the text items of a parameter value: one item for a scalar,
// one per element for a slice ([]byte excepted: it is one item). ok is false for
// an absent value (a nil pointer or slice).
func ParamValues(v any) (items []string, ok bool, err error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, false, nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil, false, nil
	}
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		if rv.IsNil() {
			return nil, false, nil
		}
		items = make([]string, rv.Len())
		for i := range items {
			s, err := scalarText(rv.Index(i))
			if err != nil {
				return nil, false, err
			}
			items[i] = s
		}
		return items, true, nil
	}
	s, err := scalarText(rv)
	if err != nil {
		return nil, false, err
	}
	return []string{s}, true, nil
}

func scalarText(rv reflect.Value) (string, error) {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return "", nil
		}
		rv = rv.Elem()
	}
	if m, ok := rv.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		return string(b), err
	}
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'g', -1, rv.Type().Bits()), nil
	case reflect.Slice: // []byte, json.RawMessage: the raw text
		return string(rv.Bytes()), nil
	}
	b, err := json.Marshal(rv.Interface())
	return string(b), err
}

// PathParam formats a path parameter (style simple): its items joined by commas,
// percent-encoded as one path segment.
func PathParam(name string, v any) (string, error) {
	items, ok, err := ParamValues(v)
	if err != nil {
		return "", fmt.Errorf("client: path parameter %q: %w", name, err)
	}
	if !ok {
		return "", fmt.Errorf("client: path parameter %q: no value", name)
	}
	return url.PathEscape(strings.Join(items, ",")), nil
}

// AddQuery adds a query parameter to q. sep "" is style form with explode: one
// name=item pair per item. Otherwise the items are joined by sep in one pair:
// "," for form without explode, " " for spaceDelimited, "|" for pipeDelimited.
// An absent value adds nothing.
func AddQuery(q url.Values, name string, v any, sep string) error {
	items, ok, err := ParamValues(v)
	if err != nil {
		return fmt.Errorf("client: query parameter %q: %w", name, err)
	}
	if !ok {
		return nil
	}
	if sep == "" {
		for _, it := range items {
			q.Add(name, it)
		}
		return nil
	}
	q.Add(name, strings.Join(items, sep))
	return nil
}

// AddCookie adds a cookie parameter to req (items joined by commas). An absent
// value adds nothing.
func AddCookie(req *http.Request, name string, v any) error {
	items, ok, err := ParamValues(v)
	if err != nil {
		return fmt.Errorf("client: cookie %q: %w", name, err)
	}
	if ok {
		req.AddCookie(&http.Cookie{Name: name, Value: strings.Join(items, ",")})
	}
	return nil
}

// ParamString returns the text of a parameter value ("" when absent), e.g. a
// key the caller put in a declared Idempotency-Key parameter.
func ParamString(v any) string {
	items, ok, err := ParamValues(v)
	if err != nil || !ok {
		return ""
	}
	return strings.Join(items, ",")
}

// SetHeader sets a header parameter (style simple: items joined by commas). An
// absent value sets nothing.
func SetHeader(h http.Header, name string, v any) error {
	items, ok, err := ParamValues(v)
	if err != nil {
		return fmt.Errorf("client: header %q: %w", name, err)
	}
	if ok {
		h.Set(name, strings.Join(items, ","))
	}
	return nil
}

// ReadHeader decodes response header name into dst, a pointer to a value, to a
// pointer (allocated when the header is present) or to a slice (comma-separated
// items). An absent header leaves dst unchanged and is not an error.
func ReadHeader(h http.Header, name string, dst any) error {
	raws := h.Values(name)
	if len(raws) == 0 {
		return nil
	}
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("client: header %q: destination is not a pointer", name)
	}
	if err := bindValue(v.Elem(), raws); err != nil {
		return fmt.Errorf("client: header %q: %w", name, err)
	}
	return nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func bindValue(v reflect.Value, raws []string) error {
	switch {
	case v.Kind() == reflect.Pointer && !reflect.PointerTo(v.Type()).Implements(textUnmarshaler):
		nv := reflect.New(v.Type().Elem())
		if err := bindValue(nv.Elem(), raws); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
		var items []string
		for _, r := range raws {
			for _, it := range strings.Split(r, ",") {
				items = append(items, strings.TrimSpace(it))
			}
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			if err := bindScalar(s.Index(i), it); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		v.Set(s)
		return nil
	}
	return bindScalar(v, strings.TrimSpace(raws[0]))
}

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
		return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	var err error
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		var b bool
		b, err = strconv.ParseBool(s)
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		n, err = strconv.ParseInt(s, 10, v.Type().Bits())
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var n uint64
		n, err = strconv.ParseUint(s, 10, v.Type().Bits())
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		var f float64
		f, err = strconv.ParseFloat(s, v.Type().Bits())
		v.SetFloat(f)
	case reflect.Slice:
		v.SetBytes([]byte(s))
	default:
		err = json.Unmarshal([]byte(s), v.Addr().Interface())
	}
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return fmt.Errorf("invalid value %q for %s: %w", s, v.Type(), err)
	}
	return nil
}
