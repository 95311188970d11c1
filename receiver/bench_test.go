package receiver_test

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReceiver posts distinct signed, encrypted contract callbacks in
// parallel over keep-alive HTTP; each op is answered after its PubAck.
func BenchmarkReceiver(b *testing.B) {
	h := newHarness(b, nil)
	bodies := make([][]byte, b.N)
	var ct string
	now := time.Now()
	for i := range bodies {
		out := mustBuild(b, senderA(secretA), contractPayload("bench-"+now.Format("150405.000")+"-"+itoa(i), "SEAL", "SIGNING"), now)
		bodies[i], ct = out.Body, out.ContentType
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := h.http.URL + "/callbacks/acme/contract"
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)-1]
			resp, err := client.Post(url, ct, bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}
