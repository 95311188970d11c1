package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/qyshook/qyshook/store"
)

// keepAnswers stores, in tx, the detail answer of each confirmed row in
// rs (table contract_answers, keyed by the answer's SHA-256: the
// body_sha256 of the row's leaf), one statement per chunk; an answer kept
// before is left as it is. Rows not confirmed or without a detail are
// skipped: their detail is a callback's, not an API answer.
func (s *DB) keepAnswers(ctx context.Context, tx *sql.Tx, rs ...*store.Contract) error {
	args := make([]any, 0, 5*len(rs))
	seen := make(map[[3]string]bool, len(rs))
	now := s.timeArg(s.now())
	for _, r := range rs {
		if r == nil || !r.Confirmed || len(r.Detail) == 0 {
			continue
		}
		sum := sha256.Sum256(r.Detail)
		h := hex.EncodeToString(sum[:])
		if k := [3]string{r.Tenant, r.ID, h}; !seen[k] {
			seen[k] = true
			args = append(args, r.Tenant, r.ID, h, jsonArg(r.Detail), now)
		}
	}
	n := len(args) / 5
	err := chunks(n, 5, func(lo, hi int) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO contract_answers (tenant, contract_id, sha256, answer, first_at)
			VALUES `+rows(hi-lo, 5)+` ON CONFLICT DO NOTHING`), args[5*lo:5*hi]...)
		return err
	})
	if err != nil {
		return fmt.Errorf("keep contract answers: %w", err)
	}
	return nil
}

// ContractAnswers implements store.EvidenceStore.
func (s *DB) ContractAnswers(ctx context.Context, tenant, contractID string) ([]store.ContractAnswer, error) {
	op := "answers of " + refName(tenant, contractID)
	rs, err := s.reader.QueryContext(ctx, s.q(`SELECT sha256, answer, first_at FROM contract_answers
		WHERE tenant = ? AND contract_id = ? ORDER BY first_at, sha256`), tenant, contractID)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rs.Close()
	var out []store.ContractAnswer
	for rs.Next() {
		var a store.ContractAnswer
		var answer []byte
		if err := rs.Scan(&a.SHA256, &answer, timeCol{&a.FirstAt}); err != nil {
			return nil, s.fail(op, err)
		}
		a.Answer = answer
		out = append(out, a)
	}
	if err := rs.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}
