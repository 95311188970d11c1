package embeddednats

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestDropConsumerStore: a consumer whose state file a power cut left as
// zeros is not loaded at the next start and, while its directory is
// there, cannot be created again; DropConsumerStore removes that
// directory (never a loaded consumer's) and the creation then succeeds.
func TestDropConsumerStore(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy}
	open := func() (*Server, jetstream.JetStream) {
		s, err := Start(Options{StoreDir: dir, SyncInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		nc, err := s.Connect()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return s, js
	}

	s, js := open()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "S", cfg); err != nil {
		t.Fatal(err)
	}
	if dropped, err := s.DropConsumerStore("S", "c"); err == nil || dropped {
		t.Fatalf("a loaded consumer: dropped %v, err %v; want refused", dropped, err)
	}
	if _, err := s.DropConsumerStore("S", "../c"); err == nil {
		t.Fatal("a name with a path separator accepted")
	}
	s.Shutdown()

	odat := filepath.Join(dir, "jetstream", "$G", "streams", "S", "obs", "c", "o.dat")
	if err := os.WriteFile(odat, make([]byte, 80), 0o600); err != nil {
		t.Fatal(err)
	}
	s, js = open()
	defer s.Shutdown()
	if _, err := js.CreateOrUpdateConsumer(ctx, "S", cfg); err == nil {
		t.Fatal("a consumer with a zeroed state file was created: the test no longer builds the broken state")
	}
	if dropped, err := s.DropConsumerStore("S", "c"); err != nil || !dropped {
		t.Fatalf("broken consumer: dropped %v, err %v", dropped, err)
	}
	if _, err := os.Stat(filepath.Dir(odat)); !os.IsNotExist(err) {
		t.Fatalf("consumer directory still there: %v", err)
	}
	if dropped, err := s.DropConsumerStore("S", "c"); err != nil || dropped {
		t.Fatalf("nothing left to drop: dropped %v, err %v", dropped, err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "S", cfg); err != nil {
		t.Fatalf("creation after the drop: %v", err)
	}
}
