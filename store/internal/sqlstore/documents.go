package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// The documents table is also the archive queue (migration 0004): a row
// is pending, archived or failed, with its attempts, last error, next
// attempt time and the lease of the archiver working it.

const documentCols = `tenant, id, contract_id, title, sha256, size, path, fetched_at,
	archive_state, attempts, last_error, next_attempt_at, last_attempt_at, lease_owner, lease_until,
	verify_verdict, verify_signatures, verified_at, verify_problem, generation,
	validation_sha256, validation_path, validation_status, discrepancies`

func scanDocument(sc interface{ Scan(...any) error }, d *store.Document) error {
	return sc.Scan(&d.Tenant, &d.ID, &d.ContractID, &d.Title, &d.SHA256, &d.Size, &d.Path,
		nullTimeCol{&d.FetchedAt}, &d.ArchiveState, &d.Attempts, &d.LastError,
		nullTimeCol{&d.NextAttemptAt}, nullTimeCol{&d.LastAttemptAt}, &d.LeaseOwner, nullTimeCol{&d.LeaseUntil},
		&d.VerifyVerdict, &d.VerifySignatures, nullTimeCol{&d.VerifiedAt}, &d.VerifyProblem, &d.Generation,
		&d.ValidationSHA256, &d.ValidationPath, &d.ValidationStatus, &d.Discrepancies)
}

func (s *DB) documents(ctx context.Context, q querier, tenant, contractID string) ([]store.Document, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT `+documentCols+`
		FROM documents WHERE tenant = ? AND contract_id = ? ORDER BY id`), tenant, contractID)
	if err != nil {
		return nil, fmt.Errorf("select documents: %w", err)
	}
	return collectDocuments(rows)
}

func collectDocuments(rows *sql.Rows) ([]store.Document, error) {
	defer rows.Close()
	var out []store.Document
	for rows.Next() {
		var d store.Document
		if err := scanDocument(rows, &d); err != nil {
			return nil, fmt.Errorf("scan document: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// queueDocuments marks the contract's documents that are not archived
// (never queued, or failed) pending and due now, inside the transaction
// that commits the contract.
func (s *DB) queueDocuments(ctx context.Context, tx *sql.Tx, tenant, contractID string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE documents SET archive_state = 'pending',
		attempts = 0, next_attempt_at = ?, lease_owner = '', lease_until = NULL
		WHERE tenant = ? AND contract_id = ? AND archive_state IN ('', 'failed')`),
		s.timeArg(now), tenant, contractID); err != nil {
		return fmt.Errorf("queue documents: %w", err)
	}
	return nil
}

