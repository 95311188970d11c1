package checkpoint_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"net/http/httptest"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

const origin = "test.example/qyshook"

func mustKeyring(tb testing.TB, o checkpoint.Options) *checkpoint.Keyring {
	tb.Helper()
	k, err := checkpoint.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// memTree is a real tlog tree kept in memory.
type memTree struct {
	hashes map[int64]tlog.Hash
	n      int64
}

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) add(tb testing.TB, leaf string) tlog.Tree {
	tb.Helper()
	if m.hashes == nil {
		m.hashes = map[int64]tlog.Hash{}
	}
	hs, err := tlog.StoredHashes(m.n, []byte(leaf), m)
	if err != nil {
		tb.Fatal(err)
	}
	base := tlog.StoredHashCount(m.n)
	for i, h := range hs {
		m.hashes[base+int64(i)] = h
	}
	m.n++
	th, err := tlog.TreeHash(m.n, m)
	if err != nil {
		tb.Fatal(err)
	}
	return tlog.Tree{N: m.n, Hash: th}
}

func TestSignOpen(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "log", "checkpoint.key")
	k := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: keyFile, Generate: true})
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	pub, err := os.ReadFile(keyFile + ".pub")
	if err != nil || strings.TrimSpace(string(pub)) != k.VerifierKey() {
		t.Fatalf("pub %q, %v; want %q", pub, err, k.VerifierKey())
	}
	var m memTree
	m.add(t, "a")
	tree := m.add(t, "b")
	msg, err := k.Sign(tree)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(msg), origin+"\n2\n"+base64.StdEncoding.EncodeToString(tree.Hash[:])+"\n\n— "+origin+" ") {
		t.Fatalf("note:\n%s", msg)
	}
	cp, err := k.Open(msg)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Tree != tree || cp.Origin != origin || len(cp.KeyIDs) != 1 || cp.KeyIDs[0] != k.KeyID() {
		t.Fatalf("opened %+v", cp)
	}
	// The same file loads the same key again.
	again := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: keyFile})
	if again.VerifierKey() != k.VerifierKey() {
		t.Fatal("reloading the key file gave another key")
	}
	// A verifier with the public key only opens it too.
	v, err := checkpoint.NewVerifier(origin, string(pub))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Open(msg); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrBadNote", func(t *testing.T) {
		for name, bad := range map[string][]byte{
			"flipped size": bytes.Replace(msg, []byte("\n2\n"), []byte("\n3\n"), 1),
			"flipped root": bytes.Replace(msg, []byte(base64.StdEncoding.EncodeToString(tree.Hash[:])), []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 1),
			"no signature": msg[:bytes.Index(msg, []byte("\n\n"))+2],
			"not a note":   []byte("hello"),
			"other key":    signWithOther(t, tree),
			"other origin": signOther(t, "other.example/log", tree),
		} {
			if _, err := k.Open(bad); !errors.Is(err, checkpoint.ErrBadNote) {
				t.Errorf("%s: err %v", name, err)
			}
		}
	})
}

