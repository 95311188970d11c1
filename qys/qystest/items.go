package qystest

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/qyshook/qyshook/lifecycle"
)

// Download items of /v2/contract/download besides CONTRACT and SIGNLOG,
// as the vendor SDK names them (ContractDownloadRequest).
const (
	ItemAttachment        = "ATTACHMENT"         // 附件
	ItemNotary            = "NOTARY"             // 存证报告
	ItemEndSignAttachment = "ENDSIGN_ATTACHMENT" // 强制结束附件
)

// Answers of /v2/contract/download when the items asked for hold no file.
// The platform's own codes for these cases are not public: these are the
// fake's choice, and qyshook reads them only through its configurable
// list (QYSHOOK_ARCHIVE_ITEM_REFUSAL_CODES).
const (
	// CodeNoItemFile: none of the items asked for exists for the
	// contract (no attachment, no forced-end attachment, a NOTARY report
	// of an unsigned contract).
	CodeNoItemFile = 1100101
	// CodeNotaryNotEnabled: the 存证报告 is a paid service the tenant has
	// not enabled (SetNotaryEnabled(false)).
	CodeNotaryNotEnabled = 1100102
)

// NotaryReportName is the file name of the 存证报告 inside the zip.
const NotaryReportName = "存证报告.pdf"

// itemState holds the extra items; guarded by Server.mu.
type itemState struct {
	attachments    map[string][]itemFile // by contract id
	endAttachments map[string][]itemFile
	notaryOff      bool
}

type itemFile struct {
	name    string
	content []byte
}

// AddAttachment adds an attachment (附件) to a contract, served for
// downloadItems=ATTACHMENT.
func (s *Server) AddAttachment(contractID, name string, content []byte) error {
	return s.addItem(contractID, name, content, false)
}

// AddEndSignAttachment adds a forced-end attachment (强制结束附件),
// served for downloadItems=ENDSIGN_ATTACHMENT.
func (s *Server) AddEndSignAttachment(contractID, name string, content []byte) error {
	return s.addItem(contractID, name, content, true)
}

func (s *Server) addItem(contractID, name string, content []byte, endSign bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contracts[contractID] == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContract, contractID)
	}
	m := &s.items.attachments
	if endSign {
		m = &s.items.endAttachments
	}
	if *m == nil {
		*m = map[string][]itemFile{}
	}
	(*m)[contractID] = append((*m)[contractID], itemFile{name: name, content: bytes.Clone(content)})
	return nil
}

// SetNotaryEnabled switches the 存证报告 service (on by default). Off, a
// download asking only for NOTARY answers CodeNotaryNotEnabled.
func (s *Server) SetNotaryEnabled(on bool) {
	s.mu.Lock()
	s.items.notaryOff = !on
	s.mu.Unlock()
}

// itemFilesLocked lists the files of one extra item; ok is false for an
// item this file does not serve.
func (s *Server) itemFilesLocked(c *contract, item string) (files []file, ok bool) {
	var list []itemFile
	switch item {
	case ItemAttachment:
		list = s.items.attachments[c.id]
	case ItemEndSignAttachment:
		list = s.items.endAttachments[c.id]
	case ItemNotary:
		if s.items.notaryOff || !lifecycle.Signed(c.status) {
			return nil, true
		}
		report, err := s.notaryReportLocked(c)
		if err != nil {
			return nil, true
		}
		list = []itemFile{{name: NotaryReportName, content: report}}
	default:
		return nil, false
	}
	for _, f := range list {
		content := f.content
		files = append(files, file{name: f.name, contentType: "application/octet-stream", item: item,
			title: f.name, size: int64(len(content)), open: func() io.Reader { return bytes.NewReader(content) }})
	}
	return files, true
}

// notaryReportLocked renders the fake's 存证报告: a one-page PDF naming the
// contract, its sign log, signed by the fake CA as the evidence centre.
func (s *Server) notaryReportLocked(c *contract) ([]byte, error) {
	pdf, err := renderPDF("notary-"+c.id, c.id, "Evidence report (cunzheng baogao) of "+c.id+": "+strings.Join(c.log, " | "), s.now())
	if err != nil {
		return nil, err
	}
	return s.signPDFLocked(pdf, []signature{{name: "qystest evidence centre", at: s.now()}})
}

// noItemAnswerLocked is the refusal for items that produced no file.
func (s *Server) noItemAnswerLocked(items []string) envelope {
	if s.items.notaryOff && len(items) == 1 && items[0] == ItemNotary {
		return envelope{Code: CodeNotaryNotEnabled, Message: "存证报告服务未开通"}
	}
	return envelope{Code: CodeNoItemFile, Message: "没有可下载的文件"}
}
