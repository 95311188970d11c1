package admin

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/qyshook/qyshook/adminapi"
)

// TestContractIDWithSlash: an id holding '/' (or '%', '?', '#', ' ') is
// listed and can be opened, with its facts, at its escaped path (issue 21:
// the listing showed it and GET …/a%2Fb answered 404). Failed before.
func TestContractIDWithSlash(t *testing.T) {
	f := newFixture(t)
	ids := []string{"a/b", "x/../y", "50%off", "q?x#y", "a b"}
	for _, id := range ids {
		MustApply(t, f.ledger, "default", id, "SIGNING", base)
	}
	for _, id := range ids {
		var c adminapi.ContractDetail
		p := "/contracts/default/" + url.PathEscape(id)
		if st := f.get(t, operatorToken, p, &c); st != http.StatusOK || c.ID != id {
			t.Errorf("GET %s = %d, id %q", p, st, c.ID)
		}
		var facts adminapi.Page[adminapi.Fact]
		if st := f.get(t, viewerToken, p+"/facts", &facts); st != http.StatusOK {
			t.Errorf("GET %s/facts = %d", p, st)
		}
	}
	// A '/' that is not escaped is still a path separator.
	f.wantError(t, http.MethodGet, operatorToken, "/contracts/default/a/b", http.StatusNotFound, adminapi.CodeNotFound)
}
