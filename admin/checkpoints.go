package admin

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/store"
)

// keyCheckpoints is the listing key of the checkpoints' cursors.
const keyCheckpoints = "checkpoints"

// viewCheckpoint is a stored checkpoint as the answers show it.
func viewCheckpoint(c *store.LogCheckpoint, now time.Time) *adminapi.Checkpoint {
	if c == nil {
		return nil
	}
	v := &adminapi.Checkpoint{Size: c.Size, Root: c.Root, Origin: c.Origin, KeyID: c.KeyID, Note: string(c.Note),
		CreatedAt: c.CreatedAt.UTC(), AgeSeconds: max(now.Sub(c.CreatedAt).Seconds(), 0), Anchored: c.Anchored(),
		Stamps: make([]adminapi.CheckpointStamp, 0, len(c.Stamps))}
	for _, s := range c.Stamps {
		v.Stamps = append(v.Stamps, adminapi.CheckpointStamp{TSAURL: s.TSAURL, GenTime: s.GenTime.UTC(), Serial: s.Serial,
			StampedAt: s.StampedAt.UTC(), Token: base64.StdEncoding.EncodeToString(s.Token), Certs: s.Certs})
	}
	return v
}

func viewLogStatus(st store.CheckpointStats, now time.Time) adminapi.LogStatus {
	return adminapi.LogStatus{Latest: viewCheckpoint(st.Latest, now), LatestAnchored: viewCheckpoint(st.LatestAnchored, now),
		Unanchored: st.Unanchored, OldestUnanchoredAt: utc(st.OldestUnanchored)}
}

func (a *API) checkpointLog() (store.CheckpointLog, error) {
	if a.o.Checkpoints == nil {
		return nil, errorf(adminapi.CodeUnavailable, "this ledger keeps no receipt log checkpoints")
	}
	return a.o.Checkpoints, nil
}

// listCheckpoints: GET /log/checkpoints, newest first.
func (a *API) listCheckpoints(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	after, err := q.cursor(keyCheckpoints)
	if err != nil {
		return err
	}
	cl, err := a.checkpointLog()
	if err != nil {
		return err
	}
	f := store.CheckpointFilter{Limit: limit + 1}
	if after != nil {
		f.BeforeSize = after.Num
	}
	rows, err := cl.Checkpoints(r.Context(), f)
	if err != nil {
		return err
	}
	now := time.Now()
	views := make([]adminapi.Checkpoint, 0, len(rows))
	for i := range rows {
		views = append(views, *viewCheckpoint(&rows[i], now))
	}
	writeJSON(w, http.StatusOK, paged(views, limit, func(last adminapi.Checkpoint) cursor {
		return cursor{List: keyCheckpoints, Num: last.Size}
	}))
	return nil
}

// logStatus: GET /log/status.
func (a *API) logStatus(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	cl, err := a.checkpointLog()
	if err != nil {
		return err
	}
	st, err := cl.CheckpointStats(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewLogStatus(st, time.Now()))
	return nil
}

// postCheckpoint: POST /log/checkpoints, sign a checkpoint now (when the
// log grew) and have it time-stamped in the background. 201 when signed,
// 200 with the newest one otherwise. Audited.
func (a *API) postCheckpoint(w http.ResponseWriter, r *http.Request) error {
	if a.o.Log == nil {
		return errorf(adminapi.CodeUnavailable, "writes need the audit table, which this ledger does not provide")
	}
	if a.o.RequestCheckpoint == nil {
		return errorf(adminapi.CodeUnavailable, "this process runs no anchor stage (no receipt log, or not a dispatcher)")
	}
	if err := decodeBody(r, &struct{}{}, true); err != nil {
		return err
	}
	c, created, err := a.o.RequestCheckpoint(r.Context())
	sel := map[string]any{}
	if c != nil {
		sel["size"] = c.Size
	}
	count := 0
	if created {
		count = 1
	}
	a.audit(r, sel, count, outcomeOf(err), "")
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, adminapi.CheckpointRequested{Checkpoint: viewCheckpoint(c, time.Now()), Created: created})
	return nil
}
