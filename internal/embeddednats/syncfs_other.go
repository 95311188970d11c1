//go:build !linux

package embeddednats

import "errors"

// groupSyncSupported is false off Linux: without syncfs(2) the embedded
// server fsyncs every write itself (nats-server "sync: always").
const groupSyncSupported = false

func storeFlush(string) (func() error, func() error, error) {
	return nil, nil, errors.New("embeddednats: grouped sync needs Linux")
}
