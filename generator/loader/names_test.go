package loader

import (
	"reflect"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

func TestIdent(t *testing.T) {
	for in, want := range map[string]string{
		"user_id":     "UserID",
		"tls-version": "TLSVersion", // golint's list, not only the common web words
		"cpu":         "CPU",
		"Json":        "Json", // mixed case is a name, not an initialism
		"songId":      "SongId",
		"2fa-code":    "N2faCode",
		"":            "X",
		"--":          "X",
	} {
		if got := ident(in); got != want {
			t.Errorf("ident(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAssignGoNames: one pass names schemas, operations, their parts, enum
// constants, union variants and the client, each unique in its scope, and a
// second pass over the same model changes nothing.
func TestAssignGoNames(t *testing.T) {
	str := &model.Schema{Kind: model.KindString}
	handler := &model.Schema{Name: "Handler", GoName: "Handler", Kind: model.KindObject,
		Properties: []*model.Property{{Name: "x", GoName: "X", Schema: str}}, AdditionalProperties: str}
	client := &model.Schema{Name: "Client", GoName: "Client", Kind: model.KindObject}
	level := &model.Schema{Name: "Level", GoName: "Level", Kind: model.KindInteger, Enum: []any{-1, 1, 1.0, "x"}}
	mood := &model.Schema{Name: "Mood", GoName: "Mood", Kind: model.KindString, Enum: []any{"", "tls_on", "happy"}}
	union := &model.Schema{Name: "U", GoName: "U", Kind: model.KindUnion, Variants: []*model.Schema{client, str, nil, {Kind: model.KindString}}}
	op := &model.Operation{ID: "create", GoName: "create", // not exported: the ID names it
		Params: []*model.Param{{Name: "body", GoName: "Body", In: model.InQuery}, {Name: "x-id", In: model.InHeader}},
		Body: &model.Body{Contents: []*model.Content{
			{MediaType: "application/json", Kind: model.BodyJSON},
			{MediaType: "application/vnd.a+json", Kind: model.BodyJSON},
			{MediaType: "text/plain", Kind: model.BodyText},
		}},
		Responses: []*model.Response{
			{Status: "201", Headers: []*model.Param{{Name: "Location"}, {Name: "location", GoName: "Location"}},
				Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON}}},
			{Status: "2XX"},
			{Status: "default", Contents: []*model.Content{{MediaType: "text/plain", Kind: model.BodyText}}},
		}}
	hooks := &model.Schema{Name: "WebhookSecurityHandler", GoName: "WebhookSecurityHandler", Kind: model.KindString}
	api := &model.API{Schemas: []*model.Schema{client, handler, level, mood, union, hooks}, Operations: []*model.Operation{op}}
	AssignGoNames(api)
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("schema Handler", handler.GoName, "HandlerSchema")
	check("schema Client", client.GoName, "Client")
	check("schema WebhookSecurityHandler", hooks.GoName, "WebhookSecurityHandlerSchema")
	check("client type", api.GoNames.Client, "Client2")
	check("NewClient", api.GoNames.NewClient, "NewClient")
	check("open struct field", handler.ExtraGoName, "AdditionalProperties")
	check("method", op.GoName, "Create")
	check("request", op.RequestGoName, "CreateRequestObject")
	check("response", op.ResponseGoName, "CreateResponseObject")
	check("body 0", op.Body.Contents[0].GoName, "ApplicationJSONBody")
	check("body 1", op.Body.Contents[1].GoName, "ApplicationVndAJSONBody")
	check("body 2", op.Body.Contents[2].GoName, "TextBody")
	check("param body", op.Params[0].GoName, "Body")
	check("param x-id", op.Params[1].GoName, "XID")
	check("201 type", op.Responses[0].Contents[0].GoName, "Create201JSONResponse")
	check("201 headers", op.Responses[0].HeadersGoName, "Create201ResponseHeaders")
	check("201 header 0", op.Responses[0].Headers[0].GoName, "Location")
	check("201 header 1", op.Responses[0].Headers[1].GoName, "Location2")
	check("2XX type", op.Responses[1].GoName, "Create2XXResponse")
	check("default type", op.Responses[2].Contents[0].GoName, "CreateDefaultTextResponse")
	if want := []string{"Client", "String", "", "String2"}; !reflect.DeepEqual(union.VariantNames, want) {
		t.Errorf("variants = %q, want %q", union.VariantNames, want)
	}
	wantLevel := []model.EnumValue{{Value: -1, Raw: "-1", GoName: "LevelMinus1"}, {Value: 1, Raw: "1", GoName: "LevelN1"}}
	if !reflect.DeepEqual(level.EnumValues, wantLevel) {
		t.Errorf("level values = %+v, want %+v", level.EnumValues, wantLevel)
	}
	var moods []string
	for _, v := range mood.EnumValues {
		moods = append(moods, v.GoName)
	}
	if want := []string{"MoodEmpty", "MoodTLSOn", "MoodHappy"}; !reflect.DeepEqual(moods, want) {
		t.Errorf("mood constants = %q, want %q", moods, want)
	}

	before := *op
	AssignGoNames(api)
	if op.GoName != before.GoName || op.RequestGoName != before.RequestGoName || len(level.EnumValues) != 2 ||
		handler.GoName != "HandlerSchema" || api.GoNames.Client != "Client2" {
		t.Errorf("a second AssignGoNames changed names: %q %q %d %q %q", op.GoName, op.RequestGoName, len(level.EnumValues), handler.GoName, api.GoNames.Client)
	}
}
