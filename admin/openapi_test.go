package admin

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/docs"
)

// oaSchema is the part of an OpenAPI 3.1 schema the check reads.
type oaSchema struct {
	Ref                  string               `json:"$ref"`
	Type                 any                  `json:"type"` // a string or a list of strings
	Format               string               `json:"format"`
	Properties           map[string]*oaSchema `json:"properties"`
	Required             []string             `json:"required"`
	Items                *oaSchema            `json:"items"`
	AdditionalProperties *oaSchema            `json:"additionalProperties"`
	OneOf                []*oaSchema          `json:"oneOf"`
	AllOf                []*oaSchema          `json:"allOf"`
}

// types lists the schema's types ("object", "null", …).
func (s *oaSchema) types() []string {
	switch t := s.Type.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, v := range t {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	return nil
}

type oaMedia struct {
	Schema *oaSchema `json:"schema"`
}

type oaResponse struct {
	Ref     string             `json:"$ref"`
	Content map[string]oaMedia `json:"content"`
}

type oaOperation struct {
	RequestBody *struct {
		Content map[string]oaMedia `json:"content"`
	} `json:"requestBody"`
	Responses map[string]oaResponse `json:"responses"`
}

type oaDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas   map[string]*oaSchema  `json:"schemas"`
		Responses map[string]oaResponse `json:"responses"`
	} `json:"components"`
}

// answerTypes maps "METHOD path status" of docs/admin-openapi.json to the
// adminapi type of that answer ("METHOD path body" to the request body's).
// An operation the document lists and this table lacks fails the test, as
// does an entry the document lacks.
var answerTypes = map[string]any{
	"GET /contracts 200":                               adminapi.ContractPage{},
	"GET /contracts/{tenant}/{id} 200":                 adminapi.ContractDetail{},
	"GET /contracts/{tenant}/{id}/facts 200":           adminapi.Page[adminapi.Fact]{},
	"GET /certifications 200":                          adminapi.Page[adminapi.Certification]{},
	"GET /certifications/{tenant}/{request_id} 200":    adminapi.Certification{},
	"GET /events 200":                                  adminapi.Page[adminapi.Event]{},
	"GET /dead-letters 200":                            adminapi.Page[adminapi.DeadLetter]{},
	"GET /dead-letters/{id} 200":                       adminapi.DeadLetter{},
	"GET /dead-letters/issues 200":                     adminapi.Page[adminapi.DeadLetterIssue]{},
	"GET /streams 200":                                 adminapi.Page[adminapi.Stream]{},
	"GET /documents 200":                               adminapi.Page[adminapi.QueuedDocument]{},
	"GET /overview 200":                                adminapi.Overview{},
	"GET /audit 200":                                   adminapi.Page[adminapi.AuditEntry]{},
	"GET /activity 200":                                adminapi.Activity{},
	"POST /dead-letters/retry 200":                     adminapi.RetryResult{},
	"POST /dead-letters/retry body":                    adminapi.RetryRequest{},
	"POST /dead-letters/{id}/retry 200":                adminapi.RetryResult{},
	"POST /dead-letters/{id}/retry body":               struct{}{},
	"POST /dead-letters/{id}/purge 200":                adminapi.PurgeResult{},
	"POST /dead-letters/{id}/purge body":               adminapi.PurgeRequest{},
	"POST /replays 200":                                adminapi.DryRun{},
	"POST /replays 202":                                adminapi.Job{},
	"POST /replays body":                               adminapi.ReplayRequest{},
	"GET /replays 200":                                 adminapi.Page[adminapi.Job]{},
	"GET /replays/{id} 200":                            adminapi.Job{},
	"POST /reconcile 202":                              adminapi.Job{},
	"POST /reconcile body":                             adminapi.ReconcileRequest{},
	"GET /reconcile-runs 200":                          adminapi.Page[adminapi.ReconcileRun]{},
	"GET /log 200":                                     adminapi.LogTree{},
	"GET /log/proof 200":                               adminapi.LogProofs{},
	"GET /log/consistency 200":                         adminapi.LogConsistency{},
	"GET /log/checkpoints 200":                         adminapi.Page[adminapi.Checkpoint]{},
	"GET /log/status 200":                              adminapi.LogStatus{},
	"POST /log/checkpoints 201":                        adminapi.CheckpointRequested{},
	"POST /log/checkpoints 200":                        adminapi.CheckpointRequested{},
	"POST /log/checkpoints body":                       struct{}{},
	"GET /openapi.json 200":                            nil, // the document itself
	"GET /events/live 200":                             nil, // text/event-stream; its data is the LiveEvent schema
	"GET /contracts/{tenant}/{id}/evidence 200":        nil, // a zip (operator) or an HTML report (viewer)
	"GET /endpoints 200":                               adminapi.Page[adminapi.Endpoint]{},
	"POST /endpoints 201":                              adminapi.EndpointCreated{},
	"POST /endpoints body":                             adminapi.EndpointRequest{},
	"GET /endpoints/{id} 200":                          adminapi.EndpointDetail{},
	"DELETE /endpoints/{id} 200":                       adminapi.Deleted{},
	"POST /endpoints/{id}/enable 200":                  adminapi.Endpoint{},
	"POST /endpoints/{id}/disable 200":                 adminapi.Endpoint{},
	"POST /endpoints/{id}/rotate-secret 200":           adminapi.SecretRotated{},
	"POST /endpoints/{id}/rotate-secret body":          adminapi.RotateSecretRequest{},
	"POST /endpoints/{id}/test 200":                    adminapi.EndpointTestResult{},
	"GET /endpoints/{id}/attempts 200":                 adminapi.Page[adminapi.EndpointAttempt]{},
	"GET /endpoints/{id}/dead-letters 200":             adminapi.Page[adminapi.EndpointDeadLetter]{},
	"POST /endpoints/{id}/dead-letters/retry 200":      adminapi.EndpointDeadLetterResult{},
	"POST /endpoints/{id}/dead-letters/retry body":     adminapi.EndpointDeadLetterRequest{},
	"POST /endpoints/{id}/dead-letters/purge 200":      adminapi.EndpointDeadLetterResult{},
	"POST /endpoints/{id}/dead-letters/purge body":     adminapi.EndpointDeadLetterRequest{},
	"POST /endpoints/{id}/replay 200":                  adminapi.EndpointReplayResult{},
	"POST /endpoints/{id}/replay body":                 adminapi.EndpointReplayRequest{},
	"component LiveEvent":                              adminapi.LiveEvent{},
	"component Error":                                  adminapi.ErrorBody{},
	"component ReplayReport (Job.report)":              adminapi.ReplayReport{},
	"component ReconcileRun (Overview.last_reconcile)": adminapi.ReconcileRun{},
	"component FailingCause (Overview.failing)":        adminapi.FailingCause{},
}

