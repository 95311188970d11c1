package delivery_test

import (
	"io"
	"net/http"

	"github.com/nats-io/nats.go"
)

func readAll(r *http.Request) ([]byte, error) { return io.ReadAll(io.LimitReader(r.Body, 1<<20)) }

type natsMsg = nats.Msg

func copyConn(dst io.Writer, src io.Reader) (int64, error) { return io.Copy(dst, src) }
