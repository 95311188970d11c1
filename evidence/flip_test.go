package evidence_test

import (
	"archive/zip"
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/qyshook/qyshook/evidence"
)

// unzip returns a bundle's files in zip order.
func unzip(tb testing.TB, z []byte) (names []string, files map[string][]byte) {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		tb.Fatal(err)
	}
	files = map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		names = append(names, f.Name)
		files[f.Name] = b
	}
	return names, files
}

// rezip writes files (in names order) as a new zip: the container is
// sound, only a file's content changed.
func rezip(tb testing.TB, names []string, files map[string][]byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestFlips: random single-byte changes across every file of a bundle
// (PDF, callback, rows, API answer, validation material, manifest,
// manifest.sig, leaves, checkpoint, token, certificates, verifier key,
// report) are each detected, by a failing line that names the changed
// file — with the keys and roots pinned and, every other flip, without.
// 1,000 flips by default; QYSHOOK_EVIDENCE_FLIPS=10000 runs more.
func TestFlips(t *testing.T) {
	n := 1000
	if s := os.Getenv("QYSHOOK_EVIDENCE_FLIPS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			t.Fatalf("QYSHOOK_EVIDENCE_FLIPS=%q: want a positive number", s)
		}
	}
	f := newFixture(t)
	z := mustWrite(t, f)
	names, files := unzip(t, z)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 20))
	perFile := map[string]int{}
	start := time.Now()
	for i := range n {
		name := names[rng.IntN(len(names))]
		orig := files[name]
		flipped := bytes.Clone(orig)
		at := rng.IntN(len(flipped))
		flipped[at] ^= byte(1 + rng.IntN(255))
		files[name] = flipped
		o := f.pinned()
		if i%2 == 1 {
			o = evidence.VerifyOptions{}
		}
		res := mustVerify(t, rezip(t, names, files), o)
		files[name] = orig
		named := false
		for _, l := range problems(res) {
			named = named || l.Item == name
		}
		if res.Problems == 0 || !named {
			t.Fatalf("seed %d flip %d: byte %d of %s (pinned %v) not detected by a line naming it: %+v",
				seed, i, at, name, i%2 == 0, problems(res))
		}
		perFile[name]++
	}
	keys := make([]string, 0, len(perFile))
	for k := range perFile {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%5d flips in %s", perFile[k], k)
	}
	t.Logf("%d flips, all detected and named, in %v (seed %d)", n, time.Since(start).Round(time.Millisecond), seed)
}
