package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"sort"
	"strings"
)

// FillJSONKey places an idempotency key in a JSON request body at pointer (a
// JSON Pointer such as "/idempotency_key"; a missing object on the way is
// created) and returns the body to send and the key it carries:
//   - key != "" (the caller's key): the body carries key;
//   - key == "" and the body already has a non-empty string there: that key;
//   - otherwise: a fresh NewKey().
//
// The body is re-encoded only when it changes. Do sends the returned bytes on
// every attempt, so the key never changes between retries.
func FillJSONKey(body []byte, pointer, key string) ([]byte, string, error) {
	return FillJSONKeyWith(body, pointer, key, NewKey)
}

// FillJSONKeyWith is FillJSONKey with the maker of a fresh key (NewULID for
// key.format: ulid; NewKey when nil).
func FillJSONKeyWith(body []byte, pointer, key string, newKey func() string) ([]byte, string, error) {
	tokens, err := pointerTokens(pointer)
	if err != nil {
		return nil, "", err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers keep their exact text
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, "", fmt.Errorf("client: key field %q: body is not JSON: %w", pointer, err)
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("client: key field %q: body is not a JSON object", pointer)
	}
	for _, t := range tokens[:len(tokens)-1] {
		next, ok := obj[t].(map[string]any)
		if !ok {
			if obj[t] != nil {
				return nil, "", fmt.Errorf("client: key field %q: %q is not an object", pointer, t)
			}
			next = map[string]any{}
			obj[t] = next
		}
		obj = next
	}
	last := tokens[len(tokens)-1]
	if key == "" {
		if s, ok := obj[last].(string); ok && s != "" {
			return body, s, nil
		}
		key = fresh(newKey)
	} else if s, ok := obj[last].(string); ok && s == key {
		return body, key, nil
	}
	obj[last] = key
	out, err := json.Marshal(root)
	if err != nil {
		return nil, "", fmt.Errorf("client: key field %q: %w", pointer, err)
	}
	return out, key, nil
}

func fresh(newKey func() string) string {
	if newKey == nil {
		return NewKey()
	}
	return newKey()
}

// pointerTokens splits a JSON Pointer (RFC 6901) into its unescaped tokens.
func pointerTokens(pointer string) ([]string, error) {
	if !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("client: key field %q: want a JSON Pointer like \"/idempotency_key\"", pointer)
	}
	parts := strings.Split(pointer[1:], "/")
	for i, p := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
	}
	return parts, nil
}

// FillFormKey places an idempotency key in form field name, following the rules
// of FillJSONKey, and returns the key the form carries.
func FillFormKey(form url.Values, name, key string) string {
	return FillFormKeyWith(form, name, key, NewKey)
}

// FillFormKeyWith is FillFormKey with the maker of a fresh key (NewKey when nil).
func FillFormKeyWith(form url.Values, name, key string, newKey func() string) string {
	if key == "" {
		if v := form.Get(name); v != "" {
			return v
		}
		key = fresh(newKey)
	}
	form.Set(name, key)
	return key
}

// MultipartBody encodes form as a multipart/form-data body: its values, then its
// files (read through FileHeader.Open), in sorted field order. It returns the
// body and its Content-Type (with a random boundary); the bytes are built once
// and Do replays them unchanged on every attempt.
func MultipartBody(form *multipart.Form) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, name := range sortedKeys(form.Value) {
		for _, v := range form.Value[name] {
			if err := w.WriteField(name, v); err != nil {
				return nil, "", err
			}
		}
	}
	for _, name := range sortedKeys(form.File) {
		for _, fh := range form.File[name] {
			f, err := fh.Open()
			if err != nil {
				return nil, "", fmt.Errorf("client: multipart file %q: %w", name, err)
			}
			part, err := w.CreateFormFile(name, fh.Filename)
			if err == nil {
				_, err = io.Copy(part, f)
			}
			f.Close()
			if err != nil {
				return nil, "", fmt.Errorf("client: multipart file %q: %w", name, err)
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MatchMediaType returns the index of the declared media type (which may be a
// range such as "image/*" or "*/*") that contentType matches, preferring an exact
// match; -1 when none does.
func MatchMediaType(contentType string, declared []string) int {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	best := -1
	for i, d := range declared {
		d = strings.ToLower(d)
		switch {
		case d == mt:
			return i
		case best >= 0:
		case d == "*/*" || (strings.HasSuffix(d, "/*") && strings.HasPrefix(mt, d[:len(d)-1])):
			best = i
		}
	}
	return best
}
