package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/qys/qystest"
)

// volume adds n contracts through the fake and waits for them.
func (s *stack) volume(t *testing.T, n int) (total int64) {
	t.Helper()
	for i := 0; i < n; i++ {
		id := s.fake.AddContract(qystest.ContractSpec{Subject: fmt.Sprintf("批量合同 %03d", i), Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "上海某某科技有限公司", Contact: "13900001111"}}})
		if err := s.fake.Send(id); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.fake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var before adminapi.ContractPage
	waitFor(t, "the batch in the ledger", func() bool {
		var p adminapi.ContractPage
		if s.apiGet(t, "/contracts?total=true&subject=批量合同", &p) != http.StatusOK || p.Total == nil || *p.Total != int64(n) {
			return false
		}
		s.apiGet(t, "/contracts?total=true", &before)
		return true
	})
	return *before.Total
}

// testVolume reproduces "a few thousand contracts is a 60-click More
// scroll": the list shows the total, pages by the size chosen (next and
// previous), filters by date and status from the form, finds an id by
// its first characters and copies ids.
func testVolume(t *testing.T, ctx context.Context, s *stack) {
	total := s.volume(t, 25)
	base := s.admin
	pages := (total + 19) / 20
	do(t, ctx, "contracts by 20", chromedp.Navigate(base+"/console/contracts?limit=20"), chromedp.WaitVisible(css(".contract-row")))
	poll(t, ctx, `document.querySelector('#contracts-total').textContent !== ''`)
	if tot, info := text(t, ctx, "#contracts-total"), text(t, ctx, "#page-info"); tot != fmt.Sprintf("%d contracts", total) || info != fmt.Sprintf("page 1 of %d", pages) {
		t.Errorf("total %q, page %q; want %d contracts, %d pages", tot, info, total, pages)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('.contract-row').length`); n != 20 {
		t.Errorf("%d rows on a page of 20", n)
	}
	first := eval[string](t, ctx, `document.querySelector('.contract-row a.contract-link').textContent`)
	do(t, ctx, "next page", chromedp.Click(css("#page-next")))
	poll(t, ctx, `document.querySelector('#page-info').textContent === 'page 2 of `+fmt.Sprint(pages)+`'`)
	if got := eval[string](t, ctx, `document.querySelector('.contract-row a.contract-link').textContent`); got == first {
		t.Errorf("page 2 starts with page 1's first row %s", got)
	}
	do(t, ctx, "previous page", chromedp.Click(css("#page-prev")))
	poll(t, ctx, `document.querySelector('#page-info').textContent === 'page 1 of `+fmt.Sprint(pages)+`'`)
	shot(t, ctx, "contracts")
	// Prefix search: the first characters of an id.
	prefix := first[:len(first)-3]
	do(t, ctx, "prefix search", chromedp.Navigate(base+"/console/contracts?id_prefix="+prefix), chromedp.WaitVisible(css(".contract-row")))
	poll(t, ctx, `document.querySelector('#contracts-total').textContent !== ''`)
	ids := eval[[]string](t, ctx, `[...document.querySelectorAll('.contract-row a.contract-link')].map(a => a.textContent)`)
	if len(ids) == 0 || !contains(ids, first) {
		t.Errorf("prefix %s: %v, want %s among them", prefix, ids, first)
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, prefix) {
			t.Errorf("prefix %s found %s", prefix, id)
		}
	}
	// Dates: from tomorrow finds nothing, from today everything.
	tomorrow := time.Now().Add(24 * time.Hour).Format("2006-01-02")
	do(t, ctx, "from tomorrow", chromedp.Navigate(base+"/console/contracts?from="+tomorrow), chromedp.WaitVisible(css("#contracts tr.empty")))
	if v := get(t, ctx, "date field", chromedp.Value(css("#f-from"))); v != tomorrow {
		t.Errorf("from field %q after the search", v)
	}
	yesterday := time.Now().Add(-24 * time.Hour).Format("2006-01-02")
	do(t, ctx, "from yesterday, signing", chromedp.Navigate(base+"/console/contracts?status=SIGNING&from="+yesterday), chromedp.WaitVisible(css(".contract-row")))
	poll(t, ctx, `document.querySelector('#contracts-total').textContent !== ''`)
	statuses := eval[[]string](t, ctx, `[...document.querySelectorAll('.contract-row .badge')].map(b => b.title)`)
	for _, st := range statuses {
		if st != "SIGNING" {
			t.Errorf("status filter SIGNING lists a %s", st)
		}
	}
	if v := get(t, ctx, "status field", chromedp.Value(css("#f-status"))); v != "SIGNING" {
		t.Errorf("status field %q", v)
	}
	// Copy an id: the button says so.
	do(t, ctx, "copy", chromedp.Click(css(".contract-row button.copy")))
	poll(t, ctx, `document.querySelector('.contract-row button.copy').textContent === 'Copied'`)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// testAudit: the audit trail has a page; the retries, the group's dry
// run and the purge are in it.
func testAudit(t *testing.T, ctx context.Context, s *stack) {
	do(t, ctx, "audit", chromedp.Navigate(s.admin+"/console/audit"), chromedp.WaitVisible(css(".audit-row")))
	rows := text(t, ctx, "#audit tbody")
	for _, want := range []string{"POST /dead-letters/{id}/retry", "POST /dead-letters/retry", "dry_run", "POST /dead-letters/{id}/purge", "operator:"} {
		if !strings.Contains(rows, want) {
			t.Errorf("audit page has no %q", want)
		}
	}
	shot(t, ctx, "audit")
}

// testNarrow reproduces "at 390–500 px the layout overflows (Sign out
// outside the header)": at 390 px the page does not scroll sideways and
// Sign out sits inside the header, on the overview, the contracts and the
// dead letters.
func testNarrow(t *testing.T, ctx context.Context, s *stack) {
	do(t, ctx, "390 px", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	defer do(t, ctx, "reset", chromedp.EmulateViewport(1360, 900))
	for _, p := range []string{"/console/", "/console/contracts", "/console/dead-letters", "/console/audit"} {
		do(t, ctx, p, chromedp.Navigate(s.admin+p), chromedp.WaitVisible(css("#logout")), chromedp.Sleep(300*time.Millisecond))
		over := eval[int](t, ctx, `document.documentElement.scrollWidth - document.documentElement.clientWidth`)
		inside := eval[bool](t, ctx, `(() => { const h = document.querySelector('header.top').getBoundingClientRect(), b = document.querySelector('#logout').getBoundingClientRect();
			return b.left >= h.left && b.right <= h.right && b.top >= h.top && b.bottom <= h.bottom && b.right <= window.innerWidth; })()`)
		if over > 0 || !inside {
			t.Errorf("%s at 390 px: %d px of sideways overflow, Sign out inside the header: %v", p, over, inside)
		}
		if p == "/console/" {
			shot(t, ctx, "overview-390")
		}
	}
}

// testSessionExpiry: with the session gone (expired or revoked), a page
// sends the browser to the sign-in page with a message, and signing in
// returns to that page.
func testSessionExpiry(t *testing.T, ctx context.Context, s *stack) {
	do(t, ctx, "a stale session", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: admin.SessionCookie, Value: "expired-session-value-0123456789",
			URL: s.admin + "/", HTTPOnly: new(true)})
		return err
	}))
	page := "/console/contracts?status=SIGNING"
	do(t, ctx, "open a page", chromedp.Navigate(s.admin+page), chromedp.WaitVisible(css("#login-notice")))
	if n := text(t, ctx, "#login-notice"); !strings.Contains(n, "session has expired") {
		t.Errorf("notice %q", n)
	}
	shot(t, ctx, "login-expired")
	do(t, ctx, "sign in again", chromedp.SendKeys(css("#token"), bOperator), chromedp.Click(css("#login-submit")), chromedp.WaitVisible(css("#contracts")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, page) {
		t.Errorf("after signing in: %s, want %s", loc, page)
	}
}
