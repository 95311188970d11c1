package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/redact"
)

// doctorAnchor checks the checkpoint key (read, never generated) and asks
// every time-stamping authority for one token over a probe.
func doctorAnchor(ctx context.Context, cfg *config.Config) []Finding {
	s := &Services{Cfg: cfg}
	var out []Finding
	path, gen := s.KeyFile()
	a := cfg.Anchor
	switch _, err := os.Stat(path); {
	case errors.Is(err, os.ErrNotExist) && gen:
		out = append(out, Finding{Check: "checkpoint key", OK: true, Seen: path + " absent: the first start generates it"})
	case err != nil:
		out = append(out, Finding{Check: "checkpoint key", Seen: err.Error(),
			Fix: "point " + config.Prefix + "LOG_KEY at the key file, or unset it to use (and generate) " + path})
	default:
		k, err := checkpoint.New(checkpoint.Options{Origin: a.Origin, KeyFile: path, VerifierKeys: a.VerifierKeys})
		if err != nil {
			out = append(out, Finding{Check: "checkpoint key", Seen: err.Error(),
				Fix: "fix the key file's mode (600) or name (it must be " + config.Prefix + "LOG_ORIGIN), or " + config.Prefix + "LOG_VERIFIER_KEYS"})
		} else {
			out = append(out, Finding{Check: "checkpoint key", OK: true,
				Seen: fmt.Sprintf("key %s of %s; verifier key %s; %d earlier key(s) accepted", k.KeyID(), k.Origin(), k.VerifierKey(), len(a.VerifierKeys))})
		}
	}
	client, err := s.TSAClient()
	switch {
	case err != nil:
		return append(out, Finding{Check: "time-stamping", Seen: err.Error(), Fix: "check " + config.Prefix + "TSA_URLS and " + config.Prefix + "TSA_ROOTS"})
	case client == nil:
		return append(out, Finding{Check: "time-stamping", OK: true,
			Seen: "no authority (" + config.Prefix + "TSA_URLS empty): checkpoints are signed, not anchored to trusted time"})
	}
	for _, u := range client.URLs() {
		start := time.Now()
		st, err := client.Stamp(ctx, u, []byte("qyshook doctor probe "+start.UTC().Format(time.RFC3339Nano)))
		label := redact.URL(u)
		if err != nil {
			out = append(out, Finding{Check: "tsa " + label, Seen: err.Error(),
				Fix: "check the network path to the authority and its status; anchoring waits (callbacks do not) until one answers"})
			continue
		}
		out = append(out, Finding{Check: "tsa " + label, OK: true, Seen: fmt.Sprintf("granted in %s, its time %s (off by %s)",
			time.Since(start).Round(time.Millisecond), st.Time.UTC().Format(time.RFC3339), start.Sub(st.Time).Round(time.Second))})
	}
	return out
}
