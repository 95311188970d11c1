//go:build !linux

package embeddednats

import "errors"

// groupSyncCheck: grouped syncing needs Linux's syncfs(2); elsewhere the
// embedded server fsyncs every write itself (nats-server "sync: always").
func groupSyncCheck(string) string { return "grouped sync needs Linux (syncfs)" }

func storeFlush(string) (func() error, func() error, error) {
	return nil, nil, errors.New("embeddednats: grouped sync needs Linux")
}

type fileSync struct{}

func (*fileSync) stats() (files, dirs, fulls, syncfs uint64) { return }

func storeFilesFlush(string) (func() error, func() error, *fileSync, error) {
	return nil, nil, nil, errors.New("embeddednats: grouped sync needs Linux")
}
