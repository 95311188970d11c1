package evidence

import (
	"bytes"
	"fmt"
	"html/template"
	"time"

	"github.com/qyshook/qyshook/tsa"
)

// beijing is UTC+8, shown beside UTC (no tz database needed).
var beijing = time.FixedZone("UTC+8", 8*3600)

// RenderReport renders report.html for c: a self-contained bilingual
// (中文/English) page, escaped by html/template, with no script and no
// external resource. mask (nil: none) is applied to every personal string
// (subject, business id, names, document titles, discrepancy details,
// the summary's notes); the admin API
// serves a viewer this masked report without the documents. The page
// depends only on c, so the same contents render the same bytes.
func RenderReport(c Contents, mask func(string) string) ([]byte, error) {
	if mask == nil {
		mask = func(s string) string { return s }
	}
	v := reportView{C: c, Format: Format, Sponsor: mask(c.Summary.Sponsor), Subject: mask(c.Summary.Subject),
		BizID: mask(c.Summary.BizID)}
	for _, n := range c.Summary.Notes {
		v.Notes = append(v.Notes, mask(n))
	}
	for _, p := range c.Summary.Parties {
		p.Name = mask(p.Name)
		v.Parties = append(v.Parties, p)
	}
	for _, p := range c.Summary.PDFs {
		p.Title = mask(p.Title)
		signers := make([]PDFSigner, len(p.Signers))
		for i, s := range p.Signers {
			s.Name = mask(s.Name)
			signers[i] = s
		}
		p.Signers = signers
		v.PDFs = append(v.PDFs, p)
	}
	for _, d := range c.Summary.Discrepancies {
		d.Party, d.Detail = mask(d.Party), mask(d.Detail)
		v.Discrepancies = append(v.Discrepancies, d)
	}
	for _, it := range c.Items {
		ri := reportItem{Path: it.Path, Kind: it.Kind, Size: len(it.Data), SHA256: sha256Hex(it.Data), Note: it.Note, NoteZH: it.NoteZH}
		switch {
		case it.Leaf != nil:
			ri.Binding = fmt.Sprintf("leaf %d · %s", *it.Leaf, it.Field)
		case it.Row != "":
			ri.Binding = fmt.Sprintf("%s · %s", it.Row, it.Column)
		}
		v.Items = append(v.Items, ri)
	}
	var ck checker
	if tree, ok := ck.checkpointNote(c.Checkpoint, checkOptions{keys: []string{c.VerifierKey}}); ok {
		v.TreeSize, v.TreeRoot = tree.N, b64(tree.Hash)
	}
	for i, s := range c.Stamps {
		rs := reportStamp{Path: fmt.Sprintf("%s%d.tsr", pathStamps, i), URL: s.URL}
		if certs, err := tsa.ParseCerts(s.Certs); err == nil {
			if got, err := tsa.Verify(s.Token, c.Checkpoint, nil, certs); err == nil {
				rs.Time, rs.Authority = got.Time, got.Signer.Subject.CommonName
			}
		}
		v.Stamps = append(v.Stamps, rs)
	}
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("evidence: report: %w", err)
	}
	return b.Bytes(), nil
}

type reportView struct {
	C                Contents
	Format           string
	Sponsor, Subject string
	BizID            string
	Notes            []string
	Parties          []Party
	PDFs             []PDFVerdict
	Discrepancies    []Discrepancy
	Items            []reportItem
	Stamps           []reportStamp
	TreeSize         int64
	TreeRoot         string
}

type reportItem struct {
	Path, Kind, SHA256, Binding, Note, NoteZH string
	Size                                      int
}

