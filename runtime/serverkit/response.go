package serverkit

import (
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

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

// WriteJSON writes v as JSON with status and contentType. When v does not
// encode it writes nothing and returns the error (the server answers it as a
// handler's error).
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	Write(w, status, contentType, b)
	return nil
}
