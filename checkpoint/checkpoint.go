package checkpoint

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors callers branch on.
var (
	// ErrBadNote: the checkpoint is not a note signed by an accepted key,
	// or its text is not a checkpoint of this log.
	ErrBadNote = errors.New("checkpoint: not a valid checkpoint of this log")
	// ErrNoKey: the key file does not exist and Generate was not set.
	ErrNoKey = errors.New("checkpoint: no signer key")
)

// Options configure a Keyring.
type Options struct {
	// Origin names the log: the first line of every checkpoint, and the
	// name of its keys. It must be a valid note key name (no spaces, no
	// '+'); for example "ledger.example.com/qyshook".
	Origin string
	// KeyFile is the signer key file: one line, a note private key
	// ("PRIVATE+KEY+<origin>+<hash>+<key>"). Its verifier key is kept
	// beside it in KeyFile + ".pub".
	KeyFile string
	// Generate creates KeyFile (mode 0600, in a directory made 0700 when
	// missing) with a new Ed25519 key when it does not exist.
	Generate bool
	// VerifierKeys are further verifier keys accepted when opening a
	// checkpoint ("<origin>+<hash>+<key>", as in the .pub file): the keys
	// of earlier rotations. The active key is always accepted.
	VerifierKeys []string
}

// Keyring signs checkpoints with the active key and opens them with any
// accepted key. It is safe for concurrent use.
type Keyring struct {
	origin    string
	signer    note.Signer
	vkey      string
	verifiers []note.Verifier
	list      note.Verifiers
}

// New loads (or, with Generate, creates) the signer key and parses the
// verifier keys.
func New(o Options) (*Keyring, error) {
	if !validName(o.Origin) {
		return nil, fmt.Errorf("checkpoint: origin %q: must be non-empty, without spaces or '+'", o.Origin)
	}
	if o.KeyFile == "" {
		return nil, errors.New("checkpoint: no key file")
	}
	skey, err := loadKey(o.KeyFile, o.Origin, o.Generate)
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: key file %s: %w", o.KeyFile, err)
	}
	if signer.Name() != o.Origin {
		return nil, fmt.Errorf("checkpoint: key file %s names %q, not the origin %q", o.KeyFile, signer.Name(), o.Origin)
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: key file %s: %w", o.KeyFile, err)
	}
	k := &Keyring{origin: o.Origin, signer: signer, vkey: vkey}
	seen := map[uint32]bool{}
	for _, s := range append([]string{vkey}, o.VerifierKeys...) {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		v, err := note.NewVerifier(s)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: verifier key %q: %w", s, err)
		}
		if v.Name() != o.Origin {
			return nil, fmt.Errorf("checkpoint: verifier key %q names %q, not the origin %q", s, v.Name(), o.Origin)
		}
		if !seen[v.KeyHash()] {
			seen[v.KeyHash()] = true
			k.verifiers = append(k.verifiers, v)
		}
	}
	k.list = note.VerifierList(k.verifiers...)
	return k, nil
}

// Origin returns the log's name.
func (k *Keyring) Origin() string { return k.origin }

// VerifierKey returns the active key's verifier key, to give to witnesses
// and to keep in QYSHOOK_LOG_VERIFIER_KEYS after a rotation.
func (k *Keyring) VerifierKey() string { return k.vkey }

// KeyID returns the active key's id: its note key hash, 8 hex digits.
func (k *Keyring) KeyID() string { return keyID(k.signer.KeyHash()) }

// Signer returns the active key as a note signer, for other notes the
// log's key vouches for (an evidence bundle's manifest). Its name is the
// origin, so a Verifier of the log's keys opens what it signs.
func (k *Keyring) Signer() note.Signer { return k.signer }

// Sign returns the signed checkpoint of tree.
func (k *Keyring) Sign(tree tlog.Tree) ([]byte, error) {
	if tree.N < 0 {
		return nil, fmt.Errorf("checkpoint: sign: negative size %d", tree.N)
	}
	text := log.Checkpoint{Origin: k.origin, Size: uint64(tree.N), Hash: tree.Hash[:]}.Marshal()
	msg, err := note.Sign(&note.Note{Text: string(text)}, k.signer)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: sign: %w", err)
	}
	return msg, nil
}

// Checkpoint is an opened checkpoint.
type Checkpoint struct {
	Origin string
	Tree   tlog.Tree
	// KeyIDs are the ids of the accepted keys whose signatures verified.
	KeyIDs []string
}

