package adminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/adminapi"
)

// TestImportsStandardLibraryOnly: the contract package depends on no
// other package of the module (not admin, not internal/, no stage) and no
// third-party module, so any Go program can import it.
func TestImportsStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: the contract package imports the standard library only", name, p)
			}
		}
	}
}

// fakeAPI answers like the admin API: two pages of contracts, a 404 in
// the error shape, a 502 that is not, and it records the requests.
func fakeAPI(t *testing.T) (*httptest.Server, *[]*http.Request) {
	t.Helper()
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch r.URL.Path {
		case "/api/v1/contracts":
			p := adminapi.Page[adminapi.Contract]{Items: []adminapi.Contract{{Tenant: "default", ID: "c1"}, {Tenant: "default", ID: "c2"}}}
			if r.URL.Query().Get("cursor") == "" {
				p.NextCursor = "next"
			} else {
				p.Items = []adminapi.Contract{{Tenant: "default", ID: "c3"}}
			}
			_ = json.NewEncoder(w).Encode(p)
		case "/api/v1/contracts/default/c%2F1", "/api/v1/contracts/default/c/1":
			_ = json.NewEncoder(w).Encode(adminapi.ContractDetail{Contract: adminapi.Contract{Tenant: "default", ID: "c/1"}})
		case "/api/v1/dead-letters/7/purge":
			var body adminapi.PurgeRequest
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Reason != "why" {
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(adminapi.ErrorBody{Error: &adminapi.Error{Code: adminapi.CodeBadRequest, Message: "reason"}})
				return
			}
			_ = json.NewEncoder(w).Encode(adminapi.PurgeResult{Purged: 1})
		case "/api/v1/overview":
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
		default:
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(adminapi.ErrorBody{Error: &adminapi.Error{Code: adminapi.CodeNotFound, Message: "no such thing"}})
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestClient(t *testing.T) {
	srv, seen := fakeAPI(t)
	ctx := context.Background()
	for _, u := range []string{srv.URL, srv.URL + "/", srv.URL + "/api/v1"} {
		c, err := adminapi.NewClient(adminapi.ClientOptions{URL: u, Token: "tok-0123456789abcdef"})
		if err != nil {
			t.Fatal(err)
		}
		if c.URL() != srv.URL {
			t.Errorf("URL() = %q, want %q", c.URL(), srv.URL)
		}
	}
	c, _ := adminapi.NewClient(adminapi.ClientOptions{URL: srv.URL, Token: "tok-0123456789abcdef"})

	t.Run("Collect", func(t *testing.T) {
		all, more, err := adminapi.Collect(ctx, c.Contracts, url.Values{"tenant": {"default"}}, 0)
		if err != nil || more || len(all) != 3 || all[2].ID != "c3" {
			t.Fatalf("all = %+v %v %v", all, more, err)
		}
		two, more, err := adminapi.Collect(ctx, c.Contracts, nil, 2)
		if err != nil || !more || len(two) != 2 {
			t.Fatalf("two = %+v %v %v", two, more, err)
		}
		last := (*seen)[len(*seen)-1]
		if got := last.Header.Get("Authorization"); got != "Bearer tok-0123456789abcdef" {
			t.Errorf("Authorization = %q", got)
		}
		if last.URL.Query().Get("limit") != "3" {
			t.Errorf("limit = %q, want one more than asked", last.URL.Query().Get("limit"))
		}
	})
	t.Run("PathEscaped", func(t *testing.T) {
		d, err := c.Contract(ctx, "default", "c/1")
		if err != nil || d.ID != "c/1" {
			t.Fatalf("contract = %+v %v", d, err)
		}
	})
	t.Run("Body", func(t *testing.T) {
		if r, err := c.PurgeDeadLetter(ctx, 7, "why"); err != nil || r.Purged != 1 {
			t.Fatalf("purge = %+v %v", r, err)
		}
		_, err := c.PurgeDeadLetter(ctx, 7, "")
		var e *adminapi.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != adminapi.CodeBadRequest {
			t.Fatalf("purge without a reason = %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := c.DeadLetter(ctx, 9)
		var e *adminapi.Error
		if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Code != adminapi.CodeNotFound || e.Message != "no such thing" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("ErrNotTheErrorShape", func(t *testing.T) {
		_, err := c.Overview(ctx)
		var e *adminapi.Error
		if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "HTTP 502") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrTransport", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		dc, _ := adminapi.NewClient(adminapi.ClientOptions{URL: down.URL, Token: "t"})
		_, err := dc.Overview(ctx)
		var te *adminapi.TransportError
		if !errors.As(err, &te) || te.Path != "/overview" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrOptions", func(t *testing.T) {
		for _, o := range []adminapi.ClientOptions{{URL: "127.0.0.1:8082", Token: "t"}, {URL: "ftp://x", Token: "t"}, {URL: srv.URL}} {
			if _, err := adminapi.NewClient(o); err == nil {
				t.Errorf("NewClient(%+v) accepted", o)
			}
		}
	})
}