// rawAs names the type a json.RawMessage field holds when the document
// describes it (the other raw fields hold JSON as the source sent it).
var rawAs = map[string]reflect.Type{
	"adminapi.Job.report": reflect.TypeFor[adminapi.ReplayReport](),
}

// neverNull lists pointer fields the API never sends as null.
var neverNull = map[string]bool{"adminapi.ErrorBody.error": true}

// TestOpenAPIMatchesTheTypes: docs/admin-openapi.json describes the
// adminapi types field by field, for the answer and request body of every
// route and the error answers: every JSON field of a type is a property of
// its schema and every property a field; a required property is a field
// always sent (no omitempty) and, in an answer, a field always sent is
// required; a field sent as null is nullable in the schema; types match
// (string, integer, boolean, date-time, arrays, maps and objects, nested).
func TestOpenAPIMatchesTheTypes(t *testing.T) {
	var doc oaDoc
	if err := json.Unmarshal(docs.AdminOpenAPI, &doc); err != nil {
		t.Fatalf("docs/admin-openapi.json: %v", err)
	}
	c := &oaCheck{t: t, doc: &doc, used: map[string]bool{}}
	seen := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			key := strings.ToUpper(method) + " " + path
			for status, resp := range op.Responses {
				if resp.Ref != "" {
					name := strings.TrimPrefix(resp.Ref, "#/components/responses/")
					if _, ok := doc.Components.Responses[name]; !ok {
						t.Errorf("%s %s: no response %s", key, status, resp.Ref)
					}
					continue
				}
				k := key + " " + status
				seen[k] = true
				typ, ok := answerTypes[k]
				if !ok {
					t.Errorf("%s: the document describes an answer this test has no adminapi type for", k)
					continue
				}
				media, isJSON := resp.Content["application/json"]
				if typ == nil || !isJSON || media.Schema == nil {
					continue
				}
				c.compare(k, media.Schema, reflect.TypeOf(typ), true)
			}
			if op.RequestBody != nil {
				k := key + " body"
				seen[k] = true
				typ, ok := answerTypes[k]
				if !ok {
					t.Errorf("%s: the document describes a body this test has no adminapi type for", k)
				} else if media, isJSON := op.RequestBody.Content["application/json"]; isJSON && media.Schema != nil {
					c.compare(k, media.Schema, reflect.TypeOf(typ), false)
				}
			}
		}
	}
	for name, resp := range doc.Components.Responses {
		media, ok := resp.Content["application/json"]
		if !ok || media.Schema == nil {
			t.Errorf("response %s: no JSON schema", name)
			continue
		}
		c.compare("response "+name, media.Schema, reflect.TypeFor[adminapi.ErrorBody](), true)
	}
	for k, typ := range answerTypes {
		name, ok := strings.CutPrefix(k, "component ")
		if !ok {
			if !seen[k] {
				t.Errorf("%s: in this test, not in the document", k)
			}
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		c.compare(k, &oaSchema{Ref: "#/components/schemas/" + name}, reflect.TypeOf(typ), true)
	}
	var unused []string
	for name := range doc.Components.Schemas {
		if !c.used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("component schemas no route uses and no type is checked against: %v", unused)
	}
}

