package qystest

// WithZipBufferLimit lowers the size up to which contract zips are built in
// memory (and get a Content-Length), to test the streamed path cheaply.
func WithZipBufferLimit(n int64) Option { return func(c *config) { c.inMemoryZipMax = n } }

// NonceStats returns how many nonces are remembered and how many stored
// entries the expiry has examined so far.
func (s *Server) NonceStats() (live int, visits int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonces.len(), s.nonces.visits
}

// CheckHeaders runs the auth check on header values, without HTTP.
func (s *Server) CheckHeaders(token, ts, nonce, sig string) (code int, msg string) {
	return s.check(token, ts, nonce, sig)
}
