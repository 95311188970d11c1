// Package qystest is a fake 契约锁 (QiYueSuo) for tests and local
// development, shaped like net/http/httptest and pstest: NewServer starts
// it on a loopback port, Close stops it, URL/AppToken/AppSecret say how to
// reach it and Client returns a qys.Client pointed at it.
//
// It serves the open API's read side (GET /v2/contract/detail, /list,
// /v2/document/download, /v2/contract/download, /downloadurl) over
// contracts set up with AddContract, checks every request's auth headers as
// the platform does, records requests, injects faults, and plays contract
// lifecycles (Send, Sign, Reject, Recall, Expire, Invalidate) and
// certifications, sending the matching callbacks signed and encrypted with
// qys.BuildCallback to the target set with SetCallbackTarget, retrying on
// a scaled copy of the platform's schedule.
//
//	srv := qystest.NewServer()
//	defer srv.Close()
//	srv.SetCallbackTarget(qystest.CallbackTarget{ContractURL: recv.URL + "/contract",
//		Sender: qys.SenderConfig{Format: qys.FormatA, Secret: secret, Encrypt: true}})
//	id := srv.AddContract(qystest.ContractSpec{Subject: "NDA",
//		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲公司"}}})
//	_ = srv.Send(id)
//	_ = srv.Sign(id, 0) // SEAL, then COMPLETE
//	_ = srv.WaitIdle(ctx)
//
// # Time-stamping authority
//
// Beside the platform, the fake serves a real RFC 3161 time-stamping
// authority at TSAPath (package tsa/tsatest: its own root and a signing
// certificate with the critical timeStamping usage), so tests and the demo
// anchor receipt-log checkpoints for real; TSA().SetFault (or POST
// /_sim/tsa?fault=down|500|hang|none) takes it down. 契约锁 has no such
// service: it stands for the third-party authorities of QYSHOOK_TSA_URLS.
//
// # Auth checks
//
// A request must carry x-qys-open-accesstoken, -timestamp and -signature
// (else HTTP 441, code 441); the token must be known and the signature
// equal lowercase hex MD5(token+secret+timestamp+nonce), the timestamp (ms)
// within the window and the nonce unused (else HTTP 442, code 442,
// responseCode "11990442"). Only GET is allowed (else 405).
//
// The nonce header may be left out: the three-header form that older
// vendor SDKs send (PHP SDK 1.5.0, the jssdk PHP proxy, a 2024 third-party
// PHP SDK) signs MD5(token+secret+timestamp) and is accepted, as the
// platform appears to accept it (docs/qys-protocol.md §1.2, §7; no source
// says it is refused). Such a request has no replay check beyond the
// timestamp window. WithNonceRequired refuses it with 441, as the public
// protocol page describes.
//
// A nonce is remembered for at least the nonce TTL (10 minutes) and for
// as long as its request's timestamp stays inside the window, so a replay
// is refused until its timestamp goes stale (the platform's page says only
// "once within 10 minutes"; a replay it accepted after 10 minutes with a
// still-fresh timestamp would be a hole, so the fake is the stricter).
// Expiry costs O(1) per call at any volume (a time wheel of one-second
// buckets): BenchmarkNonceCheck stays flat from 10,000 to 1,000,000 live
// nonces.
//
// # Where the fake differs from the real platform
//
//   - Timestamp window: ±15 minutes by default (WithTimestampWindow), the
//     private-cloud value; the public cloud's is not documented.
//   - A reused nonce is refused with 442 "NONCE ALREADY USED"; the
//     platform's code for it is unknown. Bad signatures and stale
//     timestamps are 442 too, with the fake's own messages; only "INVALID
//     TOKEN" was seen on the platform.
//   - Ids are 19-digit numbers like the platform's, from a random offset
//     per Server, so two runs (a restarted `qyshook sim` writing to the
//     same ledger) do not collide; WithIDSeed makes them repeatable.
//   - Detail fields follow the vendor SDK's models: documents carry
//     pageCount (always 1) and createTime (the contract's), receivers name,
//     contact and contactType (EMAIL when the contact has "@", else
//     MOBILE). Signatory statuses (public cloud): DRAFT before sending;
//     SIGNING for the first signatory still to sign and WAITING for later
//     ones (the fake lets any of them sign: Sign takes an index); SIGNED
//     once signed; REJECTED; RECALLED or EXPIRED with the contract. Action
//     statuses: INIT, START (the signatory's turn), FINISH, STOP (rejected,
//     recalled, expired). Private-cloud mode keeps the 4.0 doc's COMPLETE
//     and action WAITING/SIGNING/SIGNED/REJECTED. Each signatory has one
//     action; the platform's action lists per signatory are not modelled.
//   - Not-found answers are HTTP 200 with qys.CodeContractNotFound or
//     qys.CodeDocumentNotFound, codes chosen by qyshook: the platform's real
//     codes are unknown. Parameter errors are HTTP 200, code 1000001.
//   - Rate limiting (RateLimitNext) answers HTTP 200 with code 11990006;
//     injected failures (FailNext) answer a plain-text body, as a gateway.
//     LimitRate enforces a limit per application (a token bucket of one
//     second's worth, per app token) and answers requests over it the same
//     way, or with HTTP 429 and Retry-After: 1; the platform's real limit,
//     window and answer are not documented, so tests set their own.
//     Throttle refuses every request (HTTP 429, 11990006, optional
//     Retry-After) while on: a time-based spell of refusals, also
//     switched through the control API (POST /_sim/throttle).
//   - Publish time is the time of AddContract unless ContractSpec sets it;
//     list ordering defaults to newest first (the platform's default is
//     not documented); categories, signatoryType and createTimeOrder beyond
//     ASC/DESC are ignored.
//   - Document content is whatever the test gives, a real PDF (signed on
//     completion; see Documents and evidence), or, with DocumentSpec.Size,
//     deterministic PDF-looking noise; the sign log is UTF-8 text (SignLogName), not a
//     PDF. Only the CONTRACT and SIGNLOG download items produce files.
//     Download links point back to the fake, need no auth headers and
//     expire after 60 minutes of the fake's clock.
//   - Private-cloud mode (WithPrivateCloud) accepts x-qys-* headers with or
//     without x-qys-nonce, serves paths without /v2, and puts detail
//     results under both "result" and "contract" and list items under both
//     "list" and "contractList".
//   - Callbacks: the retry schedule (contract: 5 min, 2 h ×4, 12 h, 24 h;
//     auth: immediately, 1 min, 1 min — quoted by a secondary source only)
//     is multiplied by WithTimeScale, default 1e-5. A retry resends the same
//     payload with a new timestamp and signature (and, in format B, whatever
//     qys.BuildCallback puts in a new envelope); whether the platform
//     re-signs retries is not documented. Success is HTTP 200 with body
//     "success" (contract) or JSON code 0 / "success" (auth); the platform's
//     exact rule is unknown. Deliveries are made one at a time by one
//     goroutine, in creation order; a retry is queued behind later
//     callbacks, so a failing receiver sees callbacks out of order, as with
//     the platform.
//   - Contract callbacks from the sponsor (SEND_SIGNING, COMPLETE, RECALLED,
//     EXPIRED, invalidation) carry the sponsor company as tenant. The last
//     signatory's PERSONAL/SEAL callback already says contractStatus
//     COMPLETE. Format B has no documented type for sending, rejecting,
//     recalling, expiring or invalidating, so those send no format-B
//     callback; its ids are JSON numbers, as in the one known receiver.
//   - The public-cloud CBC IV is unknown: CBC uses whatever IV
//     CallbackTarget.Sender carries (qys.BuildCallback's default when nil).
//   - Auth callbacks are plain JSON objects; the personal "3" (manual
//     review) status sends no format-B callback. CallbackTarget.AuthShape
//     picks the format-A certification shape: the fake's own (strings and
//     an authInfo JSON string, sent like contract callbacks), AuthShapeSaaS
//     (the one real SaaS callback's: numbers for status and actionEvent,
//     top-level requestId, companyId, companyName, legalPerson, registerNo)
//     or AuthShapeDirect (direct mode: plain form fields, no signature).
//     The SaaS shape of personal certifications is unknown; they keep the
//     fake's own.
//
// # Documents and evidence
//
// A document added without Content or Size is a real one-page PDF drawn
// with github.com/go-pdf/fpdf (ASCII only: core fonts have no CJK glyphs,
// so Chinese titles print as '?'). When a contract completes, each such
// PDF is signed for real with github.com/digitorus/pdfsign: one approval
// signature per company signatory, in signing order, as incremental
// updates; signer name = the signatory's tenant name, signing time = when
// it signed, certificate issued by an ECDSA P-256 CA the fake generates on
// first use (CACertificate). Personal signatories do not sign the file.
// Documents with explicit Content are served as given and never signed;
// documents with Size (the streamed large-document mode) stay unsigned
// synthetic bytes that only look like a PDF.
//
// TamperNextDownloads serves the next document downloads with one byte
// changed inside the first content stream (same length, still parsable,
// no signature digest matches); TamperedContent returns those bytes.
//
// The fake also serves, with the same header checks:
// GET /v2/contract/stream (the contract's lifecycle log as MODIFY records;
// no VIEW/DOWNLOAD/PRINT records), in private mode only GET
// /contract/operationlog (the documented audit of downloads and prints:
// every open-API download, and PrintContract; oplog.go), POST /v2/verify (multipart `file`;
// answered from digitorus/pdfsign/verify: {valid, signatures:[{signer,
// signTime, valid, modified}]}, field names of the fake), GET
// /companyauth/result and GET /v2/personalauth/result (and the SaaS paths
// qys.DefaultSaaSCompanyAuthResult / DefaultSaaSPersonalAuthResult) over
// the certifications CompleteCompanyAuth, CompletePersonalAuth,
// SetCompanyAuth and SetPersonalAuth recorded. An unknown certification is
// HTTP 200 with qys.CodeAuthNotFound, a code chosen by qyshook.
//
// Every callback kind: SendContractCallback sends any contract
// callbackType without changing the contract (ContractCallbackTypes, the
// 20 documented format-A values; ContractCallbackTypesB, CONTRACT_SIGN and
// CONTRACT_COMPLETE plus "CONTRACT_" + the other format-A values, which
// are the fake's guess, not a documented vocabulary);
// SendCertificationCallbackB sends USER_AUTH_* and COMPANY_AUTH_*
// including USER_AUTH_EXPIRED and COMPANY_AUTH_INVALID (their authStatus
// is the fake's: no source gives it); SendNotice sends the seal audit,
// personal signing and company authorisations (the latter's payload is the
// fake's own: none is documented) and the physical seal (always plain,
// unsigned form fields) to CallbackTarget.NoticeURL. Personal
// certifications carry a mobile contact (MobileFor) unless SetPersonalAuth
// gave them one.
//
// Standalone use: Listen (or WithListener) serves the fake on a fixed
// address, and WithControlAPI adds a control API under ControlPrefix
// (/_sim/: trigger a scenario, list contracts and deliveries) that the
// `qyshook sim` command and `qyshook sim trigger <scenario>` use. The
// control API is not part of 契约锁 and needs no authentication: bind it
// to loopback. A long-running fake bounds its request and delivery logs
// with WithLogLimit (the sim keeps the last 10,000) and polls new delivery
// attempts with DeliveriesFrom, so its pace and memory stay flat over a
// million calls.
package qystest
