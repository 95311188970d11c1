package admin

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// The console: server-rendered pages (html/template) with small plain
// scripts, all embedded, served beside the API on the admin listener.
// The scripts call the API with the session cookie; see Console.ServeHTTP.

//go:embed templates static
var consoleFS embed.FS

// Console paths and names.
const (
	// ConsolePrefix starts every console page.
	ConsolePrefix = "/console"
	// SessionCookie holds a random session value made at sign-in (never
	// the token); the session lives in the process's memory until its
	// expiry or sign-out.
	SessionCookie = "qyshook_admin_session"
	// LangCookie holds the language the switch chose ("en" or "zh").
	LangCookie = "qyshook_lang"
	// CSRFHeader must be on every request the scripts make with the
	// cookie that is not a GET (a custom header cannot be sent
	// cross-site without CORS, which the listener never allows).
	CSRFHeader = "X-Qyshook-Console"
)

// Languages of the console; the first is the default.
var consoleLangs = []string{"en", "zh"}

// DocumentOpener opens an archived document by the path the ledger holds
// (store/docstore.Store is one).
type DocumentOpener interface {
	Open(relPath string) (*os.File, error)
}

// ConsoleOptions configure the console.
type ConsoleOptions struct {
	// API is the admin API the console's scripts call; required.
	API *API
	// Docs serves archived documents for the download route; without it
	// that route answers 503.
	Docs DocumentOpener
	// SessionTTL is how long a session lives, on the server and in the
	// cookie (default 12 h).
	SessionTTL time.Duration
}

// Console is the web console and the admin API behind one handler.
type Console struct {
	o        ConsoleOptions
	mux      *http.ServeMux
	pages    map[string]*template.Template
	catalogs map[string]map[string]string
	static   http.Handler
	// streams ends the long-lived answers (CloseStreams).
	streams      context.Context
	closeStreams context.CancelFunc
}

// consolePages are the page templates (templates/<name>.html) and the
// navigation order.
var consolePages = []string{"overview", "contracts", "certifications", "dead-letters", "endpoints", "replay", "live", "audit"}

// NewConsole builds the console in front of o.API.
func NewConsole(o ConsoleOptions) (*Console, error) {
	if o.API == nil {
		return nil, fmt.Errorf("%w: console without an API", ErrInvalidOption)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	c := &Console{o: o, pages: map[string]*template.Template{}}
	c.streams, c.closeStreams = context.WithCancel(context.Background())
	var err error
	if c.catalogs, err = loadCatalogs(); err != nil {
		return nil, err
	}
	for _, name := range append([]string{"login", "contract", "certification"}, consolePages...) {
		t, err := template.New("layout.html").ParseFS(consoleFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("admin: console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	sub, err := fs.Sub(consoleFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix(ConsolePrefix+"/static/", http.FileServerFS(sub))
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, ConsolePrefix+"/", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+ConsolePrefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, ConsolePrefix+"/", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+ConsolePrefix+"/static/", c.serveStatic)
	m.HandleFunc("GET "+ConsolePrefix+"/login", c.loginPage)
	m.HandleFunc("POST "+ConsolePrefix+"/login", c.login)
	m.HandleFunc("POST "+ConsolePrefix+"/logout", c.logout)
	m.HandleFunc("GET "+ConsolePrefix+"/lang/{lang}", c.setLang)
	m.HandleFunc("GET "+ConsolePrefix+"/{$}", c.page("overview"))
	for _, p := range consolePages[1:] {
		m.HandleFunc("GET "+ConsolePrefix+"/"+p, c.page(p))
	}
	m.HandleFunc("GET "+ConsolePrefix+"/contracts/{tenant}/{id}", c.page("contract"))
	m.HandleFunc("GET "+ConsolePrefix+"/certifications/{tenant}/{id}", c.page("certification"))
	m.HandleFunc("GET "+ConsolePrefix+"/contracts/{tenant}/{id}/documents/{doc}", c.download)
	c.mux = m
	return c, nil
}

// ServeHTTP serves the console and, below adminapi.Prefix, the API. An API request
// without an Authorization header is authenticated by the session cookie;
// such a request that is not a GET or HEAD must carry CSRFHeader.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Long-lived answers (/events/live) run under the request's own
	// context, not the API's per-request timeout.
	sctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(c.streams, cancel)
	defer stop()
	r = r.WithContext(context.WithValue(r.Context(), streamCtxKey{}, sctx))
	if r.URL.Path == adminapi.Prefix || strings.HasPrefix(r.URL.Path, adminapi.Prefix+"/") {
		c.api(w, r)
		return
	}
	setPageHeaders(w)
	c.mux.ServeHTTP(w, r)
}

// CloseStreams ends every long-lived answer (the live events), so a
// server's graceful shutdown does not wait for them; call it when the
// shutdown starts (http.Server.RegisterOnShutdown).
func (c *Console) CloseStreams() { c.closeStreams() }

// Close ends the live streams and whatever the API runs in the background
// (an API with a Close method: replay and reconcile jobs).
func (c *Console) Close() {
	c.closeStreams()
	if cl, ok := any(c.o.API).(interface{ Close() }); ok {
		cl.Close()
	}
}

func (c *Console) api(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
			if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(CSRFHeader) == "" {
				writeError(w, r, errorf(adminapi.CodeForbidden, "a request with the console's session cookie needs the %s header", CSRFHeader))
				return
			}
			if tok, ok := c.o.API.sessions.lookup(ck.Value); ok {
				r = r.WithContext(withSession(r.Context(), tok))
			}
		}
	}
	c.o.API.ServeHTTP(w, r)
}

