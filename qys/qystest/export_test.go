package qystest

// WithZipBufferLimit lowers the size up to which contract zips are built in
// memory (and get a Content-Length), to test the streamed path cheaply.
func WithZipBufferLimit(n int64) Option { return func(c *config) { c.inMemoryZipMax = n } }
