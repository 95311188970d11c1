package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/qyshook/qyshook/adminapi"
)

// maxJobs is how many finished jobs are kept for GET /replays.
const maxJobs = 200

// jobs runs background jobs in this process; they end with Close.
type jobs struct {
	mu     sync.Mutex
	byID   map[string]*adminapi.Job
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newJobs() *jobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobs{byID: map[string]*adminapi.Job{}, ctx: ctx, cancel: cancel}
}

// newJobID is <kind>-<UTC time>-<random>, a valid replay job id.
func newJobID(kind string, now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return kind + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// start registers j and runs fn in the background; fn updates the job
// through update and returns its final report or error. The job is
// finished (no longer running) as soon as fn returns; then record, when
// not nil, records the outcome elsewhere (Close waits for it too). A
// client that sees that record finished therefore never finds the job
// still running.
func (js *jobs) start(j *adminapi.Job, fn func(ctx context.Context, update func(func(*adminapi.Job))) (any, error),
	record func(rep any, err error)) adminapi.Job {
	js.mu.Lock()
	js.byID[j.ID] = j
	js.prune()
	snap := *j
	js.mu.Unlock()
	update := func(f func(*adminapi.Job)) {
		js.mu.Lock()
		f(j)
		js.mu.Unlock()
	}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		rep, err := fn(js.ctx, update)
		now := time.Now().UTC()
		update(func(j *adminapi.Job) {
			j.FinishedAt, j.Report, j.State = &now, rawJSON(rep), adminapi.JobDone
			if err != nil {
				j.State, j.Error = adminapi.JobFailed, err.Error()
			}
		})
		if record != nil {
			record(rep, err)
		}
	}()
	return snap
}

// prune drops the oldest finished jobs beyond maxJobs (js.mu held).
func (js *jobs) prune() {
	if len(js.byID) <= maxJobs {
		return
	}
	var done []*adminapi.Job
	for _, j := range js.byID {
		if j.State != adminapi.JobRunning {
			done = append(done, j)
		}
	}
	sort.Slice(done, func(i, k int) bool { return done[i].StartedAt.Before(done[k].StartedAt) })
	for _, j := range done[:max(0, min(len(done), len(js.byID)-maxJobs))] {
		delete(js.byID, j.ID)
	}
}

// get returns a copy of job id.
func (js *jobs) get(id string) (adminapi.Job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.byID[id]
	if !ok {
		return adminapi.Job{}, false
	}
	return *j, true
}

// list returns copies of the jobs of kind, newest first.
func (js *jobs) list(kind string) []adminapi.Job {
	js.mu.Lock()
	defer js.mu.Unlock()
	out := []adminapi.Job{}
	for _, j := range js.byID {
		if j.Kind == kind {
			out = append(out, *j)
		}
	}
	sort.Slice(out, func(i, k int) bool {
		if !out[i].StartedAt.Equal(out[k].StartedAt) {
			return out[i].StartedAt.After(out[k].StartedAt)
		}
		return out[i].ID > out[k].ID
	})
	return out
}

// running reports whether a job of kind is running.
func (js *jobs) running(kind string) bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.byID {
		if j.Kind == kind && j.State == adminapi.JobRunning {
			return true
		}
	}
	return false
}

// close cancels the running jobs and waits for them.
func (js *jobs) close() {
	js.cancel()
	js.wg.Wait()
}

// Close cancels the background jobs (replays, reconcile passes) and waits
// for them to end. The API keeps answering; new jobs fail at once.
func (a *API) Close() { a.jobs.close() }

// rawJSON encodes a job's report as writeJSON would (no HTML escaping);
// nil stays nil.
func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}