// setPageHeaders: no framing, no inline script, no caching of pages that
// show personal data.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	c.static.ServeHTTP(w, r)
}

// headerRole runs the API's authentication (counted, throttled) on the
// request's Authorization header.
func (c *Console) headerRole(r *http.Request) (Role, bool) {
	var role Role
	c.o.API.authenticate(RoleViewer)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		role = roleOf(r)
	})).ServeHTTP(discard{http.Header{}}, r)
	return role, role != ""
}

// discard is a ResponseWriter that drops the answer.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// session is the token of the request's live session.
func (c *Console) session(r *http.Request) (hashedToken, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return hashedToken{}, false
	}
	return c.o.API.sessions.lookup(ck.Value)
}

// sameOrigin refuses a form POST from another site: browsers send Origin
// on POST; when they do, it must be this host.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (c *Console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: behindTLS(r),
	}
}

// behindTLS reports whether the browser reached us over HTTPS: directly,
// or through a proxy that says so (trusting the header can only make the
// cookie stricter).
func behindTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, ConsolePrefix+"/", http.StatusSeeOther)
		return
	}
	c.render(w, r, "login", "", http.StatusOK, "")
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site login refused", http.StatusForbidden)
		return
	}
	a := c.o.API
	if a.failures.refuseThrottled(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	token := strings.TrimSpace(r.PostFormValue("token"))
	src := map[string]string{"source": source(r)}
	tok, ok := a.tokenFor(token)
	if !ok {
		a.failures.fail(source(r), authSignIn, r.URL.Path)
		a.auditConsole(r, "anonymous", "POST /console/login", src, "refused: unknown token")
		c.render(w, r, "login", "", http.StatusUnauthorized, "login.bad_token")
		return
	}
	value, err := a.sessions.start(tok, c.o.SessionTTL)
	if err != nil {
		http.Error(w, "no session", http.StatusInternalServerError)
		return
	}
	a.auditConsole(r, tok.who(), "POST /console/login", src, "ok")
	http.SetCookie(w, c.cookie(r, SessionCookie, value, int(c.o.SessionTTL/time.Second)))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site logout refused", http.StatusForbidden)
		return
	}
	if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
		// Sign-out ends the session on the server, not only in the browser.
		if tok, ok := c.o.API.sessions.lookup(ck.Value); ok {
			c.o.API.sessions.end(ck.Value)
			c.o.API.auditConsole(r, tok.who(), "POST /console/logout", nil, "ok")
		}
	}
	http.SetCookie(w, c.cookie(r, SessionCookie, "", -1))
	http.Redirect(w, r, ConsolePrefix+"/login", http.StatusSeeOther)
}

// setLang: GET /console/lang/{lang}?back=/console/…, the switch.
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if _, ok := c.catalogs[lang]; !ok {
		http.Error(w, "unknown language", http.StatusNotFound)
		return
	}
	http.SetCookie(w, c.cookie(r, LangCookie, lang, 365*24*3600))
	http.Redirect(w, r, safeNext(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// safeNext is a page of the console to return to, or the overview: only
// a path below ConsolePrefix, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, ConsolePrefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return ConsolePrefix + "/"
	}
	return next
}

// lang is the language of a request: the switch's cookie, else the first
// supported language of Accept-Language by its q-values, else English.
func (c *Console) lang(r *http.Request) string {
	if ck, err := r.Cookie(LangCookie); err == nil {
		if _, ok := c.catalogs[ck.Value]; ok {
			return ck.Value
		}
	}
	return pickLang(r.Header.Get("Accept-Language"))
}

// pickLang reads an Accept-Language header.
func pickLang(header string) string {
	type choice struct {
		lang string
		q    float64
		pos  int
	}
	var cs []choice
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		for _, l := range consoleLangs {
			if primary == l && q > 0 {
				cs = append(cs, choice{l, q, i})
			}
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].q > cs[j].q })
	if len(cs) > 0 {
		return cs[0].lang
	}
	return consoleLangs[0]
}

