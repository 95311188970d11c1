package qystest

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// CAFileName is the name under which `qyshook sim` and `qyshook demo`
// write the fake's signing CA into their data dir.
const CAFileName = "qystest-ca.pem"

// CACertificatePEM returns the fake's signing CA (CACertificate) as one
// PEM "CERTIFICATE" block, for validators outside Go (pdfsig, pyHanko,
// Acrobat) to trust.
func (s *Server) CACertificatePEM() ([]byte, error) {
	ca, err := s.CACertificate()
	if err != nil {
		return nil, fmt.Errorf("qystest: signing CA: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), nil
}

// WriteCACertificate writes CACertificatePEM into dir as CAFileName
// (readable by all: it is public) and returns the file's path. The CA is
// generated per Server, so a new fake writes a new certificate.
func (s *Server) WriteCACertificate(dir string) (string, error) {
	b, err := s.CACertificatePEM()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, CAFileName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("qystest: write CA: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("qystest: write CA: %w", err)
	}
	return path, nil
}
