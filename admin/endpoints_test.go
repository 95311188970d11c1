package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/webhook"
)

// TestEndpointsAPI: a private address is refused by default (400 naming
// allow_private), an http URL without allow_http too; reads never show a
// secret; an asymmetric endpoint's answer is its whpk_ public key, and a
// test fact verifies with it; a rotation makes two signatures.
func TestEndpointsAPI(t *testing.T) {
	f, a := newWriteFixture(t, nil)
	a.o.PrivateTenants = []string{"lan"}
	var mu sync.Mutex
	var headers []http.Header
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		headers, bodies = append(headers, r.Header.Clone()), append(bodies, b)
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer recv.Close()
	op := operatorToken
	st, raw := f.send(t, "POST", op, "/endpoints", adminapi.EndpointRequest{Tenant: "default", URL: recv.URL, AllowHTTP: true})
	if st != 400 || !strings.Contains(string(raw), "allow_private") {
		t.Fatalf("a loopback URL: %d %s", st, raw)
	}
	st, raw = f.send(t, "POST", op, "/endpoints", adminapi.EndpointRequest{Tenant: "lan", URL: recv.URL, AllowHTTP: true})
	if st != 201 || !strings.Contains(string(raw), `"allow_private":true`) {
		t.Fatalf("a tenant allowed private addresses: %d %s", st, raw)
	}
	st, raw = f.send(t, "POST", op, "/endpoints", adminapi.EndpointRequest{Tenant: "default", URL: "http://erp.example.com/"})
	if st != 400 || !strings.Contains(string(raw), "https is required") {
		t.Fatalf("plain http: %d %s", st, raw)
	}
	st, raw = f.send(t, "POST", op, "/endpoints", adminapi.EndpointRequest{Tenant: "default", URL: recv.URL,
		AllowPrivate: true, AllowHTTP: true, Asymmetric: true, Headers: map[string]string{"Authorization": "Bearer erp-token"}})
	var created adminapi.EndpointCreated
	if st != 201 || json.Unmarshal(raw, &created) != nil || !strings.HasPrefix(created.Secret, webhook.PublicKeyPrefix) {
		t.Fatalf("asymmetric endpoint: %d %s", st, raw)
	}
	id := created.Endpoint.ID
	for _, path := range []string{"/endpoints", "/endpoints/" + id} {
		_, raw := f.send(t, "GET", op, path, nil)
		if strings.Contains(string(raw), "whsk_") || strings.Contains(string(raw), "whsec_") || strings.Contains(string(raw), "erp-token") {
			t.Fatalf("GET %s shows a secret: %s", path, raw)
		}
	}
	if st, raw := f.send(t, "POST", op, "/endpoints/"+id+"/test", nil); st != 200 || !strings.Contains(string(raw), `"ok":true`) {
		t.Fatalf("test: %d %s", st, raw)
	}
	var rot adminapi.SecretRotated
	st, raw = f.send(t, "POST", op, "/endpoints/"+id+"/rotate-secret", adminapi.RotateSecretRequest{Overlap: "1h"})
	if st != 200 || json.Unmarshal(raw, &rot) != nil || rot.Signatures != 2 || !strings.HasPrefix(rot.Secret, webhook.PublicKeyPrefix) {
		t.Fatalf("rotate: %d %s", st, raw)
	}
	if st, _ := f.send(t, "POST", op, "/endpoints/"+id+"/test", nil); st != 200 {
		t.Fatal("second test")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(headers) != 2 {
		t.Fatalf("%d test requests", len(headers))
	}
	if err := webhook.Verify(created.Secret, headers[0], bodies[0], time.Now()); err != nil {
		t.Fatalf("the test fact does not verify with the public key: %v", err)
	}
	if headers[0].Get("Authorization") != "Bearer erp-token" {
		t.Fatal("the extra header was not sent")
	}
	for _, pk := range []string{created.Secret, rot.Secret} {
		if err := webhook.Verify(pk, headers[1], bodies[1], time.Now()); err != nil {
			t.Fatalf("after the rotation, %s…: %v", pk[:10], err)
		}
	}
}

// TestEndpointURLRedactedForViewers reproduces "a viewer receives
// endpoint URLs with their query credentials": a viewer reading the
// endpoints (list and one) gets the URL without its query; an operator
// gets it whole. Failed before: the viewer got ?token=… as stored.
func TestEndpointURLRedactedForViewers(t *testing.T) {
	f, a := newWriteFixture(t, nil)
	a.o.PrivateTenants = []string{"lan"}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer recv.Close()
	const secret = "s3cr3t-query-token"
	u := recv.URL + "/hook?token=" + secret + "&x=1"
	st, raw := f.send(t, "POST", operatorToken, "/endpoints", adminapi.EndpointRequest{Tenant: "lan", URL: u, AllowHTTP: true})
	var created adminapi.EndpointCreated
	if st != 201 || json.Unmarshal(raw, &created) != nil {
		t.Fatalf("create: %d %s", st, raw)
	}
	id := created.Endpoint.ID
	for _, path := range []string{"/endpoints", "/endpoints/" + id} {
		st, raw := f.send(t, "GET", viewerToken, path, nil)
		if st != 200 || strings.Contains(string(raw), secret) || !strings.Contains(string(raw), `"url":"`+recv.URL+`/hook?token=REDACTED`) {
			t.Errorf("viewer GET %s: %d %s; want the URL with its query redacted", path, st, raw)
		}
		st, raw = f.send(t, "GET", operatorToken, path, nil)
		if st != 200 || !strings.Contains(string(raw), secret) {
			t.Errorf("operator GET %s: %d %s; want the URL whole", path, st, raw)
		}
	}
}
