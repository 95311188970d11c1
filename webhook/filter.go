package webhook

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// MatchType reports whether a fact whose subject, below
// "qys.ledger.<tenant>.", is rel (e.g. "contract.COMPLETE",
// "documents.archived") is selected by types: NATS subject patterns over
// the same tokens ("contract.*", "certification.>", "contract.COMPLETE").
// No types selects every fact. Matching is nats-server's own (already in
// every binary through the embedded server).
func MatchType(types []string, rel string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if server.SubjectMatchesFilter(rel, t) {
			return true
		}
	}
	return false
}

// CheckTypes validates fact filters: dot-separated tokens of letters,
// digits, '-', '_' or the wildcards '*' and a final '>'.
func CheckTypes(types []string) error {
	for _, t := range types {
		toks := strings.Split(t, ".")
		for i, tok := range toks {
			ok := tok != ""
			for _, c := range tok {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
					ok = false
				}
			}
			if tok == "*" || (tok == ">" && i == len(toks)-1) {
				ok = true
			}
			if !ok {
				return fmt.Errorf("webhook: fact type %q: want subject tokens such as contract.COMPLETE, contract.* or certification.>", t)
			}
		}
	}
	return nil
}