func signWithOther(t *testing.T, tree tlog.Tree) []byte {
	k := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	msg, err := k.Sign(tree)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func signOther(t *testing.T, o string, tree tlog.Tree) []byte {
	k := mustKeyring(t, checkpoint.Options{Origin: o, KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	msg, err := k.Sign(tree)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestRotation: a new active key signs; checkpoints of the old key still
// open once its verifier key is configured, and not without it.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	old := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(dir, "old.key"), Generate: true})
	var m memTree
	tree := m.add(t, "a")
	oldMsg, err := old.Sign(tree)
	if err != nil {
		t.Fatal(err)
	}
	fresh := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(dir, "new.key"), Generate: true})
	if _, err := fresh.Open(oldMsg); !errors.Is(err, checkpoint.ErrBadNote) {
		t.Fatalf("the new key alone opened the old checkpoint: %v", err)
	}
	rotated := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(dir, "new.key"),
		VerifierKeys: []string{old.VerifierKey()}})
	if _, err := rotated.Open(oldMsg); err != nil {
		t.Fatal(err)
	}
	newMsg, err := rotated.Sign(m.add(t, "b"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := rotated.Open(newMsg)
	if err != nil || cp.KeyIDs[0] != fresh.KeyID() || fresh.KeyID() == old.KeyID() {
		t.Fatalf("%+v, %v", cp, err)
	}
	if _, err := old.Open(newMsg); !errors.Is(err, checkpoint.ErrBadNote) {
		t.Fatalf("the old key opened the new checkpoint: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.key")
	skey, _, err := checkpoint.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, []byte(skey), 0o644); err != nil {
		t.Fatal(err)
	}
	otherName := filepath.Join(dir, "other.key")
	mustKeyring(t, checkpoint.Options{Origin: "other", KeyFile: otherName, Generate: true})
	_, foreignV, _ := checkpoint.GenerateKey("other")
	for name, o := range map[string]checkpoint.Options{
		"ErrNoOrigin":       {KeyFile: filepath.Join(dir, "a")},
		"ErrOriginSpace":    {Origin: "a b", KeyFile: filepath.Join(dir, "a")},
		"ErrOriginPlus":     {Origin: "a+b", KeyFile: filepath.Join(dir, "a")},
		"ErrNoKeyFile":      {Origin: origin},
		"ErrNoKey":          {Origin: origin, KeyFile: filepath.Join(dir, "missing")},
		"ErrLooseMode":      {Origin: origin, KeyFile: loose},
		"ErrOtherName":      {Origin: origin, KeyFile: otherName},
		"ErrVerifierKey":    {Origin: origin, KeyFile: filepath.Join(dir, "b"), Generate: true, VerifierKeys: []string{"junk"}},
		"ErrVerifierOrigin": {Origin: origin, KeyFile: filepath.Join(dir, "c"), Generate: true, VerifierKeys: []string{foreignV}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := checkpoint.New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := checkpoint.New(checkpoint.Options{Origin: origin, KeyFile: filepath.Join(dir, "missing")}); !errors.Is(err, checkpoint.ErrNoKey) {
		t.Fatalf("err %v", err)
	}
}

// TestSignatureVerifiesWithOpenSSL checks the note's Ed25519 signature
// with an outside tool.
func TestSignatureVerifiesWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	k := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(dir, "k"), Generate: true})
	var m memTree
	msg, err := k.Sign(m.add(t, "leaf"))
	if err != nil {
		t.Fatal(err)
	}
	text, sig := splitNote(t, msg)
	// The verifier key is "<name>+<hash>+base64(1 || public key)".
	parts := strings.SplitN(k.VerifierKey(), "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 {
		t.Fatalf("verifier key %q", k.VerifierKey())
	}
	spki, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(raw[1:]))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pubPath := write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
	sigPath := write("sig", sig)
	verify := func(data []byte) error {
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin",
			"-in", write("text", data), "-sigfile", sigPath).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("Signature Verified Successfully")) {
			return errors.New(string(out))
		}
		return nil
	}
	if err := verify(text); err != nil {
		t.Fatalf("openssl pkeyutl -verify: %v", err)
	}
	if err := verify(bytes.Replace(text, []byte("\n1\n"), []byte("\n2\n"), 1)); err == nil {
		t.Fatal("openssl verified an edited checkpoint")
	}
}

// splitNote returns a note's text and its one signature's Ed25519 bytes.
func splitNote(t *testing.T, msg []byte) (text, sig []byte) {
	t.Helper()
	i := bytes.LastIndex(msg, []byte("\n\n"))
	text = msg[:i+1]
	line := strings.TrimSpace(string(msg[i+2:]))
	fields := strings.Fields(line) // "—", name, base64(hash || sig)
	raw, err := base64.StdEncoding.DecodeString(fields[2])
	if err != nil || len(raw) != 4+64 {
		t.Fatalf("signature line %q", line)
	}
	return text, raw[4:]
}

