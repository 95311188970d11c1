package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// Job states.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// maxJobs is how many finished jobs are kept for GET /replays.
const maxJobs = 200

// jobView is a background job (a replay or a reconcile pass) as the API
// shows it.
type jobView struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"` // replay or reconcile
	State       string          `json:"state"`
	StartedBy   string          `json:"started_by"`
	Selector    json.RawMessage `json:"selector,omitempty"`
	Selected    int             `json:"selected"`
	Republished int             `json:"republished"`
	Duplicates  int             `json:"duplicates"`
	Failed      int             `json:"failed"`
	Progress    jobProgress     `json:"progress"`
	StartedAt   time.Time       `json:"started_at"`
	FinishedAt  *time.Time      `json:"finished_at"`
	Error       string          `json:"error,omitempty"`
	Report      any             `json:"report,omitempty"`
}

type jobProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// jobs runs background jobs in this process; they end with Close.
type jobs struct {
	mu     sync.Mutex
	byID   map[string]*jobView
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newJobs() *jobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobs{byID: map[string]*jobView{}, ctx: ctx, cancel: cancel}
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
func (js *jobs) start(j *jobView, fn func(ctx context.Context, update func(func(*jobView))) (any, error),
	record func(rep any, err error)) jobView {
	js.mu.Lock()
	js.byID[j.ID] = j
	js.prune()
	snap := *j
	js.mu.Unlock()
	update := func(f func(*jobView)) {
		js.mu.Lock()
		f(j)
		js.mu.Unlock()
	}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		rep, err := fn(js.ctx, update)
		now := time.Now().UTC()
		update(func(j *jobView) {
			j.FinishedAt, j.Report, j.State = &now, rep, JobDone
			if err != nil {
				j.State, j.Error = JobFailed, err.Error()
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
	var done []*jobView
	for _, j := range js.byID {
		if j.State != JobRunning {
			done = append(done, j)
		}
	}
	sort.Slice(done, func(i, k int) bool { return done[i].StartedAt.Before(done[k].StartedAt) })
	for _, j := range done[:max(0, min(len(done), len(js.byID)-maxJobs))] {
		delete(js.byID, j.ID)
	}
}

// get returns a copy of job id.
func (js *jobs) get(id string) (jobView, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.byID[id]
	if !ok {
		return jobView{}, false
	}
	return *j, true
}

// list returns copies of the jobs of kind, newest first.
func (js *jobs) list(kind string) []jobView {
	js.mu.Lock()
	defer js.mu.Unlock()
	out := []jobView{}
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
		if j.Kind == kind && j.State == JobRunning {
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
