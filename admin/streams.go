package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

type streamView struct {
	Name      string         `json:"name"`
	Messages  uint64         `json:"messages"`
	Bytes     uint64         `json:"bytes"`
	FirstSeq  uint64         `json:"first_seq"`
	LastSeq   uint64         `json:"last_seq"`
	LastTime  *time.Time     `json:"last_time"`
	Consumers []consumerView `json:"consumers"`
	// Error says why the stream could not be read (e.g. "stream not found").
	Error string `json:"error,omitempty"`
}

type consumerView struct {
	Name         string `json:"name"`
	Pending      uint64 `json:"pending"`
	AckPending   int    `json:"ack_pending"`
	Redelivered  int    `json:"redelivered"`
	Waiting      int    `json:"waiting"`
	DeliveredSeq uint64 `json:"delivered_seq"`
	AckFloorSeq  uint64 `json:"ack_floor_seq"`
	PushBound    bool   `json:"push_bound"`
}

// listStreams: GET /streams, the three streams and their consumers.
func (a *API) listStreams(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if a.o.JS == nil {
		return errorf(CodeUnavailable, "this process has no JetStream connection")
	}
	n := a.o.Names
	items := []streamView{}
	for _, name := range []string{n.CallbacksStream(), n.LedgerStream(), n.DLQStream()} {
		v, err := a.stream(r, name)
		if err != nil {
			return err
		}
		items = append(items, v)
	}
	writeJSON(w, http.StatusOK, page{Items: items})
	return nil
}

// stream reads one stream; a missing stream is reported in the item, any
// other failure fails the request.
func (a *API) stream(r *http.Request, name string) (streamView, error) {
	v := streamView{Name: name, Consumers: []consumerView{}}
	s, err := a.o.JS.Stream(r.Context(), name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		v.Error = "stream not found"
		return v, nil
	}
	if err != nil {
		return v, err
	}
	st := s.CachedInfo().State
	v.Messages, v.Bytes, v.FirstSeq, v.LastSeq = st.Msgs, st.Bytes, st.FirstSeq, st.LastSeq
	if !st.LastTime.IsZero() {
		t := st.LastTime.UTC()
		v.LastTime = &t
	}
	lister := s.ListConsumers(r.Context())
	for ci := range lister.Info() {
		c := consumerView{
			Name: ci.Name, Pending: ci.NumPending, AckPending: ci.NumAckPending, Redelivered: ci.NumRedelivered,
			Waiting: ci.NumWaiting, DeliveredSeq: ci.Delivered.Stream, AckFloorSeq: ci.AckFloor.Stream,
			PushBound: ci.PushBound,
		}
		v.Consumers = append(v.Consumers, c)
	}
	if err := lister.Err(); err != nil {
		return v, err
	}
	return v, nil
}
