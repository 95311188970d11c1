package admin

import (
	"errors"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/adminapi"
)

// listStreams: GET /streams, the three streams and their consumers.
func (a *API) listStreams(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if a.o.JS == nil {
		return errorf(adminapi.CodeUnavailable, "this process has no JetStream connection")
	}
	n := a.o.Names
	items := []adminapi.Stream{}
	for _, name := range []string{n.CallbacksStream(), n.LedgerStream(), n.DLQStream()} {
		v, err := a.stream(r, name)
		if err != nil {
			return err
		}
		items = append(items, v)
	}
	writeJSON(w, http.StatusOK, adminapi.Page[adminapi.Stream]{Items: items})
	return nil
}

// stream reads one stream; a missing stream is reported in the item, any
// other failure fails the request.
func (a *API) stream(r *http.Request, name string) (adminapi.Stream, error) {
	v := adminapi.Stream{Name: name, Consumers: []adminapi.Consumer{}}
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
		c := adminapi.Consumer{
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
