package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/adminapi"
)

const (
	logHeadArgs        = "[--json]"
	logProofArgs       = "(--index N | --contract ID | --event ID | --fact ID | --document ID) [--tenant T] [--tree-size N] [--json]"
	logConsistencyArgs = "--from N [--to M] [--json]"
)

var logSubs = []opsSub{
	{"head", logHeadArgs, runLogHead},
	{"proof", logProofArgs, runLogProof},
	{"consistency", logConsistencyArgs, runLogConsistency},
}

func runLogHead(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "log head", logHeadArgs+"\n  Prints the receipt log's head: its size (leaves) and root hash.")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	head, err := c.LogHead(ctx)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, head)
	}
	t := newTable(env.Stdout, "Receipt log", "")
	t.row("Size", strconv.FormatInt(head.Size, 10)+" leaves")
	t.row("Root", head.Root)
	return t.flush()
}

func runLogProof(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "log proof", logProofArgs+"\n"+
		"  Prints leaves of the receipt log with their inclusion proofs (one by index, or all of a contract, event,\n"+
		"  fact or document) and checks each proof here against the tree the service answered with.")
	q := url.Values{}
	sel := map[string]*string{}
	for _, name := range []string{"index", "contract", "event", "fact", "document"} {
		sel[name] = fs.String(name, "", "the leaves of this "+name)
	}
	tenant := fs.String("tenant", "", "the tenant (default: any)")
	size := fs.Int64("tree-size", 0, "prove in the tree of this many leaves (default: the head)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	n := 0
	for name, v := range sel {
		if *v != "" {
			q.Set(name, *v)
			n++
		}
	}
	if n != 1 {
		return opsUsage(fs, "want exactly one of --index, --contract, --event, --fact or --document")
	}
	if *tenant != "" {
		q.Set("tenant", *tenant)
	}
	if *size < 0 {
		return opsUsage(fs, "--tree-size must not be negative")
	}
	if *size > 0 {
		q.Set("tree_size", strconv.FormatInt(*size, 10))
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	ps, err := c.LogProof(ctx, q)
	if err != nil {
		return apiErr(c, err)
	}
	tree, err := parseTree(ps.Tree)
	if err != nil {
		return err
	}
	for _, l := range ps.Leaves {
		p, err := parseHashes(l.Proof)
		if err == nil {
			err = tlog.CheckRecord(p, tree.N, tree.Hash, l.Index, tlog.RecordHash([]byte(l.Leaf)))
		}
		if err != nil {
			return fmt.Errorf("the proof of leaf %d does not check against the tree of %d leaves: %w", l.Index, tree.N, err)
		}
	}
	if *asJSON {
		return printJSON(env.Stdout, ps)
	}
	fmt.Fprintf(env.Stdout, "tree: %d leaves, root %s\n", ps.Tree.Size, ps.Tree.Root)
	for _, l := range ps.Leaves {
		fmt.Fprintf(env.Stdout, "\nleaf %d (%s %s): proof checked (%d hashes)\n  %s\n", l.Index, l.Kind, l.Ref, len(l.Proof), l.Leaf)
	}
	return nil
}

func runLogConsistency(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "log consistency", logConsistencyArgs+"\n"+
		"  Prints the proof that the tree of --from leaves is a prefix of the tree of --to leaves (default: the\n"+
		"  head) and checks it here.")
	from := fs.Int64("from", 0, "size of the older tree")
	to := fs.Int64("to", 0, "size of the newer tree (default: the head)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *from < 1 {
		return opsUsage(fs, "--from must be at least 1")
	}
	if *to != 0 && *to < *from {
		return opsUsage(fs, "--to must not be smaller than --from")
	}
	q := url.Values{"from": {strconv.FormatInt(*from, 10)}}
	if *to > 0 {
		q.Set("to", strconv.FormatInt(*to, 10))
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	cp, err := c.LogConsistency(ctx, q)
	if err != nil {
		return apiErr(c, err)
	}
	old, err := parseTree(cp.Old)
	if err != nil {
		return err
	}
	cur, err := parseTree(cp.New)
	if err != nil {
		return err
	}
	p, err := parseHashes(cp.Proof)
	if err == nil {
		err = tlog.CheckTree(p, cur.N, cur.Hash, old.N, old.Hash)
	}
	if err != nil {
		return fmt.Errorf("the consistency proof from %d to %d leaves does not check: %w", old.N, cur.N, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, cp)
	}
	fmt.Fprintf(env.Stdout, "old: %d leaves, root %s\nnew: %d leaves, root %s\nproof checked (%d hashes): the old tree is a prefix of the new\n",
		cp.Old.Size, cp.Old.Root, cp.New.Size, cp.New.Root, len(cp.Proof))
	return nil
}

func parseTree(v adminapi.LogTree) (tlog.Tree, error) {
	if v.Size == 0 {
		return tlog.Tree{}, nil
	}
	h, err := tlog.ParseHash(v.Root)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("the service answered a root that is not a hash: %w", err)
	}
	return tlog.Tree{N: v.Size, Hash: h}, nil
}

func parseHashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("the service answered a proof hash that is not a hash: %w", err)
		}
		out[i] = h
	}
	return out, nil
}

// parseNone parses flags and refuses positional arguments.
func parseNone(fs *flag.FlagSet, args []string) error {
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	return nil
}
