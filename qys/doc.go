// Package qys speaks the 契约锁 (QiYueSuo) protocol: a client for the open
// API (signed headers, the {code, message, result} envelope, typed errors,
// contract detail and list, streamed downloads) and the verification,
// decryption and classification of the callbacks 契约锁 posts. It never
// logs; it returns errors prefixed "qys: ".
//
// The authoritative description of the protocol, with sources and
// confidence, is docs/qys-protocol.md. Where it says "not found", this
// package had to choose; every such choice is listed here with the way to
// change it.
//
// # Open API
//
// Every call but VerifyFile (a POST) is a GET signed with x-qys-open-accesstoken,
// x-qys-open-timestamp (Unix milliseconds), x-qys-open-nonce (a fresh UUID
// per attempt, retries included) and x-qys-open-signature = SignAPI(token,
// secret, timestamp, nonce). WithPrivateCloud switches to the x-qys-*
// header family (nonce included, as in later private-cloud versions) and
// to paths without /v2. The optional `version` header is sent only with
// WithVersionHeader.
//
// A call succeeds when the envelope's code is 0 (a JSON number or string)
// or its responseCode is "00000000". Anything else is an *APIError, also
// for 4xx/5xx answers whose body is read when it is JSON; a non-JSON error
// body yields an *APIError with only HTTPStatus. Choices:
//
//   - Not-found codes: the platform's error table could not be retrieved,
//     so only HTTP 404 and NotFoundCodes (placeholders chosen by qyshook)
//     match ErrNotFound. Set the real codes with WithNotFoundCodes.
//   - An envelope without code and responseCode is an error, never a
//     success. A code that is not an integer becomes CodeUnparsable.
//   - Private cloud 4.0 answers the detail under a top-level `contract`
//     key and the list under result.contractList; both are accepted.
//   - Errors carry the API path but never the query, so ids stay out of
//     logs.
//
// Timeouts and retries: WithTimeout (default 30 s) applies only when ctx
// has no deadline. It bounds a JSON call including its retries, but for a
// download only the wait for each attempt's response headers, never the
// body; cancel ctx to stop a long download. Network errors, 5xx, HTTP 429
// and rate-limit codes are retried (WithRetries; default 3 retries,
// exponential backoff with full jitter from 200 ms, capped at 5 s, and
// Retry-After honoured up to that cap). Downloads are retried only until
// their body starts to stream. A download whose body ends before its
// Content-Length fails with an error wrapping ErrTruncated. If a download
// answers JSON instead of a file, the envelope is decoded into an
// *APIError. ListContracts sends publishTimeStart/End as
// "2006-01-02 15:04:05" in ShanghaiTime, a fixed UTC+8 zone.
//
// Rate budget: WithBudget gives a client a Budget (NewBudget: requests
// per second as a token bucket, and requests in flight), shared by every
// client of one tenant in a process. Every attempt, retries included,
// waits for its place (honouring ctx; a wait cut short by ctx fails with
// ErrBudgetWait) rather than failing; a download holds its place until
// its body is read to the end or closed. A rate-limited answer (HTTP 429
// or 11990006) begins a throttled episode: the tenant's calls wait for a
// window (Retry-After, else one second, at most MaxThrottlePause), then
// one probe at a time asks again; the first answer that is not rate
// limited ends it and every waiting call goes. Refusals of requests
// already under way open no window of their own. An episode its first
// probe ends halves the rate, which doubles back once per cooldown;
// StopBudgetWaits lets a stopping caller give up its waits. The
// platform's limit is not published (docs/qys-protocol.md §1.5 lists
// only the code), so the budget has no default rate: set it.
//
// # Evidence and certification results
//
// The reference for paths and parameters is the vendor Go SDK's request
// structs (ContractStreamRequest, VerifierRequest, CompanyAuthResultRequest,
// UserAuthResultRequest); none of them documents the response fields.
//
//   - ContractStream: GET /v2/contract/stream (合同管理-获取合同操作记录),
//     contractId or bizId (+ tenantName), operation = comma-separated
//     ALL/VIEW/MODIFY/DOWNLOAD/PRINT. Only result.totalCount is known;
//     the item names operation, operatorName, operateTime and description
//     are qyshook's (and the fake's) choice. Keep OperationLog.Raw, the
//     result as sent: it is the evidence, the typed fields are a view.
//   - OperationLog: the tenant's operation-log call, the stream by default
//     or WithOperationLogPath's path; PathOperationLog (GET
//     /contract/operationlog, private cloud 4.0) is documented by the
//     vendor's private-cloud API document: contractId (required, no bizId),
//     operation DOWNLOADCONTRACT/PRINTCONTRACT (absent: both),
//     operatorContact; result is a list of SystemAuditLog records. Answers
//     are read by their shape (object with list, or list).
//   - VerifyFile: POST /v2/verify (辅助工具-文件验签), multipart field
//     `file` (PDF); showImg is never sent. The result's shape is NOT known:
//     qyshook reads {valid, signatures:[{signer, signTime, valid,
//     modified}]} or a bare list of such signatures, and keeps Raw. Until
//     the real field names are known, trust the offline verification
//     (package pdfverify) and archive Raw next to it. The file is buffered
//     (at most 256 MiB) so that retries resend it; the call is retried
//     like a GET because verifying changes nothing on the platform.
//   - CompanyAuthResult: GET /companyauth/result (no /v2 prefix, also not
//     stripped in private-cloud mode), requestId or companyName.
//     PersonalAuthResult: GET /v2/personalauth/result, authId or contact +
//     contactType (MOBILE/EMAIL). Their answers have codes of their own
//     (a secondary source, docs/qys-protocol.md §8.1): company status -1
//     none, 1 未提交, 2 通过, 3 不通过, 4 认证中, 6 已过期; personal
//     realName. Reading (ReadCompanyAuthResult, ReadPersonalAuthResult)
//     says what an answer means; one of no known shape is
//     UnrecognizedResult, never success or failure. Raw holds the result
//     as sent; WithAuthResultShape fixes the code table.
//   - SaaS variants: WithSaaSAuthPaths(company, personal) switches both
//     calls to /saas/v2/companyauth/result and /saas/v2/personalauth/result
//     by default. These two paths are a guess (the SDK's SaaS request
//     structs were not retrieved): pass the real ones when known. The SaaS
//     agent headers are not added by this option.
//   - CodeAuthNotFound (1604 INVALID_AUTHID, secondary) matches ErrNotFound
//     for the certification-result calls whatever WithNotFoundCodes says.
//
// # Callbacks
//
// A Verifier is configured per tenant (VerifierConfig) and turns a
// RawRequest into a *Callback, or into one of the sentinel errors.
//
// Format A (public cloud) is a POST of form fields. Bodies may be
// application/x-www-form-urlencoded, multipart/form-data or a JSON object.
// The payload is either plain fields or `content` = Base64 of AES-128
// (ECB by default, PKCS#7) keyed by the UTF-8 bytes of the 16-character
// callback secret. signature = Sign(timestamp, secret) is compared in
// constant time against every configured secret (rotation); signature and
// timestamp may travel in the body or the URL query. Choices:
//
//   - CBC IV (Cipher = CipherCBC): the public-cloud IV rule is NOT
//     documented, so there is no default: VerifierConfig.IV (and
//     SenderConfig.IV, and the iv of Encrypt/Decrypt) is required with
//     CBC, and NewVerifier refuses CBC without it.
//   - Padding: PKCS#7 is stripped strictly; a zero-padded plaintext (the
//     vendor C# sample) is accepted when, without its trailing NULs, it is
//     valid JSON.
//   - Timestamps are milliseconds (13 digits); 10-digit seconds are also
//     accepted. The window is 72 h into the past and 5 min into the future,
//     edges inclusive (VerifierConfig.Window). A signed callback whose
//     timestamp is missing or unparsable fails with ErrStale (not
//     ErrMalformed): its freshness cannot be established.
//   - What each kind accepts is VerifierConfig.Policy: AcceptEncrypted
//     (signed, fields in content), AcceptPlain (also signed plain fields)
//     or AcceptUnsigned (also no signature). The format-A default accepts
//     certification callbacks unsigned and plain, the shape the public
//     cloud sends outside SaaS mode (third-party receivers only), and keeps
//     contract callbacks at AcceptEncrypted; format B defaults to
//     AcceptEncrypted for every kind. The route's policy is applied before
//     decryption; in format B the kind read from the content must accept
//     the shape too. A signature that is present is always checked.
//   - A callback without signature is refused (ErrMissingSignature) unless
//     its kind accepts unsigned callbacks; it is then checked for freshness
//     only if it carries a timestamp, and SecretIndex is -1.
//   - A repeated or conflicting signature, timestamp or content field is
//     ErrMalformed.
//
// Format B (newer private cloud) is a JSON envelope {signature, timestamp,
// nonce, encrypted}: AES-CBC/PKCS#5 with key = the first 16 bytes of the
// secret and IV = TokenIV(token) = SHA-256(token)[:16]. Its signature
// formula is NOT published, so VerifierConfig.SignatureB chooses:
//
//   - SignatureNone (default): the signature field is ignored.
//     Authenticity rests on one of the secrets decrypting `encrypted` to a
//     JSON object (SecretIndex names it) and on confirming every callback
//     through the API downstream. The envelope's timestamp is not
//     authenticated in this mode, so the window is also enforced on the
//     encrypted callbackTime when the payload carries one; without it a
//     captured callback can be replayed once the stream's duplicate window
//     has passed (the ledger still ignores an event id it applied). Prefer
//     SignatureMD5 when your deployment signs that way.
//   - SignatureMD5: signature = Sign(timestamp, secret), as in format A.
//
// In format B a known callbackType (USER_AUTH_*, COMPANY_AUTH_*,
// CONTRACT_*) selects Callback.Kind, whatever kind the caller passed, and
// CALLBACK_CHECK yields a Callback whose IsCheck is true.
//
// Classification: contract callbacks need contractId (a JSON string or
// number; else ErrMissingContract). Auth callbacks get CallbackType "AUTH"
// when none is sent; company auth succeeds on status "1" (format B:
// COMPANY_AUTH_SUCCESS), personal auth on status "1" (USER_AUTH_SUCCESS).
// Unknown callback types and fields are never errors. Callback.Payload is
// the decrypted JSON object, or for plain form callbacks an object of the
// form fields as strings, without signature and timestamp.
//
// Response bodies: this package does not answer callbacks. The contract
// callback's official answer was not found; the receiver answers
// "success" (every observed integration does), and for certification
// callbacks {"code":0,"message":"SUCCESS"} or "success" per tenant.
//
// # SaaS agent mode
//
// WithAgent signs every request as the vendor SDK's SaaSSdkClient does:
// x-qys-open-agentaccesstoken and x-qys-open-agentsignature =
// SignAPI(agentToken, agentSecret, timestamp, nonce), beside the app pair
// when one is given.
//
// BuildCallback, Sign, SignAPI, Encrypt, Decrypt and TokenIV build
// callbacks and requests exactly as described above, for fakes and tests.
//
// # Choices no public source supports, and their settings
//
// Each is a guess or a convention, made visible so an operator can change
// it when 契约锁 documents the real behaviour (settings of the qyshook
// binary in parentheses; library options otherwise):
//
//   - Format A's CBC IV: no public source gives it, so CipherCBC needs one
//     (QYSHOOK_CALLBACK_IV, tenants file `iv`); there is no default.
//   - Format B's signature: ignored by default (QYSHOOK_CALLBACK_SIGNATURE_B
//     = md5 to check Sign(timestamp, secret)).
//   - Plain and unsigned callbacks: what each kind accepts is a Policy
//     (QYSHOOK_ACCEPT_*): contracts encrypted by default, format-A
//     certifications unsigned (direct mode sends plain form fields).
//   - The timestamp window (QYSHOOK_TIMESTAMP_*).
//   - "Not found" envelope codes: HTTP 404 plus NotFoundCodes, placeholders
//     for contracts and documents (WithNotFoundCodes). CodeAuthNotFound
//     (1604) decides that a certification is unknown to the API; the
//     dispatcher then records it unconfirmed.
//   - The certification-result answers: read by the documented codes, or
//     the legacy callback-coded shape when its fields say so
//     (WithAuthResultShape); anything else confirms nothing. Format-B
//     certification callbacks carry companyId / userId, which the
//     dispatcher passes as requestId / authId.
//   - The SaaS certification-result paths (WithSaaSAuthPaths).
//   - The operation-log item fields (OperationRecord; OperationLog.Raw is
//     what qyshook archives, QYSHOOK_ARCHIVE_OPLOG).
//   - The /v2/verify answer's fields (PlatformVerification; the online
//     check runs only with QYSHOOK_QYS_VERIFY_ONLINE, tenants file
//     `qys.verify_online`, and the offline pdfverify verdict stays the
//     reference).
//   - The answer bodies to callbacks ("success" for contracts,
//     {"code":0,"message":"SUCCESS"} for certifications; see the receiver).
//   - Callback.Validate's limits: no NUL byte or invalid UTF-8 in any field
//     (PostgreSQL text refuses both), ids and codes at most MaxIDLength
//     (256) bytes. The platform's ids are 19-digit numbers; no public
//     material gives a maximum.
//   - Notices (NoticeKinds: seal audit, personal signing authorisation,
//     company authorisation, physical seal; docs/qys-callbacks.md): their
//     verification is not described, except the signing authorisation's
//     (MD5(timestamp + secret), signature and timestamp in the URL).
//     They follow the tenant's format under Policy.Notice, default
//     AcceptEncrypted; the physical seal ("format C", plain form fields,
//     no signature in the vendor document) is read by verifyC under
//     Policy.PhysicalSeal, default AcceptUnsigned. No field is required;
//     the type is read from callbackType or the field that names it, and
//     the identity is a digest of the payload without its delivery fields
//     (Notice.Digest). The company authorisation's payload is not known at
//     all: its key and type are read from the likeliest fields.
package qys
