package loader

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

func propNames(s *model.Schema) (names, goNames []string) {
	for _, p := range s.Properties {
		names = append(names, p.Name)
		goNames = append(goNames, p.GoName)
	}
	return names, goNames
}

func prop(t *testing.T, s *model.Schema, name string) *model.Property {
	t.Helper()
	for _, p := range s.Properties {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("%s has no property %q", s.GoName, name)
	return nil
}

func TestSchemas(t *testing.T) {
	spec := filepath.Join("..", "..", "testdata", "specs", "schemas", "openapi.yaml")
	api := load(t, spec)

	var names []string
	for _, s := range api.Schemas {
		names = append(names, s.GoName)
	}
	// The form body is $ref'd from a component (FormAlias) by a pointer into
	// paths, so it is named after that pointer rather than the operation.
	want := []string{"Base", "BetterName", "Cat", "CatLives", "Closed", "CreatePet201Response",
		"CreatePetMultipartRequest", "Dog", "FormAlias", "Free", "Loop", "MaybeCat", "Mixed", "Odd", "Odd2", "Pet",
		"PetsPostApplicationXWwwFormUrlencoded", "Status", "Tree"}
	if !slices.Equal(names, want) {
		t.Errorf("schema GoNames:\n got %q\nwant %q", names, want)
	}

	// allOf merged, base properties first; required is the union.
	cat := findSchema(t, api, "Cat")
	if n, _ := propNames(cat); cat.Kind != model.KindObject || !slices.Equal(n, []string{"kind", "name", "lives"}) {
		t.Errorf("Cat: %s %v", cat.Kind, n)
	}
	if !prop(t, cat, "kind").Required || !prop(t, cat, "lives").Required || prop(t, cat, "name").Required {
		t.Errorf("Cat required flags wrong")
	}
	if name := prop(t, cat, "name").Schema; name.Kind != model.KindString || !name.Nullable {
		t.Errorf("3.1 nullable: %+v", name)
	}
	lives := prop(t, cat, "lives").Schema
	if lives.Kind != model.KindInteger || lives.Format != "int32" || !slices.Equal(lives.Enum, []any{int64(1), int64(7), int64(9)}) {
		t.Errorf("lives: %+v", lives)
	}

	// oneOf with discriminator: explicit mapping first, then implicit.
	pet := findSchema(t, api, "Pet")
	dog := findSchema(t, api, "Dog")
	if pet.Kind != model.KindUnion || pet.AnyOf || len(pet.Variants) != 2 || pet.Variants[0] != cat || pet.Variants[1] != dog {
		t.Fatalf("Pet: %+v", pet)
	}
	d := pet.Discriminator
	if d == nil || d.Property != "kind" || len(d.Mapping) != 2 || d.Mapping[0] != (model.DiscriminatorCase{Value: "kitty", Schema: cat}) ||
		d.Mapping[1] != (model.DiscriminatorCase{Value: "Dog", Schema: dog}) {
		t.Errorf("discriminator: %+v", d)
	}
	// oneOf [X, null] is X.
	if mc := findSchema(t, api, "MaybeCat"); mc.Kind != model.KindUnion || len(mc.Variants) != 1 || !mc.Nullable {
		t.Errorf("MaybeCat: %+v", mc)
	}

	// Recursion is a pointer cycle.
	tree := findSchema(t, api, "Tree")
	if prop(t, tree, "parent").Schema != tree || prop(t, tree, "children").Schema.Items != tree {
		t.Errorf("Tree is not recursive")
	}
	if loop := findSchema(t, api, "Loop"); loop.Kind != model.KindAny {
		t.Errorf("Loop: %s", loop.Kind)
	}

	// Odd names, collisions, x-go-name and x-go-type.
	odd := findSchema(t, api, "Odd")
	_, goNames := propNames(odd)
	if want := []string{"N2faCode", "Type", "Ref", "FooBar", "FooBar2", "Custom", "When"}; !slices.Equal(goNames, want) {
		t.Errorf("Odd GoNames %q, want %q", goNames, want)
	}
	if w := prop(t, odd, "when").Schema; w.GoType != "civil.Date" || w.GoTypeImport != "cloud.google.com/go/civil" {
		t.Errorf("x-go-type: %+v", w)
	}
	if s := findSchema(t, api, "Odd2"); s.Name != "odd" || s.Kind != model.KindString {
		t.Errorf("odd: %+v", s)
	}
	if s := findSchema(t, api, "BetterName"); s.Name != "Renamed" {
		t.Errorf("x-go-name on a schema: %+v", s)
	}

	// Maps, free-form and closed objects, several types.
	if s := findSchema(t, api, "Free"); s.Kind != model.KindMap || s.AdditionalProperties.Kind != model.KindAny {
		t.Errorf("Free: %+v", s)
	}
	if s := findSchema(t, api, "Closed"); s.Kind != model.KindObject || len(s.Properties) != 0 {
		t.Errorf("Closed: %+v", s)
	}
	if s := findSchema(t, api, "Mixed"); s.Kind != model.KindAny {
		t.Errorf("Mixed: %+v", s)
	}
	if s := findSchema(t, api, "Status"); s.Kind != model.KindString || !s.Nullable || !slices.Equal(s.Enum, []any{"active", "inactive"}) {
		t.Errorf("Status: %+v", s)
	}
	resp := findSchema(t, api, "CreatePet201Response")
	if tags := prop(t, resp, "tags").Schema; tags.Kind != model.KindMap || tags.AdditionalProperties.Kind != model.KindString {
		t.Errorf("tags: %+v", tags)
	}
	if prop(t, resp, "pet").Schema != pet {
		t.Errorf("response pet is not Pet")
	}

	// Warnings name their place.
	var rules []string
	for _, d := range api.Diagnostics {
		rules = append(rules, d.Pos.String()[len(filepath.Dir(spec))+1:]+" "+d.Rule)
	}
	if want := []string{"openapi.yaml:113:5 schema-free-form", "openapi.yaml:115:13 schema-untyped", "openapi.yaml:131:11 schema-untyped"}; !slices.Equal(rules, want) {
		t.Errorf("diagnostics %q, want %q", rules, want)
	}

	// Bodies: JSON first, then by media type; kinds.
	create := findOp(t, api, "create-pet")
	if create.GoName != "CreatePet" {
		t.Errorf("GoName %q", create.GoName)
	}
	if form := create.Body.Contents[1].Schema; form != findSchema(t, api, "FormAlias").Items || form.Kind != model.KindObject {
		t.Errorf("the form body schema is not the one FormAlias refers to")
	}
	var kinds []model.BodyKind
	for _, c := range create.Body.Contents {
		kinds = append(kinds, c.Kind)
	}
	if !slices.Equal(kinds, []model.BodyKind{model.BodyJSON, model.BodyForm, model.BodyMultipart}) {
		t.Errorf("body kinds %v", kinds)
	}
	var statuses []string
	for _, r := range create.Responses {
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(statuses, []string{"201", "4XX", "default"}) || create.Responses[2].Contents[0].Kind != model.BodyText {
		t.Errorf("responses %v", statuses)
	}

	// Parameters: path-level merged, GoNames unique, style/explode defaults.
	get := findOp(t, api, "getPetsPetID")
	var params []string
	for _, p := range get.Params {
		params = append(params, string(p.In)+":"+p.Name+":"+p.GoName+":"+p.Style+":"+map[bool]string{true: "explode", false: "noexplode"}[p.Explode])
	}
	want = []string{
		"path:pet-id:PetID:simple:noexplode", "query:pet-id:PetIDQuery:form:explode", "query:fields:Fields:form:noexplode",
		"header:X-Trace:TraceID:simple:noexplode", "cookie:session:Session:form:explode",
	}
	if !slices.Equal(params, want) {
		t.Errorf("params:\n got %q\nwant %q", params, want)
	}
	if get.GoName != "FetchPet" {
		t.Errorf("x-go-name on an operation: GoName %q", get.GoName)
	}
	if get.Responses[0].Contents[0].Kind != model.BodyBinary {
		t.Errorf("octet-stream kind %s", get.Responses[0].Contents[0].Kind)
	}
}
