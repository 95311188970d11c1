package cli

// evidenceSubs are the subcommands of `qyshook evidence` on this branch
// until the evidence verb (verify) is merged: then export joins its list.
var evidenceSubs = []opsSub{evidenceExportSub}