// refreshDocuments queues the named documents of a contract again even
// when archived, raising their generation (store.ContractChange's
// RefreshDocuments), inside the transaction that commits the contract.
func (s *DB) refreshDocuments(ctx context.Context, tx *sql.Tx, tenant, contractID string, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{s.timeArg(now), tenant, contractID}
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE documents SET archive_state = 'pending',
		attempts = 0, next_attempt_at = ?, lease_owner = '', lease_until = NULL, generation = generation + 1
		WHERE tenant = ? AND contract_id = ? AND id IN (`+placeholders(len(ids))+`)`), args...); err != nil {
		return fmt.Errorf("refresh documents: %w", err)
	}
	return nil
}

// ArchiveDocument implements store.Ledger. The upsert changes the row
// only when the hash differs or the row is not yet archived (ON CONFLICT
// … DO UPDATE … WHERE), and only then are the facts written, in the same
// transaction. Empty contract id or title keep the stored ones.
func (s *DB) ArchiveDocument(ctx context.Context, tenant string, doc store.Document, facts []store.Fact) (bool, error) {
	if doc.ID == "" || doc.SHA256 == "" {
		return false, fmt.Errorf("ledger: archive document %q: id and sha256 are required", doc.ID)
	}
	now := s.now()
	fetched := now
	if doc.FetchedAt != nil && !doc.FetchedAt.IsZero() {
		fetched = *doc.FetchedAt
	}
	// An archiver (doc.LeaseOwner set) records only a row still to be
	// archived and still of the generation it claimed: once another
	// archiver has archived it, or a later state queued it again
	// (refreshDocuments), a late success changes nothing.
	leased := ""
	if doc.LeaseOwner != "" {
		leased = ` AND documents.archive_state <> 'archived' AND documents.generation = ?`
	}
	changed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Contract before document, as on the apply path: no lock-order
		// inversion between an archiver and a dispatcher on PostgreSQL.
		if err := s.lockFactContracts(ctx, tx, facts); err != nil {
			return err
		}
		if err := s.readPre(ctx, tx, receiptlog.KindDocument, tenant, doc.ID); err != nil {
			return err
		}
		args := []any{tenant, doc.ID, doc.ContractID, doc.Title, doc.SHA256, doc.Size, doc.Path,
			s.timeArg(fetched), s.timeArg(now),
			doc.VerifyVerdict, doc.VerifySignatures, s.nullTimeArg(doc.VerifiedAt), doc.VerifyProblem,
			doc.ValidationSHA256, doc.ValidationPath, doc.ValidationStatus, doc.Discrepancies}
		if leased != "" {
			args = append(args, doc.Generation)
		}
		var id, contractID string
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO documents
			(tenant, id, contract_id, title, sha256, size, path, fetched_at, archive_state, last_attempt_at,
			verify_verdict, verify_signatures, verified_at, verify_problem,
			validation_sha256, validation_path, validation_status, discrepancies)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'archived', ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET
			contract_id = CASE WHEN excluded.contract_id = '' THEN documents.contract_id ELSE excluded.contract_id END,
			title = CASE WHEN excluded.title = '' THEN documents.title ELSE excluded.title END,
			sha256 = excluded.sha256, size = excluded.size, path = excluded.path,
			fetched_at = excluded.fetched_at, archive_state = 'archived', last_error = '',
			next_attempt_at = NULL, last_attempt_at = excluded.last_attempt_at,
			lease_owner = '', lease_until = NULL,
			verify_verdict = excluded.verify_verdict, verify_signatures = excluded.verify_signatures,
			verified_at = excluded.verified_at, verify_problem = excluded.verify_problem,
			validation_sha256 = excluded.validation_sha256, validation_path = excluded.validation_path,
			validation_status = excluded.validation_status, discrepancies = excluded.discrepancies
			WHERE (documents.sha256 <> excluded.sha256 OR documents.archive_state <> 'archived')`+leased+`
			RETURNING id, contract_id`), args...).Scan(&id, &contractID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("upsert document: %w", err)
		}
		changed = true
		s.touch(tx, receiptlog.KindDocument, tenant, doc.ID)
		// Every content recorded stays listed (DocumentVersions).
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO document_versions
			(tenant, id, sha256, contract_id, size, path, fetched_at, validation_sha256, validation_path)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, id, sha256) DO NOTHING`),
			tenant, doc.ID, doc.SHA256, contractID, doc.Size, doc.Path, s.timeArg(fetched),
			doc.ValidationSHA256, doc.ValidationPath); err != nil {
			return fmt.Errorf("record document version: %w", err)
		}
		return s.insertFacts(ctx, tx, facts, "", now)
	})
	if err != nil {
		return false, s.fail("archive document "+doc.ID, err)
	}
	return changed, nil
}

// ClaimDocuments implements store.Ledger. On PostgreSQL the candidate
// rows are locked FOR UPDATE SKIP LOCKED, so concurrent claimers split
// the due rows instead of waiting on each other; SQLite has one writer,
// whose transaction already excludes every other claimer.
func (s *DB) ClaimDocuments(ctx context.Context, owner string, limit int, lease time.Duration) ([]store.Document, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("ledger: claim documents: owner, a positive limit and a positive lease are required")
	}
	lock := ""
	if s.d.LockRow != "" {
		lock = s.d.LockRow + " SKIP LOCKED"
	}
	now := s.now()
	var out []store.Document
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT tenant, id FROM documents
			WHERE archive_state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
			AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at, tenant, id`+limitClause(limit)+lock), s.timeArg(now), s.timeArg(now))
		if err != nil {
			return fmt.Errorf("select due documents: %w", err)
		}
		var keys [][2]string
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return fmt.Errorf("scan due document: %w", err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("select due documents: %w", err)
		}
		for _, k := range keys {
			var d store.Document
			row := tx.QueryRowContext(ctx, s.q(`UPDATE documents
				SET lease_owner = ?, lease_until = ?, last_attempt_at = ?
				WHERE tenant = ? AND id = ? RETURNING `+documentCols+`, COALESCE(traceparent, '')`),
				owner, s.timeArg(now.Add(lease)), s.timeArg(now), k[0], k[1])
			err := scanDocument(withTraceparent{row, &d.Traceparent}, &d)
			if err != nil {
				return fmt.Errorf("lease document %s: %w", k[1], err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("claim documents", err)
	}
	return out, nil
}

// RenewDocumentLease implements store.Ledger.
func (s *DB) RenewDocumentLease(ctx context.Context, owner, tenant, id string, lease time.Duration) (bool, error) {
	if owner == "" || lease <= 0 {
		return false, fmt.Errorf("ledger: renew lease of document %q: owner and a positive lease are required", id)
	}
	res, err := s.writer.ExecContext(ctx, s.q(`UPDATE documents SET lease_until = ?
		WHERE tenant = ? AND id = ? AND archive_state = 'pending' AND lease_owner = ?`),
		s.timeArg(s.now().Add(lease)), tenant, id, owner)
	if err != nil {
		return false, s.fail("renew lease of document "+id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// FailDocument implements store.Ledger.
func (s *DB) FailDocument(ctx context.Context, f store.DocumentFailure) (bool, error) {
	if f.Tenant == "" || f.ID == "" || f.Owner == "" {
		return false, fmt.Errorf("ledger: fail document %q: tenant, id and owner are required", f.ID)
	}
	state, next := store.ArchivePending, s.timeArg(f.RetryAt)
	if f.Permanent {
		state, next = store.ArchiveFailed, nil
	} else if f.RetryAt.IsZero() {
		next = s.timeArg(s.now())
	}
	res, err := s.writer.ExecContext(ctx, s.q(`UPDATE documents SET archive_state = ?,
		attempts = attempts + 1, last_error = ?, next_attempt_at = ?, last_attempt_at = ?,
		lease_owner = '', lease_until = NULL
		WHERE tenant = ? AND id = ? AND archive_state = 'pending' AND lease_owner = ?`),
		state, truncateError(f.Err), next, s.timeArg(s.now()), f.Tenant, f.ID, f.Owner)
	if err != nil {
		return false, s.fail("fail document "+f.ID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// maxLastError bounds the stored error text.
const maxLastError = 1000

func truncateError(s string) string {
	if len(s) <= maxLastError {
		return s
	}
	return strings.ToValidUTF8(s[:maxLastError], "")
}

// RequeueDocuments implements store.Ledger. On PostgreSQL the rows are
// first selected FOR UPDATE SKIP LOCKED, in (contract id, id) order, and
// only those are updated: a requeue never waits for a row lock, so it
// cannot deadlock with a dispatcher batch (which locks each contract and
// then its documents). A row skipped because a transaction holds it is
// either being queued by that transaction or taken by the next requeue
// (reconcile runs it every pass).
func (s *DB) RequeueDocuments(ctx context.Context, tenant string, signedStatuses []string, failedBefore time.Time) (int64, error) {
	args := []any{s.timeArg(s.now()), tenant, tenant, s.timeArg(failedBefore)}
	never := `1 = 0`
	if len(signedStatuses) > 0 {
		never = `d.archive_state = '' AND EXISTS (SELECT 1 FROM contracts c
			WHERE c.tenant = d.tenant AND c.id = d.contract_id
			AND c.status IN (` + placeholders(len(signedStatuses)) + `))`
		for _, st := range signedStatuses {
			args = append(args, st)
		}
	}
	lock := ""
	if s.d.LockRow != "" {
		lock = s.d.LockRow + " SKIP LOCKED"
	}
	res, err := s.writer.ExecContext(ctx, s.q(`UPDATE documents SET archive_state = 'pending',
		attempts = 0, next_attempt_at = ?, lease_owner = '', lease_until = NULL
		WHERE tenant = ? AND id IN (SELECT d.id FROM documents d
			WHERE d.tenant = ? AND ((d.archive_state = 'failed' AND d.last_attempt_at < ?) OR (`+never+`))
			ORDER BY d.contract_id, d.id`+lock+`)`), args...)
	if err != nil {
		return 0, s.fail("requeue documents", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DocumentVersions implements store.Ledger.
func (s *DB) DocumentVersions(ctx context.Context, tenant, id string) ([]store.DocumentVersion, error) {
	rows, err := s.reader.QueryContext(ctx, s.q(`SELECT tenant, id, contract_id, sha256, size, path, fetched_at,
		validation_sha256, validation_path
		FROM document_versions WHERE tenant = ? AND id = ? ORDER BY fetched_at, sha256`), tenant, id)
	if err != nil {
		return nil, s.fail("document versions", err)
	}
	defer rows.Close()
	var out []store.DocumentVersion
	for rows.Next() {
		var v store.DocumentVersion
		if err := rows.Scan(&v.Tenant, &v.ID, &v.ContractID, &v.SHA256, &v.Size, &v.Path, timeCol{&v.FetchedAt},
			&v.ValidationSHA256, &v.ValidationPath); err != nil {
			return nil, s.fail("document versions: scan", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("document versions", err)
	}
	return out, nil
}

// Documents implements store.Ledger.
func (s *DB) Documents(ctx context.Context, f store.DocumentFilter) ([]store.Document, error) {
	query := `SELECT ` + documentCols + ` FROM documents WHERE 1 = 1`
	var args []any
	if f.Tenant != "" {
		query += ` AND tenant = ?`
		args = append(args, f.Tenant)
	}
	if len(f.States) > 0 {
		query += ` AND archive_state IN (` + placeholders(len(f.States)) + `)`
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	query += ` ORDER BY tenant, contract_id, id` + limitClause(f.Limit)
	rows, err := s.reader.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.fail("documents", err)
	}
	out, err := collectDocuments(rows)
	if err != nil {
		return nil, s.fail("documents", err)
	}
	return out, nil
}

// DocumentCounts implements store.Ledger. With states it reads only their
// range of documents_due, so its cost follows the queue, not the table.
func (s *DB) DocumentCounts(ctx context.Context, states ...string) (map[string]int64, error) {
	query, args := `SELECT archive_state, COUNT(*) FROM documents GROUP BY archive_state`, []any(nil)
	if len(states) > 0 {
		query = `SELECT archive_state, COUNT(*) FROM documents WHERE archive_state IN (` + placeholders(len(states)) + `)
			GROUP BY archive_state`
		for _, st := range states {
			args = append(args, st)
		}
	}
	rows, err := s.reader.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.fail("document counts", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.fail("document counts: scan", err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("document counts", err)
	}
	return out, nil
}
