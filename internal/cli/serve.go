package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
)

// devSecretFile holds the callback secret serve generates when none is
// configured, so a first run works with nothing set.
const devSecretFile = "dev-callback-secret"

// DevAdminTokenFile holds the operator token serve generates for its
// loopback admin API when no admin token is configured; the CLI reads it
// from the data dir when QYSHOOK_ADMIN_TOKEN is not set.
const DevAdminTokenFile = "admin-token"

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "serve", "[-addr :8080] [-receiver-only | -dispatcher-only]")
	addr := fs.String("addr", "", "HTTP address (default $QYSHOOK_HTTP_ADDR or :8080)")
	recvOnly := fs.Bool("receiver-only", false, "run only the receiver")
	dispOnly := fs.Bool("dispatcher-only", false, "run only the dispatcher")
	flagsUsage := fs.Usage
	fs.Usage = func() {
		flagsUsage()
		fmt.Fprint(fs.Output(), "\nSettings (environment):\n")
		app.WriteSettings(fs.Output(), app.Roles{Receiver: true, Dispatcher: true})
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *recvOnly && *dispOnly {
		return usageErr("-receiver-only and -dispatcher-only exclude each other")
	}
	getenv, generated, err := withDevSecret(env.Getenv)
	if err != nil {
		return err
	}
	getenv, adminTokenFile, err := withDevAdminToken(getenv)
	if err != nil {
		return err
	}
	cfg, err := config.Load(getenv, config.WithNeeds(config.NeedCallbackSecrets))
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if *addr != "" {
		cfg.HTTPAddr = *addr
	}
	log := logger(env, cfg.LogLevel, "qyshook")
	// The warnings wait until the process runs: a start that fails (the
	// data dir in use by another process) says one line.
	warn := func(string) {
		if adminTokenFile != "" {
			log.Info().Str("file", adminTokenFile).Str("admin_addr", cfg.Admin.Addr).
				Msg("admin API on loopback with a generated operator token (the qyshook CLI reads it from the data dir); set QYSHOOK_ADMIN_TOKEN to choose your own")
		}
		if generated != "" {
			log.Warn().Str("file", generated).Msg("QYSHOOK_CALLBACK_SECRET is not set: using a generated development secret; " +
				"set the callback secret from 契约锁 before pointing 契约锁 here")
		}
		for _, t := range cfg.Tenants {
			if !t.QYS.Credentials() {
				log.Warn().Str("tenant", t.Name).Msg("no 契约锁 API credentials: contract states come from callbacks alone " +
					"(flagged unconfirmed) and no documents are archived")
			}
		}
	}
	roles := app.Roles{Receiver: !*dispOnly, Dispatcher: !*recvOnly}
	if err := app.Run(ctx, cfg, log, roles, app.RunOptions{OnReady: warn}); err != nil {
		return err
	}
	return nil
}

// withDevSecret returns getenv unchanged when a secret or a tenants file
// is configured; otherwise it reads (or creates, mode 0600) a random
// 16-character secret under the data dir and serves it as
// QYSHOOK_CALLBACK_SECRET.
func withDevSecret(getenv func(string) string) (func(string) string, string, error) {
	return devSecret(getenv, true)
}

// devSecret is withDevSecret; without create (doctor) a missing file is
// not written: a placeholder of the right length stands for the secret
// serve would generate, so doctor reads what serve reads.
func devSecret(getenv func(string) string, create bool) (func(string) string, string, error) {
	if getenv(config.Prefix+"CALLBACK_SECRET") != "" || getenv(config.Prefix+"CONFIG") != "" ||
		getenv(config.Prefix+"ALLOW_UNSIGNED") != "" {
		return getenv, "", nil
	}
	dir := getenv(config.Prefix + "DATA_DIR")
	if dir == "" {
		dir = config.DefaultDataDir
	}
	path := filepath.Join(dir, devSecretFile)
	secret, err := os.ReadFile(path)
	if (err != nil || len(strings.TrimSpace(string(secret))) != config.SecretLen) && !create {
		secret = []byte(strings.Repeat("x", config.SecretLen))
	} else if err != nil || len(strings.TrimSpace(string(secret))) != config.SecretLen {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", fmt.Errorf("data dir: %w", err)
		}
		secret = []byte(rand.Text()[:config.SecretLen])
		if err := os.WriteFile(path, secret, 0o600); err != nil {
			return nil, "", fmt.Errorf("write development secret: %w", err)
		}
	}
	s := strings.TrimSpace(string(secret))
	return func(k string) string {
		if k == config.Prefix+"CALLBACK_SECRET" {
			return s
		}
		return getenv(k)
	}, path, nil
}

// withDevAdminToken gives serve's admin API an operator token when none is
// configured and it listens on loopback (the default): it reads (or
// creates, mode 0600) a random token under the data dir and serves it as
// QYSHOOK_ADMIN_TOKEN, so `qyshook serve` then `qyshook contracts list` work
// on one laptop with nothing set. An admin address beyond loopback, or
// "off", is left alone (config refuses the first without a token).
//
// Setting only QYSHOOK_ADMIN_VIEWER_TOKEN keeps the generated operator
// token beside it (the CLI's writes need one); setting
// QYSHOOK_ADMIN_TOKEN replaces it.
func withDevAdminToken(getenv func(string) string) (func(string) string, string, error) {
	return devAdminToken(getenv, true)
}

// devAdminToken is withDevAdminToken; without create (doctor) nothing is
// written.
func devAdminToken(getenv func(string) string, create bool) (func(string) string, string, error) {
	if getenv(config.Prefix+"ADMIN_TOKEN") != "" {
		return getenv, "", nil
	}
	addr := getenv(config.Prefix + "ADMIN_ADDR")
	if addr == "" {
		addr = config.DefaultAdminAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !loopbackHost(host) {
		return getenv, "", nil
	}
	path := filepath.Join(dataDir(getenv), DevAdminTokenFile)
	token, err := os.ReadFile(path)
	if (err != nil || len(strings.TrimSpace(string(token))) < config.MinAdminTokenLen) && !create {
		token = []byte(rand.Text())
	} else if err != nil || len(strings.TrimSpace(string(token))) < config.MinAdminTokenLen {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, "", fmt.Errorf("data dir: %w", err)
		}
		token = []byte(rand.Text())
		if err := os.WriteFile(path, token, 0o600); err != nil {
			return nil, "", fmt.Errorf("write admin token: %w", err)
		}
	}
	t := strings.TrimSpace(string(token))
	return func(k string) string {
		if k == config.Prefix+"ADMIN_TOKEN" {
			return t
		}
		return getenv(k)
	}, path, nil
}

// dataDir is QYSHOOK_DATA_DIR or its default.
func dataDir(getenv func(string) string) string {
	if dir := getenv(config.Prefix + "DATA_DIR"); dir != "" {
		return dir
	}
	return config.DefaultDataDir
}

// loopbackHost reports whether host names only this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
