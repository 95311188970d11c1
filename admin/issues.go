package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// The grouping of dead letters into issues, and the "failing now" causes.

// maxIssueContracts bounds the contract ids an issue lists.
const maxIssueContracts = 20

// apiErrRE reads a qys.APIError's text: "qys: <path>: code <n> (http <s>): <message>".
var apiErrRE = regexp.MustCompile(`qys: (/[^\s:]*): code (-?\d+) \(http (\d+)\)`)

// cause is what a dead letter's stored reason says, split.
type cause struct {
	reason, endpoint, code, text string
}

// causeOf splits a stored reason ("<reason>: <error text>").
func causeOf(stored string) cause {
	reason, text, _ := strings.Cut(stored, ": ")
	c := cause{reason: reason, text: text}
	if m := apiErrRE.FindStringSubmatch(text); m != nil {
		c.endpoint = m[1]
		c.code = m[2]
		if c.code == "0" {
			c.code = "http " + m[3]
		}
	}
	return c
}

// hintOf names a known cause: wrong credentials, rate limit, unknown
// contract, platform unreachable; "" otherwise.
func hintOf(reason, code, text string) string {
	upper := strings.ToUpper(text)
	switch {
	case strings.Contains(reason, "rate_limited") || code == "11990006" || code == "http 429":
		return "rate_limit"
	case code == "441" || code == "442" || code == "http 401" || code == "http 403" ||
		strings.Contains(upper, "INVALID SIGNATURE") || strings.Contains(upper, "INVALID TOKEN"):
		return "credentials"
	case strings.Contains(reason, "contract_not_found"):
		return "unknown_contract"
	case strings.Contains(reason, "timeout") || strings.Contains(reason, "api_error") && code == "" ||
		strings.Contains(text, "connection refused") ||
		strings.Contains(text, "no such host") || strings.Contains(text, "i/o timeout"):
		return "unreachable"
	}
	return ""
}

// issueKey is the key of a dead letter's issue: a short hash of what
// groups it.
func issueKey(d *store.DeadLetter) string {
	c := causeOf(d.Reason)
	h := sha256.Sum256([]byte(strings.Join([]string{c.reason, c.endpoint, c.code, d.Tenant, d.Consumer}, "\x00")))
	return hex.EncodeToString(h[:6])
}

// envelopeOf decodes a dead letter's payload (nil when it is not an
// envelope).
func envelopeOf(d *store.DeadLetter) *events.Envelope {
	if len(d.Payload) == 0 {
		return nil
	}
	e, err := events.Decode(d.Payload)
	if err != nil {
		return nil
	}
	return e
}

// listDeadLetterIssues: GET /dead-letters/issues?tenant=, the dead
// letters grouped by cause, the largest group first.
func (a *API) listDeadLetterIssues(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "tenant")
	if err != nil {
		return err
	}
	tenant, err := tenantParam(q, false)
	if err != nil {
		return err
	}
	all, err := a.o.Ledger.DeadLetters(r.Context(), maxScan)
	if err != nil {
		return err
	}
	// The error text is masked for viewers with the whole answer
	// (maskingWriter).
	type group struct {
		v         adminapi.DeadLetterIssue
		contracts map[string]bool
	}
	groups := map[string]*group{}
	var order []string
	for i := range all {
		d := &all[i]
		if tenant != "" && d.Tenant != tenant {
			continue
		}
		k := issueKey(d)
		g := groups[k]
		c := causeOf(d.Reason)
		if g == nil {
			g = &group{v: adminapi.DeadLetterIssue{Key: k, Reason: c.reason, Endpoint: c.endpoint, Code: c.code,
				Tenant: d.Tenant, Consumer: d.Consumer, FirstSeen: d.CreatedAt.UTC(), LastSeen: d.CreatedAt.UTC(),
				Contracts: []string{}, Hint: hintOf(c.reason, c.code, c.text)}, contracts: map[string]bool{}}
			groups[k] = g
			order = append(order, k)
		}
		g.v.Count++
		if t := d.CreatedAt.UTC(); t.Before(g.v.FirstSeen) {
			g.v.FirstSeen = t
		} else if !t.Before(g.v.LastSeen) {
			g.v.LastSeen = t
			g.v.Error = c.text
		}
		if g.v.Error == "" {
			g.v.Error = c.text
		}
		if e := envelopeOf(d); e != nil && e.ContractID != "" && !g.contracts[e.ContractID] {
			g.contracts[e.ContractID] = true
			if len(g.v.Contracts) < maxIssueContracts {
				g.v.Contracts = append(g.v.Contracts, e.ContractID)
			}
		}
	}
	items := make([]adminapi.DeadLetterIssue, 0, len(order))
	for _, k := range order {
		g := groups[k]
		g.v.ContractsAffected = len(g.contracts)
		items = append(items, g.v)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Count > items[j].Count })
	writeJSON(w, http.StatusOK, adminapi.Page[adminapi.DeadLetterIssue]{Items: items})
	return nil
}

// failingNow is the overview's "failing now": the tracker's causes, and
// the degraded note while the platform fails. The last errors are masked
// for viewers with the whole answer (maskingWriter).
func (a *API) failingNow(v *adminapi.Overview) {
	v.Failing = []adminapi.FailingCause{}
	t := a.o.Failures
	if t == nil {
		return
	}
	for _, c := range t.Causes() {
		v.Failing = append(v.Failing, adminapi.FailingCause{Tenant: c.Tenant, Reason: c.Reason, Code: c.Code,
			Failures: c.Failures, FirstSeen: c.FirstSeen.UTC(), LastSeen: c.LastSeen.UTC(),
			LastError: c.LastError, Platform: c.Platform(), Hint: hintOf(c.Reason, c.Code, c.LastError)})
	}
	if since, ok := t.PlatformFailing(); ok {
		s := since.UTC()
		v.DegradedSince = &s
		v.Degraded = "platform API failing for " + strconv.Itoa(int(t.Now().Sub(since)/time.Second)) + " s"
	}
}