// TestCheck checks a checkpoint and its stamps against a rebuilt tree,
// with a real responder.
func TestCheck(t *testing.T) {
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	defer srv.Close()
	c, err := tsa.New(tsa.Options{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	k := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	var m memTree
	m.add(t, "a")
	tree := m.add(t, "b")
	msg, err := k.Sign(tree)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stamp(context.Background(), srv.URL, msg)
	if err != nil {
		t.Fatal(err)
	}
	var certsPEM bytes.Buffer
	for _, der := range st.Certs {
		_ = pem.Encode(&certsPEM, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	if got := checkpoint.PEMCerts(certsPEM.String() + "junk"); len(got) != len(st.Certs) || !bytes.Equal(got[0], st.Certs[0]) {
		t.Fatalf("PEMCerts gave %d certificates, want %d", len(got), len(st.Certs))
	}
	stored := []checkpoint.StoredStamp{{URL: st.URL, Token: st.Token, Certs: checkpoint.PEMCerts(certsPEM.String())}}
	v := k.Verifier()
	cp, checks, err := v.Check(tree, msg, stored, r.Roots())
	if err != nil || cp.Tree != tree || len(checks) != 1 || !checks[0].Pinned || !checks[0].Time.Equal(st.Time) {
		t.Fatalf("%+v %+v %v", cp, checks, err)
	}
	t.Run("ErrTreeMismatch", func(t *testing.T) {
		grown := m.add(t, "c")
		if _, _, err := v.Check(grown, msg, stored, r.Roots()); !errors.Is(err, checkpoint.ErrTreeMismatch) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrBadStamp", func(t *testing.T) {
		other, err := k.Sign(tlog.Tree{N: 1, Hash: tlog.RecordHash([]byte("a"))})
		if err != nil {
			t.Fatal(err)
		}
		otherStamp, err := c.Stamp(context.Background(), srv.URL, other)
		if err != nil {
			t.Fatal(err)
		}
		bad := append(stored, checkpoint.StoredStamp{URL: "swapped", Token: otherStamp.Token, Certs: otherStamp.Certs})
		_, checks, err := v.Check(tree, msg, bad, r.Roots())
		if !errors.Is(err, checkpoint.ErrBadStamp) || checks[0].Err != nil || checks[1].Err == nil {
			t.Fatalf("%+v %v", checks, err)
		}
	})
	t.Run("ErrBadNote", func(t *testing.T) {
		if _, _, err := v.Check(tree, bytes.Replace(msg, []byte("\n2\n"), []byte("\n3\n"), 1), stored, nil); !errors.Is(err, checkpoint.ErrBadNote) {
			t.Fatalf("err %v", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	k := mustKeyring(f, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(f.TempDir(), "k"), Generate: true})
	var m memTree
	msg, err := k.Sign(m.add(f, "a"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	f.Add([]byte(origin + "\n1\nAAAA\n\n— x y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := k.Open(b)
		if err != nil {
			if !errors.Is(err, checkpoint.ErrBadNote) {
				t.Fatalf("error %v does not wrap ErrBadNote", err)
			}
			return
		}
		if cp.Origin != origin || cp.Tree.N < 0 {
			t.Fatalf("opened %+v", cp)
		}
		again, err := k.Sign(cp.Tree)
		if err != nil {
			t.Fatal(err)
		}
		if cp2, err := k.Open(again); err != nil || cp2.Tree != cp.Tree {
			t.Fatalf("re-signed: %+v %v", cp2, err)
		}
	})
}

// TestSignerSignsNotesTheVerifierKeyOpens: Keyring.Signer signs any note
// under the origin with the active key; the verifier key opens it, and a
// changed text does not.
func TestSignerSignsNotesTheVerifierKeyOpens(t *testing.T) {
	k := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	s := k.Signer()
	if s.Name() != origin {
		t.Fatalf("signer name %q, want %q", s.Name(), origin)
	}
	msg, err := note.Sign(&note.Note{Text: "qyshook.evidence.v1\nabc\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(k.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil || n.Text != "qyshook.evidence.v1\nabc\n" {
		t.Fatalf("open: %v %+v", err, n)
	}
	bad := bytes.Replace(msg, []byte("abc"), []byte("abd"), 1)
	if _, err := note.Open(bad, note.VerifierList(v)); err == nil {
		t.Fatal("a changed text opened")
	}
}
