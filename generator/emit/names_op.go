package emit

import (
	"strconv"

	"github.com/idemgen/idemgen/generator/model"
)

// opNames are the Go names of one operation's generated types, shared by the
// server and client emitters: a view of the names the loader assigned.
type opNames struct {
	// Method is the Handler method ("CreateSong").
	Method string
	// Request is the request struct ("CreateSongRequestObject"); Response the
	// response interface ("CreateSongResponseObject").
	Request, Response string
	// Params are the request struct's field names, one per op.Params entry.
	Params []string
	// Bodies are the request body fields, one per op.Body.Contents entry.
	Bodies []string
	// Responses are the response types, one per declared status and media type.
	Responses []*respType
}

// respType is one generated response type: one status with one media type (or
// none, for a response without content).
type respType struct {
	Resp    *model.Response
	Content *model.Content // nil: no body
	// Name is the type ("CreateSong201JSONResponse"); Headers the type of its
	// Headers field ("CreateSong201ResponseHeaders"), empty when it has none.
	Name, Headers string
	// HeaderFields are the Headers struct's field names, one per Resp.Headers.
	HeaderFields []string
}

// newOpNames collects the names the loader gave op and its parts.
func newOpNames(op *model.Operation) *opNames {
	n := &opNames{Method: op.GoName, Request: op.RequestGoName, Response: op.ResponseGoName}
	if op.Body != nil {
		for _, c := range op.Body.Contents {
			n.Bodies = append(n.Bodies, c.GoName)
		}
	}
	for _, p := range op.Params {
		n.Params = append(n.Params, p.GoName)
	}
	for _, r := range op.Responses {
		var headerFields []string
		for _, h := range r.Headers {
			headerFields = append(headerFields, h.GoName)
		}
		if len(r.Contents) == 0 {
			n.Responses = append(n.Responses, &respType{Resp: r, Name: r.GoName, Headers: r.HeadersGoName, HeaderFields: headerFields})
			continue
		}
		for _, c := range r.Contents {
			n.Responses = append(n.Responses, &respType{Resp: r, Content: c, Name: c.GoName, Headers: r.HeadersGoName, HeaderFields: headerFields})
		}
	}
	return n
}

// fixedStatus returns the status code of a response declared with an exact
// code; ok is false for ranges ("2XX") and "default".
func fixedStatus(status string) (code int, ok bool) {
	code, err := strconv.Atoi(status)
	return code, err == nil && code >= 100 && code <= 999
}

// defaultStatus is the status a range or default response is written with when
// the handler leaves StatusCode zero.
func defaultStatus(status string) int {
	if len(status) == 3 && status[0] >= '1' && status[0] <= '5' {
		return int(status[0]-'0') * 100
	}
	return 500
}
