package extension

import (
	"maps"
	"slices"
	"strings"

	"github.com/idemgen/idemgen/generator/model"
)

// keySources are the mutually exclusive key fields. They merge as one unit: an
// operation that names any key source replaces the defaults' source entirely
// (otherwise a default header plus an operation's field would be two sources).
var keySources = []string{"key.header", "key.query", "key.field", "key.derive"}

// mergeable lists the fields Merge copies from the defaults, in field order.
var mergeable = []string{
	"key.header", "key.query", "key.field", "key.derive", "key.required", "key.format",
	"key.pattern", "key.maxLength", "scope", "fingerprint", "ttl", "lease", "concurrent",
	"cache", "replayHeaders", "maxBodyBytes", "maxRequestBytes", "failOpen", "problemType",
	"issued",
}

// Merge returns ext with every field that defaults sets and ext does not copied
// in, field by field (operation values win). The copied fields are listed in
// Inherited and keep their positions in the defaults. A waiver, or nil
// defaults, is returned as is; ext itself is not modified.
func Merge(defaults, ext *model.Extension) *model.Extension {
	if ext == nil || !ext.Enabled || defaults == nil {
		return ext
	}
	out := *ext
	out.Set = maps.Clone(ext.Set)
	out.Fields = maps.Clone(ext.Fields)
	out.Inherited = maps.Clone(ext.Inherited)
	if out.Set == nil {
		out.Set = map[string]bool{}
	}
	if out.Fields == nil {
		out.Fields = map[string]model.Pos{}
	}
	if out.Inherited == nil {
		out.Inherited = map[string]bool{}
	}
	opSource := slices.ContainsFunc(keySources, func(f string) bool { return ext.Set[f] })
	for _, f := range mergeable {
		if !defaults.Set[f] || ext.Set[f] {
			continue
		}
		if opSource && slices.Contains(keySources, f) {
			continue
		}
		copyField(&out, defaults, f)
	}
	if !out.Set["key"] && defaults.Set["key"] {
		for _, f := range mergeable {
			if strings.HasPrefix(f, "key.") && out.Inherited[f] {
				out.Set["key"] = true
				out.Inherited["key"] = true
				out.Fields["key"] = defaults.Fields["key"]
				break
			}
		}
	}
	return &out
}

// copyField copies field f (and the positions of its items) from src to dst.
func copyField(dst, src *model.Extension, f string) {
	d, s := &dst.Policy, &src.Policy
	switch f {
	case "key.header":
		d.Key.Header = s.Key.Header
	case "key.query":
		d.Key.Query = s.Key.Query
	case "key.field":
		d.Key.Field = s.Key.Field
	case "key.derive":
		d.Key.Derive = slices.Clone(s.Key.Derive)
	case "key.required":
		d.Key.Optional = s.Key.Optional
	case "key.inject":
		d.Key.Inject = s.Key.Inject
	case "key.format":
		d.Key.Format = s.Key.Format
	case "key.pattern":
		d.Key.Pattern = s.Key.Pattern
	case "key.maxLength":
		d.Key.MaxLength = s.Key.MaxLength
	case "scope":
		d.Scope = slices.Clone(s.Scope)
	case "fingerprint":
		d.Fingerprint = slices.Clone(s.Fingerprint)
	case "ttl":
		d.TTL = s.TTL
	case "lease":
		d.Lease = s.Lease
	case "concurrent":
		d.Concurrent = s.Concurrent
	case "cache":
		d.Cache = slices.Clone(s.Cache)
	case "replayHeaders":
		d.ReplayHeaders = slices.Clone(s.ReplayHeaders)
	case "maxBodyBytes":
		d.MaxBodyBytes = s.MaxBodyBytes
	case "maxRequestBytes":
		d.MaxRequestBytes = s.MaxRequestBytes
	case "failOpen":
		d.FailOpen = s.FailOpen
	case "problemType":
		d.ProblemType = s.ProblemType
	case "issued":
		if s.Issued != nil {
			is := *s.Issued
			d.Issued = &is
		}
	}
	dst.Set[f] = true
	dst.Inherited[f] = true
	for name, pos := range src.Fields {
		if name == f || strings.HasPrefix(name, f+"[") || strings.HasPrefix(name, f+".") {
			dst.Fields[name] = pos
			if name != f && src.Set[name] {
				dst.Set[name] = true
				dst.Inherited[name] = true
			}
		}
	}
}
