// Command receiver is qyshook's callback daemon: it verifies 契约锁
// callbacks and answers success only once they are durable on JetStream.
// It is configured by QYSHOOK_ environment variables (see the README) and
// serves /healthz, /readyz and /metrics beside the callback routes.
package main

import (
	"os"

	"github.com/qyshook/qyshook/internal/app"
)

func main() {
	os.Exit(app.Main("receiver", app.Roles{Receiver: true}))
}
