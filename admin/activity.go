package admin

import (
	"net/http"
	"time"

	"github.com/qyshook/qyshook/adminapi"
)

// windows are the windows of GET /activity and their steps.
var windows = map[string][2]time.Duration{"1h": {time.Hour, time.Minute}, "24h": {24 * time.Hour, 15 * time.Minute}}

// getActivity: GET /activity?window=1h|24h, the console's charts.
func (a *API) getActivity(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "window")
	if err != nil {
		return err
	}
	win := q.str("window")
	if win == "" {
		win = "1h"
	}
	ws, ok := windows[win]
	if !ok {
		return badRequest("window", "%q is not 1h or 24h", win)
	}
	if a.o.Activity == nil {
		return errorf(adminapi.CodeUnavailable, "this process keeps no activity figures")
	}
	start, series := a.o.Activity.Window(ws[0], ws[1])
	v := adminapi.Activity{Window: win, Step: int(ws[1] / time.Second), Start: start, Series: []adminapi.ActivitySeries{}}
	for _, s := range series {
		v.Series = append(v.Series, adminapi.ActivitySeries{Name: s.Name, Tenant: s.Tenant, Points: s.Points})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
