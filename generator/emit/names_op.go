package emit

import (
	"strconv"
	"strings"

	"github.com/idemgen/idemgen/generator/model"
)

// opNames are the Go names of one operation's generated types, shared by the
// server and client emitters.
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

// kindNames label body kinds in type and field names.
var kindNames = map[model.BodyKind]string{
	model.BodyJSON: "JSON", model.BodyForm: "Form", model.BodyMultipart: "Multipart",
	model.BodyText: "Text", model.BodyBinary: "Binary",
}

// contentLabels names each content of a body or response by its kind, or by its
// media type when two contents share a kind.
func contentLabels(contents []*model.Content) []string {
	count := make(map[model.BodyKind]int)
	for _, c := range contents {
		count[c.Kind]++
	}
	names := newNamer()
	out := make([]string, len(contents))
	for i, c := range contents {
		label := kindNames[c.Kind]
		if label == "" {
			label = "Binary"
		}
		if count[c.Kind] > 1 {
			label = exportedIdent(c.MediaType)
		}
		out[i] = names.take(label)
	}
	return out
}

// statusLabel is the status part of a response type name: "201", "2XX", "Default".
func statusLabel(status string) string {
	if status == "default" {
		return "Default"
	}
	return strings.ToUpper(status)
}

func (g *generator) newOpNames(op *model.Operation) *opNames {
	n := &opNames{Method: op.GoName}
	if n.Method == "" || !strings.ContainsAny(n.Method[:1], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		n.Method = exportedIdent(op.ID)
	}
	n.Method = g.methods.take(n.Method)
	n.Request = g.names.take(n.Method + "RequestObject")
	n.Response = g.names.take(n.Method + "ResponseObject")
	fields := newNamer()
	if op.Body != nil {
		labels := contentLabels(op.Body.Contents)
		for i := range op.Body.Contents {
			name := "Body"
			if len(op.Body.Contents) > 1 {
				name = labels[i] + "Body"
			}
			n.Bodies = append(n.Bodies, fields.take(name))
		}
	}
	for _, p := range op.Params {
		name := p.GoName
		if name == "" {
			name = exportedIdent(p.Name)
		}
		n.Params = append(n.Params, fields.take(name))
	}
	for _, r := range op.Responses {
		status := statusLabel(r.Status)
		var headers string
		var headerFields []string
		if len(r.Headers) > 0 {
			headers = g.names.take(n.Method + status + "ResponseHeaders")
			hf := newNamer()
			for _, h := range r.Headers {
				name := h.GoName
				if name == "" {
					name = exportedIdent(h.Name)
				}
				headerFields = append(headerFields, hf.take(name))
			}
		}
		if len(r.Contents) == 0 {
			n.Responses = append(n.Responses, &respType{Resp: r, Name: g.names.take(n.Method + status + "Response"),
				Headers: headers, HeaderFields: headerFields})
			continue
		}
		labels := contentLabels(r.Contents)
		for i, c := range r.Contents {
			n.Responses = append(n.Responses, &respType{Resp: r, Content: c,
				Name:    g.names.take(n.Method + status + labels[i] + "Response"),
				Headers: headers, HeaderFields: headerFields})
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
