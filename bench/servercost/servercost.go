package servercost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	_ "embed"

	"github.com/idemgen/idemgen/bench/servercost/idemgenapi"
	"github.com/idemgen/idemgen/bench/servercost/oapiapi"
	"github.com/idemgen/idemgen/bench/servercost/ogenapi"
)

//go:embed openapi.yaml
var spec []byte

// Body is the POST every contender serves: 865 bytes, 12 properties, 5
// nested items, valid against openapi.yaml.
const Body = `{"sku":"ABC123","quantity":3,"price":19.99,"note":"leave the parcel at the side door next to the garage, ring twice and wait; if nobody answers, the neighbours at number 12 will take it in","status":"new",` +
	`"shipOn":"2026-12-24","ref":"123e4567-e89b-12d3-a456-426614174000","email":"buyer@example.com",` +
	`"site":"https://shop.example.com/customers/4711/orders/2026/12/1?ref=newsletter&utm_source=mail","tags":["gift","fragile","express","weekend-ok","no-invoice"],` +
	`"labels":{"floor":"3","door":"left","code":"1234"},"items":[` +
	`{"name":"fountain pen","kind":"pen","quantity":1,"price":45.5},` +
	`{"name":"notebook, dotted, A5","kind":"book","quantity":2,"price":12.25},` +
	`{"name":"blue-black ink, 50ml","kind":"ink","quantity":3,"price":9.75},` +
	`{"name":"atlas of the world","kind":"book","quantity":1,"price":39.9},` +
	`{"name":"spare nibs, medium","kind":"pen","quantity":4,"price":6.4}]}`

// Invalid breaks the spec (quantity 0 at /items/1/quantity).
const Invalid = `{"sku":"ABC123","quantity":3,"email":"buyer@example.com","items":[{"name":"a","quantity":1},{"name":"b","quantity":0}]}`

