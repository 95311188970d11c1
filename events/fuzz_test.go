package events_test

import (
	"errors"
	"os"
	"testing"

	"github.com/qyshook/qyshook/events"
)

// FuzzDecode: no input panics, and every failure is ErrInvalidEnvelope.
// Seeds: the golden files (testdata/) and testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"callback_contract.json", "callback_auth_company.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"qyshook.callback.v1","id":"x","tenant":"t","kind":"contract"}`))
	f.Add([]byte(`{"schema":"qyshook.callback.v1","id":"x","tenant":"t","kind":"auth.company","auth":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := events.Decode(data)
		if err != nil {
			if !errors.Is(err, events.ErrInvalidEnvelope) {
				t.Fatalf("error %v is not ErrInvalidEnvelope", err)
			}
			return
		}
		if env.ID == "" || env.Tenant == "" {
			t.Fatalf("decoded an envelope without id or tenant: %+v", env)
		}
		if _, err := env.Encode(); err != nil {
			t.Fatalf("a decoded envelope does not encode: %v", err)
		}
	})
}
