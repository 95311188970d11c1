package qystest

import (
	"fmt"
	"time"
)

// Discrepancy is a disagreement between the fake's sources that it can
// produce on demand, so that a cross-source check has something to find.
// A tampered download, the fourth kind, is TamperNextDownloads.
type Discrepancy string

// Discrepancies the fake can produce in a contract's signed PDFs; the
// contract detail, the callbacks and the operation log stay truthful.
const (
	// DiscrepancyMissingSignature leaves the last company signatory's
	// signature out of the PDFs, though the detail says it signed.
	DiscrepancyMissingSignature Discrepancy = "missing_signature"
	// DiscrepancyUnknownSigner adds a signature by UnknownSignerName,
	// who is no signatory of the contract.
	DiscrepancyUnknownSigner Discrepancy = "unknown_signer"
	// DiscrepancyLateSignature dates the last signature an hour after
	// the contract's completion (its endTime).
	DiscrepancyLateSignature Discrepancy = "signed_after_completion"
)

// UnknownSignerName signs for DiscrepancyUnknownSigner.
const UnknownSignerName = "Mallory Holdings Ltd"

// InjectDiscrepancy makes the contract's PDFs, when it completes, show
// the given discrepancies. Call it before the last signature.
func (s *Server) InjectDiscrepancy(contractID string, kinds ...Discrepancy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contracts[contractID] == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContract, contractID)
	}
	if s.discrepancies == nil {
		s.discrepancies = map[string][]Discrepancy{}
	}
	s.discrepancies[contractID] = append(s.discrepancies[contractID], kinds...)
	return nil
}

// withDiscrepanciesLocked changes the signatures the contract's PDFs get.
func (s *Server) withDiscrepanciesLocked(c *contract, sigs []signature) []signature {
	for _, k := range s.discrepancies[c.id] {
		switch k {
		case DiscrepancyMissingSignature:
			if len(sigs) > 0 {
				sigs = sigs[:len(sigs)-1]
			}
		case DiscrepancyUnknownSigner:
			sigs = append(sigs, signature{name: UnknownSignerName, at: s.now()})
		case DiscrepancyLateSignature:
			if len(sigs) > 0 {
				sigs[len(sigs)-1].at = c.end.Add(time.Hour)
			}
		}
	}
	return sigs
}