// oaCheck compares schemas with Go types.
type oaCheck struct {
	t    *testing.T
	doc  *oaDoc
	used map[string]bool // component schemas reached
}

// resolve follows $ref, merges allOf and picks the non-null branch of a
// oneOf; nullable reports whether null is allowed.
func (c *oaCheck) resolve(where string, s *oaSchema) (out *oaSchema, nullable bool) {
	for {
		switch {
		case s == nil:
			return nil, false
		case s.Ref != "":
			name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
			r, ok := c.doc.Components.Schemas[name]
			if !ok {
				c.t.Errorf("%s: no schema %s", where, s.Ref)
				return nil, nullable
			}
			c.used[name] = true
			s = r
		case len(s.OneOf) > 0:
			var rest []*oaSchema
			for _, o := range s.OneOf {
				if slices.Equal(o.types(), []string{"null"}) {
					nullable = true
				} else {
					rest = append(rest, o)
				}
			}
			if len(rest) != 1 {
				c.t.Errorf("%s: a oneOf of %d non-null schemas", where, len(rest))
				return nil, nullable
			}
			s = rest[0]
		case len(s.AllOf) > 0:
			m := &oaSchema{Type: "object", Properties: map[string]*oaSchema{}}
			for _, part := range s.AllOf {
				p, _ := c.resolve(where, part)
				if p == nil {
					continue
				}
				for k, v := range p.Properties {
					m.Properties[k] = v
				}
				m.Required = append(m.Required, p.Required...)
			}
			s = m
		default:
			return s, nullable || slices.Contains(s.types(), "null")
		}
	}
}

// jsonField is one JSON field of a struct.
type jsonField struct {
	name      string
	typ       reflect.Type
	omitEmpty bool
}

// fieldsOf lists the JSON fields of struct type t as encoding/json sees
// them (embedded structs flattened, "-" skipped).
func fieldsOf(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, fieldsOf(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		out = append(out, jsonField{name: name, typ: f.Type, omitEmpty: omit})
	}
	return out
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// compare checks schema s against Go type t at where; answer says t is
// sent by the API (required then means "always sent").
func (c *oaCheck) compare(where string, s *oaSchema, t reflect.Type, answer bool) {
	s, _ = c.resolve(where, s)
	if s == nil {
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want := func(types ...string) {
		got := s.types()
		for _, w := range types {
			if slices.Contains(got, w) {
				return
			}
		}
		c.t.Errorf("%s: schema type %v, want %v for Go %s", where, got, types, t)
	}
	switch {
	case t == rawType:
		return // JSON as the source sent it
	case t == timeType:
		want("string")
		if s.Format != "date-time" {
			c.t.Errorf("%s: a time without format date-time", where)
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		want("string")
	case reflect.Bool:
		want("boolean")
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32, reflect.Uint:
		want("integer")
	case reflect.Float64, reflect.Float32:
		want("number")
	case reflect.Slice:
		want("array")
		if s.Items == nil {
			c.t.Errorf("%s: an array without items", where)
			return
		}
		c.compare(where+"[]", s.Items, t.Elem(), answer)
	case reflect.Map:
		want("object")
		if s.AdditionalProperties == nil {
			c.t.Errorf("%s: a map without additionalProperties", where)
			return
		}
		c.compare(where+"{}", s.AdditionalProperties, t.Elem(), answer)
	case reflect.Struct:
		want("object")
		c.compareStruct(where, s, t, answer)
	case reflect.Interface:
	default:
		c.t.Errorf("%s: Go %s has no check", where, t)
	}
}

func (c *oaCheck) compareStruct(where string, s *oaSchema, t reflect.Type, answer bool) {
	fields := fieldsOf(t)
	byName := map[string]jsonField{}
	for _, f := range fields {
		byName[f.name] = f
	}
	for name := range s.Properties {
		if _, ok := byName[name]; !ok {
			c.t.Errorf("%s: schema property %q is not a field of %s", where, name, t)
		}
	}
	for _, f := range fields {
		fw := where + "." + f.name
		p, ok := s.Properties[f.name]
		if !ok {
			c.t.Errorf("%s: field %q of %s is not in the schema", where, f.name, t)
			continue
		}
		required := slices.Contains(s.Required, f.name)
		switch {
		case required && f.omitEmpty:
			c.t.Errorf("%s: required, but %s may leave it out (omitempty)", fw, t)
		case answer && !required && !f.omitEmpty:
			c.t.Errorf("%s: always sent, but not required in the schema", fw)
		}
		key := t.String() + "." + f.name
		if f.typ.Kind() == reflect.Pointer && !f.omitEmpty && answer && !neverNull[key] {
			if _, nullable := c.resolve(fw, p); !nullable {
				c.t.Errorf("%s: sent as null when unset, but the schema does not allow null", fw)
			}
		}
		if as, ok := rawAs[key]; ok {
			c.compare(fw, p, as, answer)
			continue
		}
		c.compare(fw, p, f.typ, answer)
	}
}
