package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// insertFacts writes facts to the outbox; a fact id already there is
// kept as it is. Facts without CreatedAt get now plus one microsecond per
// position, so the outbox keeps the order they were given in.
//
// A fact naming a contract (Tenant and ContractID) gets that contract's
// next sequence number (contracts.fact_seq, counted in this transaction,
// which holds the contract's row lock from then on), stored in the outbox
// and set as "seq" in its payload, a JSON object (or empty). The contract
// must be in the ledger. A fact id already in the outbox takes no number.
//
// An AfterPrevious fact is completed with the status the contract came
// from (previous, "" for a new one) and its number: its id becomes
// store.FactIDAfter(id, previous, seq), and its payload gets the "id" and
// "previous_status" members too.
func (s *DB) insertFacts(ctx context.Context, tx *sql.Tx, facts []store.Fact, previous string, now time.Time) error {
	for i, f := range facts {
		if f.ID == "" {
			return fmt.Errorf("fact %d: id is empty", i)
		}
		created := f.CreatedAt
		if created.IsZero() {
			created = now.Add(time.Duration(i) * time.Microsecond)
		}
		f.Seq = 0
		payload := f.Payload
		if f.ContractID != "" {
			seq, err := s.nextFactSeq(ctx, tx, f.Tenant, f.ContractID, 1)
			if err != nil {
				return fmt.Errorf("fact %s: %w", f.ID, err)
			}
			f.Seq = seq
		}
		if f.AfterPrevious {
			var err error
			if f, err = afterPrevious(f, previous); err != nil {
				return err
			}
			payload = f.Payload
		}
		if f.Seq > 0 {
			var err error
			if payload, err = withSeq(payload, f.Seq); err != nil {
				return fmt.Errorf("fact %s: %w", f.ID, err)
			}
		}
		var id string
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO outbox (id, subject, payload, created_at, tenant, contract_id, seq, traceparent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id`),
			f.ID, f.Subject, bytesArg(payload), s.timeArg(created), f.Tenant, f.ContractID, f.Seq, nullText(f.Traceparent)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			if f.Seq > 0 { // a repeat: give its number back, so the contract's numbers stay contiguous
				if _, err := s.nextFactSeq(ctx, tx, f.Tenant, f.ContractID, -1); err != nil {
					return fmt.Errorf("fact %s: %w", f.ID, err)
				}
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("insert fact %s: %w", f.ID, err)
		}
		s.touchFact(tx, f, payload, created)
	}
	return nil
}

// nextFactSeq adds delta to a contract's fact counter and returns it.
func (s *DB) nextFactSeq(ctx context.Context, tx *sql.Tx, tenant, contractID string, delta int) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, s.q(`UPDATE contracts SET fact_seq = fact_seq + ?
		WHERE tenant = ? AND id = ? RETURNING fact_seq`), delta, tenant, contractID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("contract %s/%s is not in the ledger", tenant, contractID)
	}
	if err != nil {
		return 0, fmt.Errorf("count facts of %s: %w", contractID, err)
	}
	return seq, nil
}

// withSeq returns payload, a JSON object, with its "seq" member set to seq
// (members are re-encoded in key order). An empty payload stays empty.
func withSeq(payload []byte, seq int64) ([]byte, error) {
	return withMembers(payload, map[string]json.RawMessage{"seq": json.RawMessage(strconv.FormatInt(seq, 10))})
}

// afterPrevious completes a state-change fact with the status the
// contract came from ("" for a new one) and its number (f.Seq): the id
// that covers both, and the payload's "id" and "previous_status" members.
func afterPrevious(f store.Fact, previous string) (store.Fact, error) {
	f.ID = store.FactIDAfter(f.ID, previous, f.Seq)
	set := map[string]json.RawMessage{}
	id, _ := json.Marshal(f.ID)
	set["id"] = id
	if previous != "" {
		prev, _ := json.Marshal(previous)
		set["previous_status"] = prev
	}
	var err error
	if f.Payload, err = withMembers(f.Payload, set); err != nil {
		return f, fmt.Errorf("fact %s: %w", f.ID, err)
	}
	f.AfterPrevious = false
	return f, nil
}

// withMembers returns payload, a JSON object, with members set (members
// are re-encoded in key order, as encoding/json writes a map). An empty
// payload stays empty; one that is not a JSON object is an error.
//
// A payload encoding/json wrote (compact, HTML-escaped: every fact the
// dispatcher builds) is checked once (json.Valid) and its members are
// spliced in key order as they are, byte for byte what decoding it into a
// map and encoding that would give, without decoding and compacting the
// contract detail inside twice more (TestWithMembersSplice). Any other
// payload takes that longer way.
func withMembers(payload []byte, set map[string]json.RawMessage) ([]byte, error) {
	if len(payload) == 0 {
		return payload, nil
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("payload is not a JSON object")
	}
	if out, ok := spliceMembers(payload, set); ok {
		return out, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil || members == nil {
		return nil, fmt.Errorf("payload is not a JSON object")
	}
	for k, v := range set {
		members[k] = v
	}
	out, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return out, nil
}

// member is one member of a JSON object: its key (between the quotes,
// with no escape) and the whole "key":value text.
type member struct {
	key  string
	text []byte
}

// spliceMembers is withMembers for a valid payload that is a compact,
// HTML-escaped JSON object with plain keys, and set values and keys
// alike; ok is false for anything else (whitespace, a key with an escape,
// a repeated key, a character encoding/json would escape).
func spliceMembers(payload []byte, set map[string]json.RawMessage) (_ []byte, ok bool) {
	if len(payload) < 2 || payload[0] != '{' {
		return nil, false
	}
	members := make([]member, 0, 24)
	size := len(payload)
	i := 1
	if payload[i] == '}' {
		i++
	}
	for i < len(payload) && payload[i-1] != '}' {
		if payload[i] != '"' {
			return nil, false
		}
		ks := i + 1
		ke := ks
		for ke < len(payload) && payload[ke] != '"' {
			if c := payload[ke]; c == '\\' || !plainByte(c) {
				return nil, false
			}
			ke++
		}
		if ke+1 >= len(payload) || payload[ke+1] != ':' {
			return nil, false
		}
		end, ok := skipCompact(payload, ke+2)
		if !ok || end >= len(payload) || (payload[end] != ',' && payload[end] != '}') {
			return nil, false
		}
		key := string(payload[ks:ke])
		if _, replaced := set[key]; replaced {
			size -= end - i
		} else {
			members = append(members, member{key: key, text: payload[i:end]})
		}
		i = end + 1
	}
	if i != len(payload) {
		return nil, false
	}
	for k, v := range set {
		for j := range len(k) {
			if k[j] == '\\' || k[j] == '"' || !plainByte(k[j]) {
				return nil, false
			}
		}
		if end, ok := skipCompact(v, 0); !ok || end != len(v) || !json.Valid(v) {
			return nil, false
		}
		text := make([]byte, 0, len(k)+3+len(v))
		text = append(append(append(append(text, '"'), k...), `":`...), v...)
		members = append(members, member{key: k, text: text})
		size += len(text) + 1
	}
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	for j := 1; j < len(members); j++ {
		if members[j].key == members[j-1].key {
			return nil, false // encoding/json would keep the last: take the long way
		}
	}
	out := make([]byte, 0, size+1)
	out = append(out, '{')
	for j, m := range members {
		if j > 0 {
			out = append(out, ',')
		}
		out = append(out, m.text...)
	}
	return append(out, '}'), true
}

// plainByte reports whether c stands for itself in a key encoding/json
// writes: printable ASCII but the characters it escapes.
func plainByte(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '<' && c != '>' && c != '&'
}

// skipCompact returns the end of the JSON value (valid, as its caller
// checked) starting at b[i], and false when the value is not as compact
// and HTML-escaped as encoding/json writes it: whitespace between tokens,
// or '<', '>', '&', U+2028 or U+2029 unescaped in a string.
func skipCompact(b []byte, i int) (end int, ok bool) {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				switch b[i] {
				case '\\':
					i++
				case '<', '>', '&':
					return 0, false
				case 0xe2: // U+2028 and U+2029 are e2 80 a8 and e2 80 a9
					if i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xa8 || b[i+2] == 0xa9) {
						return 0, false
					}
				}
				i++
			}
			i++
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i, true
			}
			i++
		case ' ', '\t', '\n', '\r':
			return 0, false
		default:
			i++
		}
		if depth == 0 && i < len(b) && (b[i] == ',' || b[i] == '}' || b[i] == ']') {
			return i, true
		}
	}
	return i, depth == 0
}