// handWrittenOrder is the struct a careful person writes for the schema.
type handWrittenOrder struct {
	Sku      string            `json:"sku"`
	Quantity int               `json:"quantity"`
	Price    *float64          `json:"price,omitempty"`
	Note     *string           `json:"note,omitempty"`
	Status   *string           `json:"status,omitempty"`
	ShipOn   *string           `json:"shipOn,omitempty"`
	Ref      *string           `json:"ref,omitempty"`
	Email    string            `json:"email"`
	Site     *string           `json:"site,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Items    []struct {
		Name     string   `json:"name"`
		Kind     *string  `json:"kind,omitempty"`
		Quantity int      `json:"quantity"`
		Price    *float64 `json:"price,omitempty"`
	} `json:"items"`
}

// total is the handler work every contender does: the order's total in cents.
func total(quantities []int, prices []float64) int {
	t := 0.0
	for i, q := range quantities {
		t += float64(q) * prices[i]
	}
	return int(t * 100)
}

// HandWritten is net/http and encoding/json, no schema validation beyond
// decoding: the baseline.
func HandWritten() http.Handler {
	var order handWrittenOrder
	if err := json.Unmarshal([]byte(Body), &order); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unsupported media type", http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var o handWrittenOrder
		if err := json.Unmarshal(body, &o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		qs, ps := make([]int, len(o.Items)), make([]float64, len(o.Items))
		for i, it := range o.Items {
			qs[i] = it.Quantity
			if it.Price != nil {
				ps[i] = *it.Price
			}
		}
		b, _ := json.Marshal(struct {
			ID    string `json:"id"`
			Total int    `json:"total"`
		}{"o-1", total(qs, ps)})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = r.PathValue("id")
		b, err := json.Marshal(order)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	})
	return mux
}

// idemgenHandler implements the idemgen-generated Handler.
type idemgenHandler struct{ order idemgenapi.Order }

func (h *idemgenHandler) CreateOrder(ctx context.Context, req idemgenapi.CreateOrderRequestObject) (idemgenapi.CreateOrderResponseObject, error) {
	qs, ps := make([]int, len(req.Body.Items)), make([]float64, len(req.Body.Items))
	for i, it := range req.Body.Items {
		qs[i] = it.Quantity
		if it.Price != nil {
			ps[i] = *it.Price
		}
	}
	return idemgenapi.CreateOrder201JSONResponse{Body: idemgenapi.Created{ID: "o-1", Total: total(qs, ps)}}, nil
}

func (h *idemgenHandler) GetOrder(ctx context.Context, req idemgenapi.GetOrderRequestObject) (idemgenapi.GetOrderResponseObject, error) {
	return idemgenapi.GetOrder200JSONResponse{Body: h.order}, nil
}

// Idemgen is idemgen's generated server (validating every keyword).
func Idemgen() (http.Handler, error) {
	h := &idemgenHandler{}
	if err := json.Unmarshal([]byte(Body), &h.order); err != nil {
		return nil, err
	}
	return idemgenapi.NewServer(h)
}

// oapiHandler implements oapi-codegen's StrictServerInterface.
type oapiHandler struct{ order oapiapi.Order }

func (h *oapiHandler) CreateOrder(ctx context.Context, req oapiapi.CreateOrderRequestObject) (oapiapi.CreateOrderResponseObject, error) {
	qs, ps := make([]int, len(req.Body.Items)), make([]float64, len(req.Body.Items))
	for i, it := range req.Body.Items {
		qs[i] = it.Quantity
		if it.Price != nil {
			ps[i] = float64(*it.Price)
		}
	}
	return oapiapi.CreateOrder201JSONResponse{Id: "o-1", Total: total(qs, ps)}, nil
}

func (h *oapiHandler) GetOrder(ctx context.Context, req oapiapi.GetOrderRequestObject) (oapiapi.GetOrderResponseObject, error) {
	return oapiapi.GetOrder200JSONResponse(h.order), nil
}

// OapiStrict is oapi-codegen's strict server on net/http (no validation
// beyond decoding).
func OapiStrict() (http.Handler, error) {
	h := &oapiHandler{}
	if err := json.Unmarshal([]byte(Body), &h.order); err != nil {
		return nil, err
	}
	return oapiapi.Handler(oapiapi.NewStrictHandler(h, nil)), nil
}

// OapiStrictValidated is the same behind kin-openapi's request validation
// (openapi3filter.ValidateRequest with kin-openapi's legacy router, what
// oapi-codegen's nethttp-middleware does; that module is not on the module
// proxy this project uses).
func OapiStrictValidated() (http.Handler, error) {
	next, err := OapiStrict()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, err := router.FindRoute(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	}), nil
}

// ogenHandler implements ogen's Handler.
type ogenHandler struct{ order ogenapi.Order }

func (h *ogenHandler) CreateOrder(ctx context.Context, req *ogenapi.Order) (*ogenapi.Created, error) {
	qs, ps := make([]int, len(req.Items)), make([]float64, len(req.Items))
	for i, it := range req.Items {
		qs[i] = it.Quantity
		ps[i] = it.Price.Or(0)
	}
	return &ogenapi.Created{ID: "o-1", Total: total(qs, ps)}, nil
}

func (h *ogenHandler) GetOrder(ctx context.Context, params ogenapi.GetOrderParams) (*ogenapi.Order, error) {
	o := h.order
	return &o, nil
}

// Ogen is ogen's generated server (validating).
func Ogen() (http.Handler, error) {
	h := &ogenHandler{}
	if err := h.order.UnmarshalJSON([]byte(Body)); err != nil {
		return nil, fmt.Errorf("ogen: decode the order: %w", err)
	}
	return ogenapi.NewServer(h)
}

// Contender is one server of the comparison.
type Contender struct {
	Name string
	New  func() (http.Handler, error)
}

// BenchName is the sub-benchmark name of a contender (go test rewrites
// spaces; the rest are made plain here).
func BenchName(name string) string {
	return strings.NewReplacer(" ", "_", "(", "", ")", "", "+", "with").Replace(name)
}

// Contenders are the servers compared, the baseline first.
var Contenders = []Contender{
	{"nethttp (hand-written)", func() (http.Handler, error) { return HandWritten(), nil }},
	{"idemgen (validating)", Idemgen},
	{"oapi-codegen strict", OapiStrict},
	{"oapi-codegen strict + kin-openapi validation", OapiStrictValidated},
	{"ogen (validating)", Ogen},
}
