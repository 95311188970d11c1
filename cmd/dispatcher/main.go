// Command dispatcher consumes QYS_CALLBACKS into the ledger: it confirms
// contract callbacks through the 契约锁 API, archives signed documents,
// publishes ledger facts, dead-letters what cannot be applied and
// reconciles what callbacks missed. It serves /healthz, /readyz and
// /metrics on QYSHOOK_HTTP_ADDR (default :8081).
package main

import (
	"os"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
)

func main() {
	os.Exit(app.Main("dispatcher", app.Roles{Dispatcher: true},
		config.WithDefaultHTTPAddr(config.DefaultDispatcherAddr), config.WithNeeds(0)))
}
