package receiver_test

import (
	"testing"

	"github.com/qyshook/qyshook/receiver"
)

func TestNewRequiresConnection(t *testing.T) {
	if _, err := receiver.New(receiver.Options{Tenants: testTenants()}); err == nil {
		t.Fatal("New without NATS succeeded")
	}
}