// loadCatalogs reads templates/messages.<lang>.json.
func loadCatalogs() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, l := range consoleLangs {
		b, err := consoleFS.ReadFile("templates/messages." + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("admin: console catalog %s: %w", l, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("admin: console catalog %s: %w", l, err)
		}
		out[l] = m
	}
	return out, nil
}

// pageData is what a page template sees.
type pageData struct {
	Page     string
	Lang     string
	Langs    []string
	Role     Role
	Operator bool
	Path     string // the request's path and query, for the language switch
	Nav      []string
	Error    string // a catalog key
	// Next is the page the login form returns to; Notice a catalog key
	// shown above it (the session expired).
	Next     string
	Notice   string
	Messages template.JS
	msgs     map[string]string
}

// T translates a catalog key; a missing key shows as "!key".
func (p pageData) T(key string) string {
	if s, ok := p.msgs[key]; ok {
		return s
	}
	return "!" + key
}

// page serves one page to a signed-in user; others go to the login page.
func (c *Console) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := c.session(r)
		if !ok {
			// Back to this page after signing in; a session that was
			// there and is no more (expired, signed out elsewhere) says so.
			to := ConsolePrefix + "/login?next=" + url.QueryEscape(r.URL.RequestURI())
			if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
				to += "&expired=1"
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		c.render(w, r, name, tok.role, http.StatusOK, "")
	}
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, role Role, status int, errKey string) {
	lang := c.lang(r)
	msgs := c.catalogs[lang]
	js, _ := json.Marshal(msgs)
	d := pageData{
		Page: name, Lang: lang, Langs: consoleLangs, Role: role, Operator: role == RoleOperator,
		Path: r.URL.RequestURI(), Nav: consolePages, Error: errKey, Messages: template.JS(js), msgs: msgs,
	}
	if name == "login" {
		d.Next = safeNext(r.FormValue("next"))
		if r.URL.Query().Get("expired") != "" {
			d.Notice = "login.expired"
		}
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Language", lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// download: GET /console/contracts/{tenant}/{id}/documents/{doc}, the
// archived file of one document of one contract, for an operator (a
// signed document holds personal data a viewer must not see). The file is
// found through the ledger's row, never from a path in the request.
func (c *Console) download(w http.ResponseWriter, r *http.Request) {
	fail := func(e *adminapi.Error) { writeError(w, r, e) }
	tok, ok := c.session(r)
	role := tok.role
	if !ok {
		if role, ok = c.headerRole(r); !ok {
			fail(errorf(adminapi.CodeUnauthorized, "sign in to the console or send a bearer token"))
			return
		}
	}
	if role != RoleOperator {
		fail(errorf(adminapi.CodeForbidden, "downloading a signed document needs the operator role"))
		return
	}
	if c.o.Docs == nil {
		fail(errorf(adminapi.CodeUnavailable, "this process has no document store"))
		return
	}
	tenant, id, docID := r.PathValue("tenant"), r.PathValue("id"), r.PathValue("doc")
	if !events.ValidToken(tenant) {
		fail(errorf(adminapi.CodeNotFound, "no tenant %q", tenant))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.o.API.o.Timeout)
	defer cancel()
	ct, err := c.o.API.o.Ledger.Contract(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		fail(errorf(adminapi.CodeNotFound, "no contract %s in tenant %s", id, tenant))
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	var doc *store.Document
	for i := range ct.Documents {
		if ct.Documents[i].ID == docID {
			doc = &ct.Documents[i]
		}
	}
	if doc == nil {
		fail(errorf(adminapi.CodeNotFound, "no document %s in contract %s", docID, id))
		return
	}
	if doc.Path == "" {
		fail(errorf(adminapi.CodeNotFound, "document %s is not archived yet", docID))
		return
	}
	f, err := c.o.Docs.Open(doc.Path)
	if errors.Is(err, fs.ErrNotExist) {
		fail(errorf(adminapi.CodeNotFound, "the archived file of document %s is missing from the document store", docID))
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer f.Close()
	ext := path.Ext(doc.Path)
	fileName := doc.ID + ext
	w.Header().Set("Content-Type", contentType(ext))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s",
		fileName, url.PathEscape(docTitle(doc)+ext)))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if doc.SHA256 != "" {
		w.Header().Set("ETag", `"`+doc.SHA256+`"`)
	}
	http.ServeContent(w, r, "", time.Time{}, f)
}

func docTitle(d *store.Document) string {
	if d.Title != "" {
		return d.Title
	}
	return d.ID
}

func contentType(ext string) string {
	switch strings.ToLower(ext) {
	case ".pdf":
		return "application/pdf"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".zip":
		return "application/zip"
	}
	return "application/octet-stream"
}