type reportStamp struct {
	Path, URL, Authority string
	Time                 time.Time
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC") + " (北京时间 " + t.In(beijing).Format("2006-01-02 15:04:05") + ")"
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"time": fmtTime}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>证据包 Evidence bundle — {{.C.ContractID}} v{{.C.Version}}</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#111;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code,.h{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
.en{color:#444}.bad{color:#a00;font-weight:bold}.ok{color:#060}.note{background:#fffbe6;border:1px solid #e6d9a3;padding:.6em}
</style>
</head>
<body>
<h1>证据包 · Evidence bundle</h1>
<p>合同 Contract <code>{{.C.ContractID}}</code> · 租户 tenant <code>{{.C.Tenant}}</code> · 版本 version {{.C.Version}} · 格式 format <code>{{.Format}}</code></p>
<p class="note">本报告描述 qyshook 收到、确认并保存的证据及其核验方法，不构成法律意见。<br>
<span class="en">This report describes the evidence qyshook received, confirmed and kept, and how to check it. It is not legal advice.</span></p>

<h2>合同 · The contract</h2>
<table>
<tr><th>主题 Subject</th><td>{{.Subject}}</td></tr>
<tr><th>业务编号 Business id</th><td>{{.BizID}}</td></tr>
<tr><th>发起方 Sponsor</th><td>{{.Sponsor}}</td></tr>
<tr><th>状态 State when built</th><td>{{.C.State}}</td></tr>
<tr><th>生成时间 Built at</th><td>{{time .C.BuiltAt}}</td></tr>
</table>

<h2>签署方 · Parties</h2>
{{if .Parties}}<table>
<tr><th>名称 Name</th><th>类型 Type</th><th>状态 Status</th><th>签署时间 Signed at</th></tr>
{{range .Parties}}<tr><td>{{.Name}}</td><td>{{.Type}}</td><td>{{.Status}}</td><td>{{time .SignedAt}}</td></tr>
{{end}}</table>{{else}}<p>无 · none recorded</p>{{end}}

<h2>状态变化 · States</h2>
{{if .C.Summary.States}}<table>
<tr><th>状态 Status</th><th>时间 At (qyshook's clock)</th><th>来源 Source</th><th>事件 Event</th></tr>
{{range .C.Summary.States}}<tr><td>{{.Status}}</td><td>{{time .At}}</td><td>{{.Source}}</td><td><code>{{.EventID}}</code></td></tr>
{{end}}</table>{{else}}<p>无 · none recorded</p>{{end}}

<h2>签名文件 · Signed PDFs</h2>
{{if .PDFs}}<table>
<tr><th>文件 Document</th><th>结论 Verdict (when archived)</th><th>签名 Signatures (signing time is the signer's claim)</th><th>吊销信息 Revocation material</th></tr>
{{range .PDFs}}<tr><td>{{.Title}}<br><code>{{.DocumentID}}</code>{{if .Path}}<br><code>{{.Path}}</code>{{end}}</td>
<td>{{if eq .Verdict "valid"}}<span class="ok">{{.Verdict}}</span>{{else}}<span class="bad">{{.Verdict}}</span>{{end}}{{if .Problem}}<br>{{.Problem}}{{end}}</td>
<td>{{range .Signers}}{{.Name}} · {{time .SigningTime}} · {{if .Trusted}}trusted 可信{{else}}<span class="bad">not trusted 未验证信任</span>{{end}}<br>{{end}}</td>
<td>{{.ValidationStatus}}</td></tr>
{{end}}</table>{{else}}<p>无 · none</p>{{end}}

<h2>差异 · Discrepancies between sources</h2>
{{if .Discrepancies}}<table>
<tr><th>类型 Kind</th><th>文件 Document</th><th>方 Party</th><th>详情 Detail</th></tr>
{{range .Discrepancies}}<tr><td class="bad">{{.Kind}}</td><td><code>{{.Document}}</code></td><td>{{.Party}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>{{else}}<p>未发现 · none found (callbacks, API detail and PDF signatures agree)</p>{{end}}
{{if .Notes}}<h2>说明 · Notes</h2><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}

<h2>证据项 · Items</h2>
<p>每一项的 SHA-256 列在 manifest.json 中，manifest.sig 对其签名。绑定列说明该哈希与哪个回执日志叶子（或行的哪一列）相同。<br>
<span class="en">Each item's SHA-256 is listed in manifest.json, which manifest.sig signs. The binding says which receipt-log leaf (or which column of a row) carries the same hash.</span></p>
<table>
<tr><th>路径 Path</th><th>类型 Kind</th><th>大小 Bytes</th><th>SHA-256</th><th>绑定 Binding</th><th>说明 What it is</th></tr>
{{range .Items}}<tr><td><code>{{.Path}}</code></td><td>{{.Kind}}</td><td>{{.Size}}</td><td class="h">{{.SHA256}}</td><td>{{if .Binding}}{{.Binding}}{{else}}—{{end}}</td><td>{{.NoteZH}}{{if .NoteZH}}<br>{{end}}<span class="en">{{.Note}}</span></td></tr>
{{end}}</table>

<h2>回执日志与时间戳 · Receipt log and time-stamps</h2>
<table>
<tr><th>检查点 Checkpoint</th><td><code>log/checkpoint.txt</code>: {{.TreeSize}} leaves, root <code>{{.TreeRoot}}</code></td></tr>
<tr><th>验证公钥 Verifier key</th><td><code>{{.C.VerifierKey}}</code> (compare with the key the operator published)</td></tr>
<tr><th>叶子 Leaves</th><td>{{len .C.Leaves}} in <code>log/leaves.json</code>, each with its inclusion proof</td></tr>
{{range .Stamps}}<tr><th>时间戳 Time-stamp</th><td><code>{{.Path}}</code> · {{.URL}} · {{.Authority}} · {{time .Time}}</td></tr>
{{else}}<tr><th>时间戳 Time-stamp</th><td class="bad">无：检查点尚未锚定 · none: the checkpoint is not anchored to trusted time</td></tr>{{end}}
</table>

<h2>如何核验 · How to check it yourself</h2>
<ol>
<li><code>qyshook evidence verify bundle.zip --key '&lt;verifier key&gt;' --tsa-roots tsa-root.pem --roots ca.pem</code>
— 无需网络、数据目录或数据库 · no network, data dir or database. 请固定（pin）您自己保存的日志公钥与根证书，不要使用包内的副本：未固定时任何人都能用自己的密钥伪造一个“一致”的证据包（退出码 3）。
<span class="en">Pin the log's verifier key the operator published and the roots you trust, never the copies in this bundle: unpinned, a bundle anyone forged with a key of their own is merely consistent (exit 3, "NOT PINNED"); exit 0 means every check holds against what you pinned.</span></li>
<li>文件哈希 File hashes: <code>sha256sum FILE</code> equals its <code>sha256</code> in manifest.json.</li>
<li>清单签名 The manifest: <code>sha256sum manifest.json</code> is the second line of manifest.sig, a note signed by the log's key (Ed25519, <code>golang.org/x/mod/sumdb/note</code>).</li>
<li>时间戳 Time-stamps: <code>openssl ts -verify -token_in -in log/stamps/0.tsr -data log/checkpoint.txt -CAfile tsa-root.pem -untrusted log/stamps/0.pem</code></li>
<li>PDF 签名 PDF signatures: <code>pdfsig -nssdir sql:DIR FILE.pdf</code> with the signing CA trusted in DIR (certutil).</li>
<li>包含证明 Inclusion: each leaf of log/leaves.json hashes as SHA-256(0x00‖leaf) and, with its proof, to the checkpoint's root (RFC 6962); an item's SHA-256 equals its bound leaf's <code>sha256</code> or <code>body_sha256</code>.</li>
</ol>
<p class="en">See docs/evidence.md, "The evidence bundle (format qyshook.evidence.v1)", for what each item proves and what it does not.</p>
</body>
</html>
`
