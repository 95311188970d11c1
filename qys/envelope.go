package qys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// maxJSONResponse bounds a JSON answer read into memory (a list page of
// 1000 contracts is well under it).
const maxJSONResponse = 32 << 20

// envelope is the open API's answer {code, message, result}. code may be
// a JSON number or string; responseCode "00000000" also means success.
// Private cloud 4.0 puts the contract detail under a top-level `contract`.
type envelope struct {
	Code         flexInt         `json:"code"`
	ResponseCode flexString      `json:"responseCode"`
	Message      flexString      `json:"message"`
	Msg          flexString      `json:"msg"`
	Result       json.RawMessage `json:"result"`
	Contract     json.RawMessage `json:"contract"`
}

func (e *envelope) success() bool {
	return (e.Code.set && e.Code.v == CodeSuccess) || e.ResponseCode.v == ResponseCodeSuccess
}

func (e *envelope) hasCode() bool { return e.Code.set || e.ResponseCode.v != "" }

func (e *envelope) message() string {
	if e.Message.v != "" {
		return e.Message.v
	}
	return e.Msg.v
}

// CodeUnparsable is APIError.Code when the envelope's code was present but
// not an integer (e.g. a word or a fraction).
const CodeUnparsable = -1

// flexInt decodes a JSON number or a string holding an integer.
type flexInt struct {
	v   int
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		n = CodeUnparsable // present but not an integer: a failure, never success
	}
	f.v, f.set = int(n), true
	return nil
}

// flexString decodes a JSON string, or keeps a number's literal text.
type flexString struct{ v string }

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &f.v)
	case b[0] == '{' || b[0] == '[':
		return nil // an unexpected shape never breaks decoding
	default:
		f.v = string(b)
		return nil
	}
}

// decodeEnvelope parses an open-API answer. It fails on bodies that are
// not a JSON object; it does not judge success.
func decodeEnvelope(body []byte) (*envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	return &env, nil
}

// apiError builds the *APIError for a failed answer.
func (c *Client) apiError(path string, status int, env *envelope) *APIError {
	e := &APIError{HTTPStatus: status, Path: path, notFound: c.notFound}
	if env != nil {
		e.Code, e.ResponseCode, e.Message = env.Code.v, env.ResponseCode.v, env.message()
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// readJSON reads a bounded JSON answer and turns it into the envelope of a
// success, or an *APIError (read even for 4xx/5xx). The bool reports
// whether a failure may be retried.
func (c *Client) readJSON(path string, resp *http.Response) (*envelope, bool, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONResponse+1))
	if err != nil {
		return nil, resp.StatusCode < 400 || resp.StatusCode >= 500, fmt.Errorf("qys: %s: read response: %w", path, err)
	}
	if len(body) > maxJSONResponse {
		return nil, false, fmt.Errorf("qys: %s: response larger than %d bytes", path, maxJSONResponse)
	}
	env, decErr := decodeEnvelope(body)
	if resp.StatusCode >= 300 {
		if decErr != nil || !env.hasCode() {
			env = nil
		}
		e := c.apiError(path, resp.StatusCode, env)
		e.retryAfter, e.Raw = parseRetryAfter(resp.Header, c.now()), body
		return nil, e.Temporary(), e
	}
	if decErr != nil {
		return nil, false, fmt.Errorf("qys: %s: decode response (%s): %w", path, mediaType(resp.Header), decErr)
	}
	if env.success() {
		return env, false, nil
	}
	if !env.hasCode() {
		return nil, false, fmt.Errorf("qys: %s: response has no code", path)
	}
	e := c.apiError(path, resp.StatusCode, env)
	e.retryAfter, e.Raw = parseRetryAfter(resp.Header, c.now()), body
	return nil, e.Temporary(), e
}

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(h.Get("Content-Type")))
	}
	return mt
}
