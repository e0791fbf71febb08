// Package nullable holds Nullable, the Go type of an optional property whose
// value may be null: it tells the three states of a JSON member apart —
// absent, null and a value — that *T (nil for both absent and null) cannot.
// A JSON merge patch (RFC 7396) needs them: {"note": null} clears note,
// {} leaves it alone.
//
// Generated models use it for the optional nullable properties (and every
// optional property of a merge-patch body); see docs/generate.md, "Optional
// and nullable values". It depends on the standard library only.
package nullable

import (
	"bytes"
	"encoding/json"
)

// Nullable is an optional, nullable T. The zero value is absent; a struct
// field tagged `json:",omitzero"` is then left out of the JSON.
type Nullable[T any] struct {
	value T
	state state
}

type state uint8

const (
	absent state = iota
	null
	set
)

// Value returns a Nullable holding v.
func Value[T any](v T) Nullable[T] { return Nullable[T]{value: v, state: set} }

// Null returns an explicit null.
func Null[T any]() Nullable[T] { return Nullable[T]{state: null} }

// FromPtr returns a Nullable holding *p, or null when p is nil.
func FromPtr[T any](p *T) Nullable[T] {
	if p == nil {
		return Null[T]()
	}
	return Value(*p)
}

// Get returns the value and true when n holds one (not absent, not null).
func (n Nullable[T]) Get() (T, bool) { return n.value, n.state == set }

// IsSet reports whether the member was present: null or a value.
func (n Nullable[T]) IsSet() bool { return n.state != absent }

// IsNull reports an explicit null.
func (n Nullable[T]) IsNull() bool { return n.state == null }

// IsZero reports an absent member, for `omitzero`.
func (n Nullable[T]) IsZero() bool { return n.state == absent }

// Ptr returns a pointer to a copy of the value, nil when absent or null.
func (n Nullable[T]) Ptr() *T {
	if n.state != set {
		return nil
	}
	v := n.value
	return &v
}

// Or returns the value, or def when absent or null.
func (n Nullable[T]) Or(def T) T {
	if n.state != set {
		return def
	}
	return n.value
}

// MarshalJSON writes the value, or null (an absent member is written as null
// too: omitzero is what leaves it out).
func (n Nullable[T]) MarshalJSON() ([]byte, error) {
	if n.state != set {
		return []byte("null"), nil
	}
	return json.Marshal(n.value)
}

// UnmarshalJSON reads null or a value; encoding/json calls it only for a
// member that is present, so a member left out stays absent.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		var zero T
		n.value, n.state = zero, null
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.value, n.state = v, set
	return nil
}

// String describes n for logs and test failures: absent, null or the value.
func (n Nullable[T]) String() string {
	switch n.state {
	case absent:
		return "absent"
	case null:
		return "null"
	}
	b, err := json.Marshal(n.value)
	if err != nil {
		return "?"
	}
	return string(b)
}
