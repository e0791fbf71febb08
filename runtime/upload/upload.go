// Package upload holds File, the Go type of a file in a multipart/form-data
// request body: generated servers decode a part of a "format: binary"
// property into it, and generated clients encode it back as a part.
package upload

import (
	"bytes"
	"encoding/json"
)

// DefaultContentType is the Content-Type of a file part that names none
// (RFC 7578 section 4.4 says text/plain for any part; a file without one is
// taken as opaque bytes, as curl and browsers send it).
const DefaultContentType = "application/octet-stream"

// File is one file of a multipart body: its content and the filename and
// Content-Type of its part. The whole body is bounded by the server's maximum
// body size, so the content is held in memory.
//
// In JSON (a schema used by both a JSON and a multipart body) a File is its
// content as a base64 string, as a []byte would be; the filename and content
// type do not travel.
type File struct {
	// Filename is the filename parameter of the part's Content-Disposition,
	// "" when the part has none.
	Filename string
	// ContentType is the part's Content-Type; a client sends
	// DefaultContentType when it is empty.
	ContentType string
	// Data is the content.
	Data []byte
}

// Size is the length of the content in bytes.
func (f File) Size() int64 { return int64(len(f.Data)) }

// Reader returns a reader of the content.
func (f File) Reader() *bytes.Reader { return bytes.NewReader(f.Data) }

// MarshalJSON writes the content as a base64 string.
func (f File) MarshalJSON() ([]byte, error) { return json.Marshal(f.Data) }

// UnmarshalJSON reads the content from a base64 string (or null).
func (f *File) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &f.Data) }
