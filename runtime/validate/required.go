package validate

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Shape is what Required checks in a JSON value: the members an object must
// have, and the shapes of the members, items and map values below it.
// Generated code declares one per schema that requires members (at any
// depth), linked into a graph that may be cyclic for recursive schemas.
type Shape struct {
	// Required are the member names an object must have.
	Required []string
	// Props are the declared members below which something is required,
	// and, when Values is set, every other declared member (nil: nothing to
	// check), so that only undeclared members take Values.
	Props map[string]*Member
	// Values is the shape of every member not in Props (a map's values, an
	// open object's undeclared members); Items the shape of array items.
	Values, Items *Shape
	// Tag and Variants make the shape a tagged union's: the value of the
	// member Tag picks the shape of the object in Variants (the discriminator
	// mapping); the other fields are unused.
	Tag      string
	Variants map[string]*Shape
	// Closed refuses every member not in Props (additionalProperties: false;
	// Props then lists every declared member).
	Closed bool
	// MinProps and MaxProps bound an object's number of members (a struct's:
	// the decoded value cannot tell); MaxProps is nil when unbounded.
	MinProps int
	MaxProps *int
}

// Bound returns &n, for Shape.MaxProps in generated literals.
func Bound(n int) *int { return &n }

// Member is a declared member of an object Shape.
type Member struct {
	Name  string
	Shape *Shape
	// ReadOnly refuses the member in a request (a required readOnly
	// property, whose Go value cannot tell whether it was sent).
	ReadOnly bool
}

// Required records in v a violation for every member that shape requires and
// body (valid JSON, already decoded into the request) lacks, at any depth
// (encoding/json decodes an absent member and a zero one alike), every member
// a closed shape does not declare, and every object with too few or too many
// members. It scans body once without allocating; a value of another type
// than shape expects is skipped (the decoder reported it).
func Required(body []byte, shape *Shape, v *Errors) {
	s := scanner{b: body}
	s.space()
	s.value(shape, v)
}

// scanner walks valid JSON text.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value, checking it against shape (nil: skip it).
func (s *scanner) value(shape *Shape, v *Errors) {
	if s.i >= len(s.b) {
		return
	}
	switch s.b[s.i] {
	case '{':
		if shape != nil && shape.Tag != "" {
			shape = s.variant(shape)
		}
		s.object(shape, v)
	case '[':
		s.array(shape, v)
	case '"':
		s.skipString()
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

// name scans a member name (short: a byte loop) and returns its raw
// contents and whether it has escapes; ok is false when the text ends inside
// it.
func (s *scanner) name() (raw []byte, escaped, ok bool) {
	s.i++ // opening quote
	start := min(s.i, len(s.b))
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i += 2
			continue
		case '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, true
		}
		s.i++
	}
	s.i = len(s.b)
	return s.b[start:], escaped, false
}

// skipString steps over a string value: the next quote (found with the
// vectorised IndexByte) ends it unless an odd number of backslashes
// precedes it.
func (s *scanner) skipString() {
	s.i++ // opening quote
	start := min(s.i, len(s.b))
	for at := start; ; {
		j := bytes.IndexByte(s.b[at:], '"')
		if j < 0 {
			s.i = len(s.b)
			return
		}
		end := at + j
		k := end
		for k > start && s.b[k-1] == '\\' {
			k--
		}
		if (end-k)%2 == 0 {
			s.i = end + 1
			return
		}
		at = end + 1
	}
}

// member reads a member's name (decoded when it has escapes) and steps to
// its value; ok is false when the text ends inside the name.
func (s *scanner) member() (name []byte, ok bool) {
	raw, escaped, ok := s.name()
	if !ok {
		return nil, false
	}
	if escaped { // rare: compare the decoded name
		var u string
		if json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &u) == nil {
			raw = []byte(u)
		}
	}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ':' {
		s.i++
	}
	s.space()
	return raw, true
}

// variant returns the shape of the variant of the tagged union u that the
// object at s.i names by its discriminator member (nil when it names none: the
// decoder refused it), leaving s.i where it was.
func (s *scanner) variant(u *Shape) *Shape {
	save := s.i
	defer func() { s.i = save }()
	var skipped Errors // values are skipped without a shape: nothing is added
	s.i++              // {
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] == '}' {
			return nil
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		name, ok := s.member()
		if !ok {
			return nil
		}
		if string(name) == u.Tag && s.i < len(s.b) && s.b[s.i] == '"' {
			start := s.i
			s.skipString()
			var tag string
			if json.Unmarshal(s.b[start:s.i], &tag) != nil {
				return nil
			}
			return u.Variants[tag]
		}
		at := s.i
		s.value(nil, &skipped)
		if s.i == at { // not JSON: step over it
			s.i++
		}
	}
}

func (s *scanner) object(shape *Shape, v *Errors) {
	s.i++ // {
	// found has bit n set when Required[n] was seen; more than 64 required
	// members spill into seen.
	var found uint64
	var seen []bool
	if shape != nil && len(shape.Required) > 64 {
		seen = make([]bool, len(shape.Required))
	}
	members := 0
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] == '}' {
			s.i++
			break
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		members++
		raw, ok := s.member()
		if !ok {
			return // the text ends inside a name: nothing more to check
		}
		if shape == nil {
			s.value(nil, v)
			continue
		}
		for n, r := range shape.Required {
			if string(raw) == r {
				if seen != nil {
					seen[n] = true
				} else {
					found |= 1 << n
				}
			}
		}
		// string(raw) in a map index does not allocate.
		if m, ok := shape.Props[string(raw)]; ok {
			if m == nil {
				s.value(nil, v)
				continue
			}
			if m.ReadOnly {
				v.ReadOnly(m.Name)
			}
			v.Enter(m.Name)
			s.value(m.Shape, v)
			v.Leave()
			continue
		}
		if shape.Values == nil {
			if shape.Closed {
				v.Add(string(raw), "is not allowed: the schema declares no such property")
			}
			s.value(nil, v)
			continue
		}
		v.Enter(string(raw))
		s.value(shape.Values, v)
		v.Leave()
	}
	if shape == nil {
		return
	}
	for n, r := range shape.Required {
		if seen != nil && !seen[n] || seen == nil && found&(1<<n) == 0 {
			v.missing(r)
		}
	}
	if members < shape.MinProps {
		v.Add("", "must have at least "+count(shape.MinProps, "property", "properties"))
	}
	if shape.MaxProps != nil && members > *shape.MaxProps {
		v.Add("", "must have at most "+count(*shape.MaxProps, "property", "properties"))
	}
}

// count spells n things.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func (s *scanner) array(shape *Shape, v *Errors) {
	s.i++ // [
	var items *Shape
	if shape != nil {
		items = shape.Items
	}
	for n := 0; ; n++ {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] == ']' {
			s.i++
			return
		}
		if s.b[s.i] == ',' {
			s.i++
			n--
			continue
		}
		at := s.i
		if items != nil {
			v.EnterIndex(n)
			s.value(items, v)
			v.Leave()
		} else {
			s.value(nil, v)
		}
		if s.i == at { // a stray '}' or ':' (not JSON): step over it
			s.i++
		}
	}
}

// CheckRequired is Required for a request body on its own: it returns an
// *Error listing the missing members, or nil.
func CheckRequired(body []byte, shape *Shape) error {
	var v Errors
	Required(body, shape, &v)
	return v.Err()
}
