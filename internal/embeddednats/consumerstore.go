package embeddednats

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// DropConsumerStore removes the stored state of the durable consumer
// named consumer of stream, in the server's default account, when the
// running server has no such consumer loaded. It is for state nats-server
// refused to load: after a power cut a consumer's o.dat can be left as
// zeros; nats-server then starts without that consumer ("corrupt state
// file") but keeps its directory, and every later creation of a consumer
// of that name fails ("error creating store for consumer") until the
// directory is gone. It reports whether a directory was removed; a
// consumer the server has loaded is never touched (an error).
func (s *Server) DropConsumerStore(stream, consumer string) (bool, error) {
	for _, n := range []string{stream, consumer} {
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) {
			return false, fmt.Errorf("embeddednats: drop consumer store: bad name %q", n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.srv
	if srv == nil || !srv.Running() {
		return false, errors.New("embeddednats: drop consumer store: server not running")
	}
	acc := srv.GlobalAccount().Name
	jsz, err := srv.Jsz(&server.JSzOptions{Account: acc, Streams: true, Consumer: true})
	if err != nil {
		return false, fmt.Errorf("embeddednats: drop consumer store: %w", err)
	}
	for _, a := range jsz.AccountDetails {
		for _, st := range a.Streams {
			if st.Name != stream {
				continue
			}
			for _, c := range st.Consumer {
				if c != nil && c.Name == consumer {
					return false, fmt.Errorf("embeddednats: drop consumer store: consumer %s of %s is loaded", consumer, stream)
				}
			}
		}
	}
	dir := filepath.Join(s.o.StoreDir, server.JetStreamStoreDir, acc, "streams", stream, "obs", consumer)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("embeddednats: drop consumer store: %w", err)
	}
	return true, nil
}
