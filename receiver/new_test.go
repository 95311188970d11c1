package receiver_test

import (
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

func TestNewRequiresPublisher(t *testing.T) {
	if _, err := receiver.New(receiver.Options{Tenants: testTenants(t)}); err == nil {
		t.Fatal("New without a Publisher succeeded")
	}
}

func TestNewRefusesTenantWithoutVerifier(t *testing.T) {
	env := natstest.New(t)
	_, err := receiver.New(receiver.Options{Tenants: map[string]*qys.Verifier{"acme": nil}, Publisher: env.JS, Names: env.Names})
	if err == nil || !strings.Contains(err.Error(), `tenant "acme" has no verifier`) {
		t.Fatalf("New with a nil verifier: %v", err)
	}
}
