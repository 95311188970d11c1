package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/adminapi"
)

const (
	checkpointsStatusArgs  = "[--json]"
	checkpointsListArgs    = "[--limit 20] [--json]"
	checkpointsRequestArgs = "[--json]"
)

var checkpointsSubs = []opsSub{
	{"status", checkpointsStatusArgs, runCheckpointsStatus},
	{"list", checkpointsListArgs, runCheckpointsList},
	{"request", checkpointsRequestArgs, runCheckpointsRequest},
}

func runCheckpointsStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "checkpoints status", checkpointsStatusArgs+"\n"+
		"  The receipt log's newest checkpoint, the newest one anchored (time-stamped by an RFC 3161\n"+
		"  authority), and how many wait for a time-stamp.")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return opsUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	st, err := c.LogStatus(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, st)
	}
	t := newTable(env.Stdout, "Receipt log", "")
	t.row("Newest checkpoint", checkpointLine(st.Latest))
	t.row("Newest anchored", checkpointLine(st.LatestAnchored))
	waiting := strconv.FormatInt(st.Unanchored, 10)
	if st.OldestUnanchoredAt != nil {
		waiting += " (the oldest signed " + opsTimePtr(st.OldestUnanchoredAt) + ")"
	}
	t.row("Waiting for a time-stamp", waiting)
	return t.flush()
}

// rootB64 writes a checkpoint's root (hex in the admin API) in base64, as
// the signed note, log head, log proof and verify --log write roots, so a
// user compares like with like. A value that is not a 32-byte hex hash is
// shown as it is.
func rootB64(hexRoot string) string {
	b, err := hex.DecodeString(hexRoot)
	if err != nil || len(b) != tlog.HashSize {
		return hexRoot
	}
	return base64.StdEncoding.EncodeToString(b)
}

// checkpointLine is one checkpoint in a sentence.
func checkpointLine(c *adminapi.Checkpoint) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%d leaves, root %s, signed %s (%s ago) by key %s", c.Size, rootB64(c.Root), opsTime(c.CreatedAt),
		fmtSeconds(c.AgeSeconds), c.KeyID)
}

func fmtSeconds(s float64) string {
	switch {
	case s < 90:
		return fmt.Sprintf("%.0f s", s)
	case s < 5400:
		return fmt.Sprintf("%.0f min", s/60)
	default:
		return fmt.Sprintf("%.1f h", s/3600)
	}
}

func runCheckpointsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "checkpoints list", checkpointsListArgs+"\n"+
		"  The receipt log's signed checkpoints, newest first, with their time-stamps.")
	limit := fs.Int("limit", 20, "at most this many, newest first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseList(fs, args, limit); err != nil {
		return err
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	out, more, err := collect(ctx, c, c.Checkpoints, url.Values{}, *limit)
	if err != nil {
		return err
	}
	return printList(env, out, more, *limit, "checkpoints", *asJSON, []string{"SIZE", "ROOT", "KEY", "SIGNED", "ANCHORED", "TIME-STAMPS"},
		func(t *table, c adminapi.Checkpoint) {
			stamps := ""
			for i, s := range c.Stamps {
				if i > 0 {
					stamps += ", "
				}
				stamps += opsTime(s.GenTime) + " " + s.TSAURL
			}
			t.row(c.Size, rootB64(c.Root), c.KeyID, opsTime(c.CreatedAt), yesNo(c.Anchored), orDash(stamps))
		})
}

func runCheckpointsRequest(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "checkpoints request", checkpointsRequestArgs+"\n"+
		"  Signs a checkpoint of the receipt log now, when it grew since the last one (operator token;\n"+
		"  audited); the service has it time-stamped in the background (see checkpoints status).")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return opsUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	res, err := c.RequestCheckpoint(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, res)
	}
	switch {
	case res.Checkpoint == nil:
		fmt.Fprintln(env.Stdout, "the receipt log is empty: no checkpoint signed")
	case res.Created:
		fmt.Fprintf(env.Stdout, "signed: %s\n", checkpointLine(res.Checkpoint))
	default:
		fmt.Fprintf(env.Stdout, "the log did not grow; the newest: %s\n", checkpointLine(res.Checkpoint))
	}
	return nil
}
