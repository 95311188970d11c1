package qystest

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// Download items of /v2/contract/download and /v2/contract/downloadurl.
// The fake serves CONTRACT and SIGNLOG, and ATTACHMENT, NOTARY and
// ENDSIGN_ATTACHMENT (items.go); CERT is accepted and contributes no file.
const (
	ItemContract = "CONTRACT"
	ItemSignLog  = "SIGNLOG"
)

var knownItems = map[string]bool{ItemContract: true, ItemSignLog: true, "ATTACHMENT": true,
	"NOTARY": true, "ENDSIGN_ATTACHMENT": true, "CERT": true}

// SignLogName is the name of the sign log inside contract zips. The real
// sign log is a PDF; the fake's is UTF-8 text listing the lifecycle events.
const SignLogName = "签署日志.txt"

// LinkValidity is how long /v2/contract/downloadurl links stay valid.
const LinkValidity = 60 * time.Minute

// file is one file of a download: a document or the sign log.
type file struct {
	name, contentType string
	item              string
	documentID, title string
	size              int64
	open              func() io.Reader
}

type link struct {
	files   []file
	zipName string // "" = serve files[0] as is
	expires time.Time
}

func (s *Server) serveDocument(w *recorder, r *http.Request) {
	id := r.URL.Query().Get("documentId")
	if id == "" {
		writeParamError(w, "documentId is required")
		return
	}
	answer, missing := s.holdDocument(r, id)
	if !answer {
		return
	}
	s.mu.Lock()
	d := s.docs[id]
	s.mu.Unlock()
	if d == nil || missing {
		writeNotFound(w, qys.CodeDocumentNotFound, "文档不存在")
		return
	}
	s.auditDownload(d.contractID, d.title)
	f := documentFile(d)
	if s.takeTamper() {
		f = tamperedFile(f)
	}
	streamFile(w, f, s.takeTruncate())
}

func documentFile(d *document) file {
	return file{name: d.filename, contentType: "application/pdf", item: ItemContract,
		documentID: d.id, title: d.title, size: d.size, open: d.open}
}

func parseItems(v string) ([]string, bool) {
	if v == "" {
		return []string{ItemContract, ItemSignLog}, true
	}
	var items []string
	for it := range strings.SplitSeq(v, ",") {
		it = strings.ToUpper(strings.TrimSpace(it))
		if !knownItems[it] {
			return nil, false
		}
		items = append(items, it)
	}
	return items, true
}

// bundleLocked lists the files of the requested items.
func (s *Server) bundleLocked(c *contract, items []string) []file {
	var files []file
	for _, it := range items {
		switch it {
		case ItemContract:
			for _, d := range c.docs {
				files = append(files, documentFile(d))
			}
		case ItemSignLog:
			text := []byte("合同 " + c.id + " " + c.spec.Subject + "\n" + strings.Join(c.log, "\n") + "\n")
			files = append(files, file{name: SignLogName, contentType: "text/plain; charset=utf-8",
				item: ItemSignLog, title: "签署日志", size: int64(len(text)),
				open: func() io.Reader { return bytes.NewReader(text) }})
		default:
			more, _ := s.itemFilesLocked(c, it)
			files = append(files, more...)
		}
	}
	return files
}

func (s *Server) serveContractZip(w *recorder, r *http.Request) {
	q := r.URL.Query()
	items, ok := parseItems(q.Get("downloadItems"))
	if !ok {
		writeParamError(w, "unknown downloadItems")
		return
	}
	s.mu.Lock()
	c, fail := s.lookupLocked(r)
	if c == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, fail)
		return
	}
	files := s.bundleLocked(c, items)
	if len(files) == 0 {
		refusal := s.noItemAnswerLocked(items)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, refusal)
		return
	}
	name := zipName(c)
	s.auditLocked(c, qys.OperationDownloadContract, apiOperator, "下载了合同：《"+c.spec.Subject+"》")
	s.mu.Unlock()
	if q.Get("needCompressForOneFile") == "false" && len(files) == 1 {
		streamFile(w, files[0], s.takeTruncate())
		return
	}
	s.streamZip(w, name, files, s.takeTruncate())
}

func zipName(c *contract) string {
	if c.spec.Subject != "" {
		return c.spec.Subject + ".zip"
	}
	return c.id + ".zip"
}

type downloadURL struct {
	ContractID    string `json:"contractId,omitempty"`
	DocumentID    string `json:"documentId,omitempty"`
	Title         string `json:"title"`
	DownloadItems string `json:"downloadItems"`
	DownloadURL   string `json:"downloadUrl"`
}

