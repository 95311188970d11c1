package evidence_test

import (
	"bytes"
	"context"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/evidence/evidencetest"
)

const origin = evidencetest.Origin

// fixture wraps evidencetest.Fixture with the short names the tests use.
type fixture struct {
	*evidencetest.Fixture
	c      evidence.Contents
	signer note.Signer
}

func newFixture(tb testing.TB) *fixture {
	f := evidencetest.New(tb)
	return &fixture{Fixture: f, c: f.Contents, signer: f.Signer}
}

func (f *fixture) pinned() evidence.VerifyOptions { return f.Pinned() }

func mustWrite(tb testing.TB, f *fixture) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := evidence.Write(&b, f.c, f.signer); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func mustVerify(tb testing.TB, zipBytes []byte, o evidence.VerifyOptions) *evidence.Result {
	tb.Helper()
	res, err := evidence.Verify(context.Background(), bytes.NewReader(zipBytes), int64(len(zipBytes)), o)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func problems(res *evidence.Result) []evidence.Line {
	var out []evidence.Line
	for _, l := range res.Lines {
		if !l.OK {
			out = append(out, l)
		}
	}
	return out
}