// Open verifies a signed checkpoint against the accepted keys and parses
// it. Any failure wraps ErrBadNote.
func (k *Keyring) Open(msg []byte) (*Checkpoint, error) {
	return open(msg, k.origin, k.list)
}

// Verifier returns a verifier of the accepted keys.
func (k *Keyring) Verifier() *Verifier { return &Verifier{origin: k.origin, list: k.list} }

// Verifier opens checkpoints of one log with given verifier keys; it
// needs no signer key (an auditor's or a witness's view).
type Verifier struct {
	origin string
	list   note.Verifiers
}

// NewVerifier returns a verifier of origin's checkpoints accepting any of
// verifierKeys ("<origin>+<hash>+<key>").
func NewVerifier(origin string, verifierKeys ...string) (*Verifier, error) {
	var vs []note.Verifier
	for _, s := range verifierKeys {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		v, err := note.NewVerifier(s)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: verifier key %q: %w", s, err)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, errors.New("checkpoint: no verifier key")
	}
	return &Verifier{origin: origin, list: note.VerifierList(vs...)}, nil
}

// Open verifies msg (any one accepted signature suffices) and parses it
// as a checkpoint of the verifier's origin. Any failure wraps ErrBadNote.
func (v *Verifier) Open(msg []byte) (*Checkpoint, error) { return open(msg, v.origin, v.list) }

func open(msg []byte, origin string, list note.Verifiers) (*Checkpoint, error) {
	n, err := note.Open(msg, list)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNote, err)
	}
	var cp log.Checkpoint
	rest, err := cp.Unmarshal([]byte(n.Text))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNote, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: unexpected extension lines", ErrBadNote)
	}
	if cp.Origin != origin {
		return nil, fmt.Errorf("%w: origin %q, want %q", ErrBadNote, cp.Origin, origin)
	}
	if len(cp.Hash) != tlog.HashSize {
		return nil, fmt.Errorf("%w: root hash of %d bytes, want %d", ErrBadNote, len(cp.Hash), tlog.HashSize)
	}
	if cp.Size > 1<<62 {
		return nil, fmt.Errorf("%w: size %d out of range", ErrBadNote, cp.Size)
	}
	out := &Checkpoint{Origin: cp.Origin, Tree: tlog.Tree{N: int64(cp.Size)}}
	copy(out.Tree.Hash[:], cp.Hash)
	for _, s := range n.Sigs {
		out.KeyIDs = append(out.KeyIDs, keyID(s.Hash))
	}
	return out, nil
}

func keyID(h uint32) string { return fmt.Sprintf("%08x", h) }

// GenerateKey returns a new Ed25519 signer key and its verifier key, both
// named origin.
func GenerateKey(origin string) (skey, vkey string, err error) {
	if !validName(origin) {
		return "", "", fmt.Errorf("checkpoint: origin %q: must be non-empty, without spaces or '+'", origin)
	}
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("checkpoint: generate key: %w", err)
	}
	return skey, vkey, nil
}

// loadKey reads the signer key of path, creating it when generate is set
// and it does not exist.
func loadKey(path, origin string, generate bool) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && generate {
		return createKey(path, origin)
	}
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: %s does not exist", ErrNoKey, path)
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint: read key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("checkpoint: key file %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	return string(bytes.TrimSpace(b)), nil
}

func createKey(path, origin string) (string, error) {
	skey, vkey, err := GenerateKey(origin)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("checkpoint: key dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process made it meanwhile
		return loadKey(path, origin, false)
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint: create key: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("checkpoint: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("checkpoint: sync key: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("checkpoint: close key: %w", err)
	}
	if err := os.WriteFile(path+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("checkpoint: write verifier key: %w", err)
	}
	return skey, nil
}

// verifierKey derives the verifier key of a note private key
// ("PRIVATE+KEY+name+hash+base64(alg||seed)").
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("not a note private key")
	}
	if _, err := strconv.ParseUint(parts[3], 16, 32); err != nil {
		return "", errors.New("not a note private key")
	}
	pub, err := ed25519Public(parts[4])
	if err != nil {
		return "", err
	}
	return note.NewEd25519VerifierKey(parts[2], pub)
}

func validName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "+") && strings.IndexFunc(name, isSpace) < 0
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0xA0 ||
		r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000
}
