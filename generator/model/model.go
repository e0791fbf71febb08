// Package model is idemgen's one intermediate model of an OpenAPI document: the
// operations, parameters, bodies, responses, schemas and each idempotent
// operation's validated policy. The loader builds it once; generate, lint, diff
// and annotate only read it.
package model

import (
	"fmt"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Pos is a position in a spec file: the file where the node really lives (a
// $ref'd file included), 1-based line and column. The zero Pos is unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats p as "file:line:col" (or "file" when the line is unknown).
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsValid reports whether p names a file.
func (p Pos) IsValid() bool { return p.File != "" }

// Severity of a diagnostic.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Diagnostic is one located finding about the spec: a load, validation or
// generation error or warning, a lint finding or a diff regression. It is the
// one diagnostic type of the generator; lint wraps it only to write its output
// formats.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	// Rule is a stable id ("extension-invalid", "ttl-shorter-than-lease", ...).
	Rule string
	// Pointer is the JSON Pointer of the node in its document ("/paths/~1songs/post/x-idempotent/ttl").
	Pointer string
	Message string
	// Operation is the operation the finding is about, when there is one.
	Operation *Operation
}

// Error formats d as "file:line:col: message".
func (d Diagnostic) Error() string { return d.Pos.String() + ": " + d.Message }

// OperationID returns the id of the operation d is about, or "".
func (d Diagnostic) OperationID() string {
	if d.Operation == nil {
		return ""
	}
	return d.Operation.ID
}

// Method returns the method of the operation d is about, or "".
func (d Diagnostic) Method() string {
	if d.Operation == nil {
		return ""
	}
	return d.Operation.Method
}

// Path returns the path template of the operation d is about, or "".
func (d Diagnostic) Path() string {
	if d.Operation == nil {
		return ""
	}
	return d.Operation.Path
}

// API is a whole loaded document.
type API struct {
	// File is the path of the root document as given by the user.
	File        string
	OpenAPI     string // "3.0.3", "3.1.0"...
	Title       string
	Version     string
	Description string
	// Operations in a stable order: by path, then method (GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH, TRACE).
	Operations []*Operation
	// Webhooks are the operations of the OpenAPI 3.1 webhooks (Kind
	// OpWebhook), by webhook name, then method. Callbacks hang off their
	// operation (Operation.Callbacks); Receivers lists both.
	Webhooks []*Operation
	// Schemas holds every schema that becomes a named Go type (components and
	// named inline schemas), sorted by GoName, with unique GoNames.
	Schemas []*Schema
	// GoNames are the package-level identifiers of the generated client.
	GoNames ClientNames
	// Defaults is the parsed x-idempotent-defaults (nil when absent).
	Defaults *Extension
	// SecuritySchemes are the names of components.securitySchemes.
	SecuritySchemes []string
	// SecurityHeaders are the request headers the security schemes carry, in
	// canonical form and sorted: Authorization for http, oauth2 and
	// openIdConnect schemes, the name of apiKey schemes in a header.
	SecurityHeaders []string
	// HasGlobalSecurity reports a root-level security requirement.
	HasGlobalSecurity bool
	// Schemes are components.securitySchemes, sorted by name, with unique
	// GoNames (see SecurityScheme).
	Schemes []*SecurityScheme
	// Security is the root `security` requirement, which operations without
	// their own inherit (see Operation.Security); nil when there is none.
	Security []SecurityRequirement
	// Diagnostics are every error and warning found while loading and validating,
	// sorted by position.
	Diagnostics []Diagnostic
}

// ClientNames are the exported package-level identifiers of a generated
// client, assigned after the schemas and the operations' types so that a
// schema called "Client" keeps its name and the client type becomes Client2.
type ClientNames struct {
	Client, NewClient, DefaultUserAgent, ClientOption, CallOption string
}

// Operation is one method on one path.
type Operation struct {
	// ID is the operationId, or a name derived from method and path when absent.
	ID string
	// GoName is the exported Go identifier for the operation ("CreateSong"):
	// the Handler and Client method, unique among operations.
	GoName string
	// RequestGoName and ResponseGoName are the operation's request struct
	// ("CreateSongRequestObject") and response interface
	// ("CreateSongResponseObject").
	RequestGoName, ResponseGoName string
	Method                        string // upper case: "POST"
	Path                          string // "/songs/{id}", as written in the spec
	// Route is Path parsed, its variables linked to Params.
	Route       Route
	Summary     string
	Description string
	Deprecated  bool
	Tags        []string
	Params      []*Param // path, query, header and cookie parameters, path-level ones merged
	Body        *Body    // nil when the operation takes no request body
	Responses   []*Response
	// Secured reports an effective (operation or root) non-empty security requirement.
	Secured bool
	// Security is the effective security requirement (the operation's
	// `security`, else the root's): alternatives, any one of which admits a
	// request (OR), each naming schemes that must all accept it (AND). An
	// alternative without schemes ({}) makes authentication optional. nil when
	// neither the operation nor the root requires anything. A webhook or
	// callback never inherits the root's: its Security is its own `security`
	// (the credentials the API's provider presents to the receiver).
	Security []SecurityRequirement
	// Idempotency is the operation's x-idempotent extension, merged with the
	// defaults and validated; nil when the operation has no x-idempotent.
	Idempotency *Extension
	// NoValidate is x-idemgen-validate: false: the generated server decodes
	// the request into its Go types but checks none of its schemas' keywords.
	NoValidate bool
	Pos        Pos    // position of the operation node
	Pointer    string // "/paths/~1songs/post"

	// Kind tells a path operation from a webhook or a callback. A webhook or
	// callback is a request the API's provider sends to its user: the
	// generated code receives it. Its Path is the default path the generated
	// receiver serves it at ("/webhooks/{name}", "/callbacks/{operationId}/{name}"),
	// not a path of the spec.
	Kind OperationKind
	// Webhook is the name of a webhook (Kind OpWebhook).
	Webhook string
	// Callback describes a callback operation (Kind OpCallback).
	Callback *Callback
	// Callbacks are the operations of this operation's callbacks, by callback
	// name, expression, then method.
	Callbacks []*Operation
}

// OperationKind classifies an operation by where the spec declares it.
type OperationKind string

const (
	OpPath     OperationKind = ""         // under paths
	OpWebhook  OperationKind = "webhook"  // under the 3.1 webhooks
	OpCallback OperationKind = "callback" // under an operation's callbacks
)

// Callback is where a callback operation is declared.
type Callback struct {
	// Name is the callback's key in the operation's callbacks map.
	Name string
	// Expression is the runtime expression of its URL ("{$request.body#/callbackUrl}").
	Expression string
	// Parent is the operation that declares the callback.
	Parent *Operation
}

// Receivers returns the webhooks, then every operation's callbacks, in
// model order: the operations the generated code receives rather than
// serves as the API.
func (a *API) Receivers() []*Operation {
	out := make([]*Operation, 0, len(a.Webhooks))
	out = append(out, a.Webhooks...)
	for _, op := range a.Operations {
		out = append(out, op.Callbacks...)
	}
	return out
}

// Label names an operation in messages: "POST /songs", "webhook orderShipped
// (POST)", "callback onData of createSubscription (POST)".
func (o *Operation) Label() string {
	switch o.Kind {
	case OpWebhook:
		return "webhook " + o.Webhook + " (" + o.Method + ")"
	case OpCallback:
		if o.Callback != nil && o.Callback.Parent != nil {
			return "callback " + o.Callback.Name + " of " + o.Callback.Parent.ID + " (" + o.Method + ")"
		}
	}
	return o.Method + " " + o.Path
}

// Idempotent reports whether the operation has an enabled x-idempotent.
func (o *Operation) Idempotent() bool { return o.Idempotency != nil && o.Idempotency.Enabled }

// Extension is a parsed and validated x-idempotent (or x-idempotent-defaults).
type Extension struct {
	// Enabled is false for a waiver (x-idempotent: false, or enabled: false).
	Enabled bool
	// Reason is the waiver's reason.
	Reason string
	// Policy is the compiled runtime policy (Operation set to the operation's ID).
	// Valid only when Enabled.
	Policy idempotency.Policy
	// Set lists the fields written explicitly in the spec (after merging the
	// defaults), e.g. "key.header", "ttl", so lint and diff can tell defaults apart.
	Set map[string]bool
	// Pos is the position of the x-idempotent value; Fields the position of each
	// written field by its dotted name ("key.header", "ttl", "fingerprint[1]").
	Pos     Pos
	Fields  map[string]Pos
	Pointer string
	// Inherited lists the fields of Set that came from x-idempotent-defaults
	// rather than the operation's own x-idempotent (their Fields positions point
	// into the defaults).
	Inherited map[string]bool
}

// FieldPos returns the position of a field, falling back to the extension's.
func (e *Extension) FieldPos(name string) Pos {
	if p, ok := e.Fields[name]; ok {
		return p
	}
	return e.Pos
}

// ParamIn is where a parameter lives.
type ParamIn string

const (
	InPath   ParamIn = "path"
	InQuery  ParamIn = "query"
	InHeader ParamIn = "header"
	InCookie ParamIn = "cookie"
)

// Param is a parameter of an operation, or a header of a response.
type Param struct {
	Name        string
	GoName      string // exported Go field name, unique within the request struct (or the response's Headers struct)
	In          ParamIn
	Required    bool
	Style       string // "form", "simple", ... (the OpenAPI default when absent)
	Explode     bool   // with the OpenAPI default applied
	Description string
	Deprecated  bool
	Schema      *Schema
	Pos         Pos
}

// BodyKind classifies a media type.
type BodyKind string

const (
	BodyJSON      BodyKind = "json"      // application/json, application/*+json
	BodyForm      BodyKind = "form"      // application/x-www-form-urlencoded
	BodyMultipart BodyKind = "multipart" // multipart/form-data
	BodyText      BodyKind = "text"      // text/*
	BodyBinary    BodyKind = "binary"    // application/octet-stream and anything else
)

// Content is one media type of a body.
type Content struct {
	MediaType string
	Kind      BodyKind
	Schema    *Schema // nil when the media type declares no schema
	// GoName is, in a request body, the request struct's field ("Body", or
	// "JSONBody" when there are several media types); in a response, the
	// response type ("CreateSong201JSONResponse").
	GoName string
	// PartTypes are, in a multipart request body, the media types (or
	// ranges) the encoding object allows for a property's parts, by property
	// name, from its comma-separated contentType; nil when none is declared.
	PartTypes map[string][]string
	// Delimiters are, in a urlencoded request body, the delimiter of each
	// array property the encoding object sends in one field (explode: false):
	// "," for style form, " " for spaceDelimited, "|" for pipeDelimited. An
	// array property not listed is one repeated field per item.
	Delimiters map[string]string
}

// Body is an operation's request body.
type Body struct {
	Required    bool
	Description string
	Contents    []*Content // sorted by media type; JSON first
	Pos         Pos
}

// Response is one declared response.
type Response struct {
	// Status is "200", "2XX" or "default".
	Status      string
	Description string
	Headers     []*Param // In == InHeader
	Contents    []*Content
	Pos         Pos
	// GoName is the response type when the response has no content
	// ("DeleteSong204Response"); HeadersGoName the type of its headers
	// ("CreateSong201ResponseHeaders"), empty without headers.
	GoName, HeadersGoName string
}

// Kind is the Go shape of a schema.
type Kind string

const (
	KindAny     Kind = "any"     // unconstrained or untypeable: any / json.RawMessage
	KindObject  Kind = "object"  // a struct
	KindMap     Kind = "map"     // object with only additionalProperties: map[string]T
	KindArray   Kind = "array"   // []T
	KindString  Kind = "string"  // string, time.Time (date-time), []byte (byte/binary)
	KindInteger Kind = "integer" // int32, int64
	KindNumber  Kind = "number"  // float32, float64
	KindBoolean Kind = "boolean"
	KindUnion   Kind = "union" // oneOf/anyOf
)

// Schema is a type. Named schemas (Name != "") are emitted once as Go types and
// referenced by pointer identity elsewhere; recursion is therefore a cycle of
// *Schema values, which emitters must tolerate.
type Schema struct {
	// Name is the component name (or a derived name for a named inline schema);
	// empty for anonymous inline schemas.
	Name string
	// GoName is the unique exported Go type name when Name != "".
	GoName      string
	Kind        Kind
	Format      string // "date-time", "int32", "binary", ...
	Nullable    bool
	Description string
	Deprecated  bool
	ReadOnly    bool
	WriteOnly   bool

	Properties []*Property // KindObject, in document order, allOf already merged
	// AdditionalProperties is the value schema of a map (KindMap), or of a struct's
	// extra properties (KindObject); nil when none are allowed or declared.
	AdditionalProperties *Schema
	Items                *Schema // KindArray
	// ExtraGoName is the field that holds the undeclared properties of a named
	// object with both (AdditionalProperties unless a property takes it).
	ExtraGoName string

	Enum []any // allowed values, for typed constants
	// EnumValues are the distinct values of Enum that fit Kind, with their
	// constant names, for a named schema emitted as a Go type with constants
	// (a string, integer or number); nil otherwise.
	EnumValues []EnumValue

	// MaxLength and Pattern are the string constraints (nil / "" when absent);
	// lint reads them to judge a declared key parameter's schema. MinLength and
	// MaxLength count characters (Unicode code points), not bytes.
	MinLength int
	MaxLength *int
	Pattern   string

	// Minimum and Maximum bound a number (nil when absent). ExclusiveMinimum
	// and ExclusiveMaximum exclude the bound itself: OpenAPI 3.0's boolean
	// modifiers and 3.1's numeric bounds both end up here (with both a
	// minimum and a 3.1 exclusiveMinimum, the stricter one is kept).
	Minimum, Maximum                   *float64
	ExclusiveMinimum, ExclusiveMaximum bool
	// MultipleOf is the number a value must be a multiple of (nil when absent).
	MultipleOf *float64

	// MinItems, MaxItems and UniqueItems constrain an array; MinProperties and
	// MaxProperties an object or map (nil maxima when absent).
	MinItems      int
	MaxItems      *int
	UniqueItems   bool
	MinProperties int
	MaxProperties *int
	// Closed reports additionalProperties: false on an object: a request
	// member that is not a declared property is refused.
	Closed bool

	// Variants are the oneOf/anyOf branches of a KindUnion; AnyOf tells which.
	// VariantNames name them in generated code (a field or method suffix,
	// unique in the union; "" for a nil variant).
	Variants      []*Schema
	VariantNames  []string
	AnyOf         bool
	Discriminator *Discriminator

	// GoType is x-go-type: emit this type instead (with GoTypeImport when set).
	GoType       string
	GoTypeImport string

	Pos     Pos
	Pointer string
}

// EnumValue is one value of an enum, typed for the generated constant.
type EnumValue struct {
	// Value is a string, an int (integer kind) or a float64 (number kind).
	Value any
	// Raw is the value as text ("active", "42", "1.5").
	Raw string
	// GoName is the constant ("StatusActive"), unique in the package.
	GoName string
}

// Property is a field of an object schema.
type Property struct {
	Name     string // JSON name
	GoName   string // x-go-name or the derived exported name, unique in the struct
	Required bool
	Schema   *Schema
	Pos      Pos
}

// Discriminator of a union.
type Discriminator struct {
	Property string
	// Mapping maps a discriminator value to its variant, in a stable order.
	Mapping []DiscriminatorCase
}

// DiscriminatorCase is one value of a discriminator.
type DiscriminatorCase struct {
	Value  string
	Schema *Schema
}

// SchemeKind is how a security scheme's credential travels, which decides how
// a server reads it and a client sends it.
type SchemeKind string

const (
	// SchemeBearer: "Authorization: <AuthScheme> <token>": http bearer (and
	// any other http auth scheme but basic), oauth2 and openIdConnect.
	SchemeBearer SchemeKind = "bearer"
	// SchemeBasic: "Authorization: Basic base64(user:password)".
	SchemeBasic SchemeKind = "basic"
	// SchemeAPIKey: a key in the header, query parameter or cookie Param.
	SchemeAPIKey SchemeKind = "apiKey"
	// SchemeMutualTLS: the client certificate of the TLS connection.
	SchemeMutualTLS SchemeKind = "mutualTLS"
)

// SecurityScheme is one entry of components.securitySchemes.
type SecurityScheme struct {
	// Name is the key in components.securitySchemes.
	Name string
	// GoName is the exported identifier of the scheme ("BearerAuth"): the
	// generated SecurityHandler's method is "Handle" + GoName.
	GoName string
	// Type is the spec's type: http, apiKey, oauth2, openIdConnect or mutualTLS.
	Type string
	Kind SchemeKind
	// AuthScheme is the HTTP authentication scheme of the Authorization
	// header as written in challenges ("Bearer", "Basic", or the http
	// scheme's own name); empty for apiKey and mutualTLS.
	AuthScheme string
	// In and Param say where an apiKey lives (header, query or cookie, and
	// its name).
	In    ParamIn
	Param string
	// BearerFormat is the http bearer scheme's hint ("JWT").
	BearerFormat string
	Description  string
	Pos          Pos
	Pointer      string
}

// SecurityRequirement is one alternative of a `security` list: every scheme
// of Schemes must accept the request. Without schemes it is the optional
// alternative ({}): the request may carry no credentials at all.
type SecurityRequirement struct {
	Schemes []SchemeUse
}

// SchemeUse is one scheme of a requirement with the scopes it must grant
// (oauth2 and openIdConnect scopes; roles for other schemes in OpenAPI 3.1).
type SchemeUse struct {
	Scheme *SecurityScheme
	Scopes []string
}

// SecurityOptional reports whether the requirement list admits a request without
// credentials (it has an empty alternative).
func (o *Operation) SecurityOptional() bool {
	for _, r := range o.Security {
		if len(r.Schemes) == 0 {
			return true
		}
	}
	return false
}