func (s *Server) serveDownloadURLs(w *recorder, r *http.Request) {
	q := r.URL.Query()
	items, ok := parseItems(q.Get("downloadItems"))
	if !ok {
		writeParamError(w, "unknown downloadItems")
		return
	}
	expires := s.now().Add(LinkValidity)
	s.mu.Lock()
	c, fail := s.lookupLocked(r)
	if c == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, fail)
		return
	}
	files := s.bundleLocked(c, items)
	urls := []downloadURL{}
	if q.Get("compress") == "true" {
		u := s.addLinkLocked(&link{files: files, zipName: zipName(c), expires: expires})
		urls = append(urls, downloadURL{ContractID: c.id, Title: c.spec.Subject,
			DownloadItems: strings.Join(items, ","), DownloadURL: u})
	} else {
		for _, f := range files {
			u := s.addLinkLocked(&link{files: []file{f}, expires: expires})
			e := downloadURL{Title: f.title, DownloadItems: f.item, DownloadURL: u}
			if f.documentID != "" {
				e.DocumentID = f.documentID
			} else {
				e.ContractID = c.id
			}
			urls = append(urls, e)
		}
	}
	s.mu.Unlock()
	writeOK(w, map[string]any{"downloadUrls": urls})
}

func (s *Server) addLinkLocked(l *link) string {
	token := randomHex(16)
	s.links[token] = l
	return s.URL + linkPrefix + token
}

// serveLink serves a download link. Links carry no auth headers (they are
// pre-signed on the platform); they expire after LinkValidity.
func (s *Server) serveLink(w *recorder, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, linkPrefix)
	s.mu.Lock()
	l := s.links[token]
	s.mu.Unlock()
	if r.Method != http.MethodGet || l == nil || s.now().After(l.expires) {
		w.code = -1
		http.Error(w, "AccessDenied: the link is invalid or expired", http.StatusForbidden)
		return
	}
	if l.zipName == "" {
		streamFile(w, l.files[0], s.takeTruncate())
		return
	}
	s.streamZip(w, l.zipName, l.files, s.takeTruncate())
}

func setFileHeaders(w http.ResponseWriter, name, contentType string, size int64) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
}

// streamFile sends a file with its Content-Length; when truncate is set
// only half of it is written, and net/http then drops the connection.
func streamFile(w *recorder, f file, truncate bool) {
	setFileHeaders(w, f.name, f.contentType, f.size)
	w.WriteHeader(http.StatusOK)
	n := f.size
	if truncate {
		n /= 2
	}
	_, _ = io.CopyN(w, f.open(), n)
}

// streamZip sends the files as a zip: documents stored, the sign log
// deflated. Small bundles are built in memory and get a Content-Length;
// large ones are streamed chunked (no Content-Length).
func (s *Server) streamZip(w *recorder, name string, files []file, truncate bool) {
	var total int64
	for _, f := range files {
		total += f.size
	}
	if total <= s.cfg.inMemoryZipMax {
		var buf bytes.Buffer
		if err := writeZip(&buf, files); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b := buf.Bytes()
		streamFile(w, file{name: name, contentType: "application/zip", size: int64(len(b)),
			open: func() io.Reader { return bytes.NewReader(b) }}, truncate)
		return
	}
	setFileHeaders(w, name, "application/zip", -1)
	w.WriteHeader(http.StatusOK)
	var dst io.Writer = w
	if truncate {
		dst = &cutWriter{w: w, left: total / 2}
	}
	if err := writeZip(dst, files); err != nil {
		// Abort the connection so the client sees a broken chunked stream
		// instead of a clean end.
		panic(http.ErrAbortHandler)
	}
}

func writeZip(dst io.Writer, files []file) error {
	zw := zip.NewWriter(dst)
	seen := map[string]int{}
	for _, f := range files {
		name := f.name
		if n := seen[name]; n > 0 {
			ext := ""
			if i := strings.LastIndexByte(name, '.'); i > 0 {
				name, ext = name[:i], name[i:]
			}
			name = name + "(" + strconv.Itoa(n) + ")" + ext
		}
		seen[f.name]++
		method := zip.Store
		if f.item == ItemSignLog {
			method = zip.Deflate
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: zipTime})
		if err != nil {
			return err
		}
		if _, err := io.Copy(fw, f.open()); err != nil {
			return err
		}
	}
	return zw.Close()
}

// zipTime is the fixed modification time of zip entries (deterministic archives).
var zipTime = time.Date(2024, 1, 1, 0, 0, 0, 0, ChinaTime)

var errCut = errors.New("qystest: download cut")

// cutWriter fails once left bytes were written.
type cutWriter struct {
	w    io.Writer
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		n, _ := c.w.Write(p[:c.left])
		c.left = 0
		return n, errCut
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}