// lockFactContracts locks the rows of the contracts facts name, in
// (tenant, id) order, before anything else in tx: the apply path locks a
// contract before its documents, and so must every transaction that
// numbers a contract's facts.
func (s *DB) lockFactContracts(ctx context.Context, tx *sql.Tx, facts []store.Fact) error {
	var keys [][2]string
	for _, f := range facts {
		if f.ContractID != "" {
			keys = append(keys, [2]string{f.Tenant, f.ContractID})
		}
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	for _, k := range slices.Compact(keys) {
		var id string
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM contracts WHERE tenant = ? AND id = ?`+s.d.LockRow),
			k[0], k[1]).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("fact about contract %s/%s: not in the ledger", k[0], k[1])
		}
		if err != nil {
			return fmt.Errorf("lock contract %s: %w", k[1], err)
		}
	}
	return nil
}

// Outbox implements store.Ledger: unpublished facts, oldest first.
// Limit <= 0 means no limit.
func (s *DB) Outbox(ctx context.Context, limit int) ([]store.Fact, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, subject, payload, created_at, published_at,
		tenant, contract_id, seq, COALESCE(traceparent, '') FROM outbox WHERE published_at IS NULL ORDER BY created_at, id`+limitClause(limit))
	if err != nil {
		return nil, s.fail("outbox", err)
	}
	defer rows.Close()
	var out []store.Fact
	for rows.Next() {
		var f store.Fact
		if err := rows.Scan(&f.ID, &f.Subject, &f.Payload, timeCol{&f.CreatedAt},
			nullTimeCol{&f.PublishedAt}, &f.Tenant, &f.ContractID, &f.Seq, &f.Traceparent); err != nil {
			return nil, s.fail("outbox: scan", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("outbox", err)
	}
	return out, nil
}

// markBatch bounds the number of ids in one UPDATE.
const markBatch = 500

// MarkPublished implements store.Ledger. Ids already published or unknown
// are ignored.
func (s *DB) MarkPublished(ctx context.Context, ids []string) error {
	now := s.timeArg(s.now())
	for len(ids) > 0 {
		batch := ids[:min(len(ids), markBatch)]
		ids = ids[len(batch):]
		args := make([]any, 0, len(batch)+1)
		args = append(args, now)
		for _, id := range batch {
			args = append(args, id)
		}
		if _, err := s.writer.ExecContext(ctx, s.q(`UPDATE outbox SET published_at = ?
			WHERE published_at IS NULL AND id IN (`+placeholders(len(batch))+`)`), args...); err != nil {
			return s.fail("mark published", err)
		}
	}
	return nil
}

// PruneOutbox implements store.Ledger.
func (s *DB) PruneOutbox(ctx context.Context, publishedBefore time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.deleteLogged(ctx, tx, receiptlog.KindFact, `DELETE FROM outbox
		WHERE published_at IS NOT NULL AND published_at < ? RETURNING tenant, id`, s.timeArg(publishedBefore))
		return err
	})
	if err != nil {
		return 0, s.fail("prune outbox", err)
	}
	return n, nil
}
