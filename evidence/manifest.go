package evidence

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/mod/sumdb/tlog"
)

// Manifest is manifest.json: the bundle's identity, the checkpoint it
// rests on, and every other file with its hashes, kind and binding.
type Manifest struct {
	Format     string    `json:"format"`
	Tenant     string    `json:"tenant"`
	ContractID string    `json:"contract_id"`
	Version    int       `json:"version"`
	State      string    `json:"state"`
	BuiltAt    time.Time `json:"built_at"`
	// Origin, TreeSize and TreeRoot (base64) repeat what the checkpoint says.
	Origin   string `json:"origin"`
	TreeSize int64  `json:"tree_size"`
	TreeRoot string `json:"tree_root"`
	// Stamps lists the checkpoint's time-stamp tokens and their certificates.
	Stamps []ManifestStamp `json:"stamps"`
	// Files lists every file of the zip but manifest.json and manifest.sig.
	Files   []File  `json:"files"`
	Summary Summary `json:"summary"`
}

// ManifestStamp is one RFC 3161 token over log/checkpoint.txt.
type ManifestStamp struct {
	// URL is the authority that issued it.
	URL string `json:"url"`
	// Token is the path of the token (DER), Certs of its certificates (PEM).
	Token string `json:"token"`
	Certs string `json:"certs,omitempty"`
}

// File is one file of the bundle.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// SM3 is the file's SM3 hash (GB/T 32905), hex, beside SHA-256.
	SM3     string   `json:"sm3,omitempty"`
	Kind    string   `json:"kind"`
	Binding *Binding `json:"binding,omitempty"`
	// Columns name the values of a row item's "row".
	Columns []string `json:"columns,omitempty"`
	Note    string   `json:"note,omitempty"`
	NoteZH  string   `json:"note_zh,omitempty"`
}

// Binding ties a file to the receipt log: to a leaf's hash (Leaf, Field)
// or to a column of a row item (Row, Column).
type Binding struct {
	Leaf   *int64 `json:"leaf,omitempty"`
	Field  string `json:"field,omitempty"`
	Row    string `json:"row,omitempty"`
	Column string `json:"column,omitempty"`
}

// String says the binding in words.
func (b *Binding) String() string {
	switch {
	case b == nil:
		return "not bound to the log"
	case b.Leaf != nil:
		return fmt.Sprintf("leaf %d %s", *b.Leaf, b.Field)
	default:
		return fmt.Sprintf("column %s of %s", b.Column, b.Row)
	}
}

// leavesFile is log/leaves.json.
type leavesFile struct {
	Origin   string      `json:"origin"`
	TreeSize int64       `json:"tree_size"`
	TreeRoot string      `json:"tree_root"`
	Leaves   []leafEntry `json:"leaves"`
}

// leafEntry is one leaf of log/leaves.json: its index, its canonical bytes
// (as a JSON string), its record hash and its inclusion proof (base64
// hashes, tlog's order).
type leafEntry struct {
	Index int64    `json:"index"`
	Leaf  string   `json:"leaf"`
	Hash  string   `json:"hash"`
	Proof []string `json:"proof"`
}

// sigText is the text manifest.sig signs.
func sigText(manifest []byte) string {
	return Format + "\n" + sha256Hex(manifest) + "\n"
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func sm3Hex(b []byte) string {
	s := sm3.Sum(b)
	return hex.EncodeToString(s[:])
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, fmt.Errorf("%q is not a base64 hash of %d bytes", s, tlog.HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// maxPath bounds a path's length.
const maxPath = 512

// checkPath refuses a path that is not a clean relative slash path.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case len(p) > maxPath:
		return fmt.Errorf("path longer than %d bytes", maxPath)
	case !utf8.ValidString(p):
		return fmt.Errorf("path is not UTF-8")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path starts with /")
	case strings.ContainsAny(p, "\\:"):
		return fmt.Errorf("path has a backslash or a colon")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("path has a control character")
		}
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("path has an empty, . or .. element")
		}
	}
	return nil
}

// reserved reports whether p is a path Write itself writes.
func reserved(p string) bool {
	return p == PathManifest || p == PathManifestSig || p == PathReport || strings.HasPrefix(p, "log/")
}

var itemKinds = map[string]bool{KindRow: true, KindCallback: true, KindAPIAnswer: true, KindFact: true,
	KindDocument: true, KindValidation: true, KindOplog: true, KindAttachment: true, KindNotary: true,
	KindEndsign: true, KindSignlog: true, KindRefusal: true, KindOther: true}
