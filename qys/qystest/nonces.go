package qystest

import "time"

// nonceStore remembers used nonces until they expire, with expiry in
// amortised O(1) per call at any volume: a time wheel of one-second
// buckets keyed by expiry second. Each call sweeps only the buckets whose
// second has passed since the last call, so every stored nonce is
// examined about once over its life, however many are live.
//
// Not safe for concurrent use: the Server holds mu around it.
type nonceStore struct {
	exp    map[string]nonceEntry
	wheel  map[int64][]string // expiry second → keys placed there
	swept  int64              // every bucket before this second is gone
	visits int64              // stored entries examined by sweeps (tests)
}

type nonceEntry struct {
	at     time.Time // the nonce may be used again from this instant
	bucket int64     // the wheel bucket that owns the entry
}

func newNonceStore() *nonceStore {
	return &nonceStore{exp: map[string]nonceEntry{}, wheel: map[int64][]string{}}
}

// used reports whether key is remembered at now.
func (n *nonceStore) used(key string, now time.Time) bool {
	e, ok := n.exp[key]
	return ok && now.Before(e.at)
}

// add remembers key until until.
func (n *nonceStore) add(key string, until time.Time) {
	b := max(until.Unix(), n.swept)
	n.exp[key] = nonceEntry{at: until, bucket: b}
	n.wheel[b] = append(n.wheel[b], key)
}

// expire forgets every nonce whose time has come, sweeping the buckets
// of the seconds passed since the last sweep. After a jump of the clock
// longer than the number of buckets, it ranges over the buckets instead
// of over the seconds, so a jump costs no more than the entries it frees.
func (n *nonceStore) expire(now time.Time) {
	sec := now.Unix()
	if len(n.wheel) == 0 || sec <= n.swept {
		n.swept = max(n.swept, sec)
		return
	}
	if sec-n.swept > int64(len(n.wheel)) {
		for b := range n.wheel {
			if b < sec {
				n.sweep(b)
			}
		}
	} else {
		for b := n.swept; b < sec; b++ {
			n.sweep(b)
		}
	}
	n.swept = sec
}

// sweep empties bucket b, which is before now's second. An entry sits in
// the bucket of its expiry second or a later one (add clamps to swept
// after the clock went back), so every entry b owns is due; entries
// re-added since to a later bucket are left to it.
func (n *nonceStore) sweep(b int64) {
	keys, ok := n.wheel[b]
	if !ok {
		return
	}
	delete(n.wheel, b)
	for _, k := range keys {
		n.visits++
		if e, ok := n.exp[k]; ok && e.bucket == b {
			delete(n.exp, k)
		}
	}
}

func (n *nonceStore) len() int { return len(n.exp) }
