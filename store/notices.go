package store

import "context"

// NoticeLedger records notices: the callbacks qyshook receives but cannot
// confirm (seal audit, signing and company authorisations, physical
// seal). It is apart from Ledger so that ledgers without it keep
// compiling; both SQL ledgers have it, and the dispatcher dead-letters a
// notice when its ledger lacks it.
type NoticeLedger interface {
	// ApplyNotice records the notice's event and writes its facts to the
	// outbox in one transaction (facts carry no ContractID: they are not
	// numbered). It returns ErrDuplicate when the event id was applied
	// before (nothing is written).
	ApplyNotice(ctx context.Context, ev Event, facts []Fact) error
}
