package embeddednats

import (
	"os"
	"testing"
)

func TestKernelAtLeast(t *testing.T) {
	for release, want := range map[string]bool{
		"5.8.0": true, "5.10.0-28-amd64": true, "6.1.0-13-amd64": true, "6.18.44-fc-v769": true,
		"5.7.19": false, "4.18.0-553.el8_10.x86_64": false, "3.10.0": false, "": false, "x.y": false, "5.8rc1": true,
	} {
		if got := kernelAtLeast(release, 5, 8); got != want {
			t.Errorf("%q: %v, want %v", release, got, want)
		}
	}
}

func TestMountOptionHelpers(t *testing.T) {
	if got := unescapeMount(`/mnt/my\040disk`); got != "/mnt/my disk" {
		t.Errorf("unescape: %q", got)
	}
	if !within("/data/nats", "/data") || within("/database", "/data") || !within("/x", "/") || !within("/data", "/data") {
		t.Error("within")
	}
	if !hasOption("rw,relatime,noauto_da_alloc", "noauto_da_alloc") || hasOption("rw,auto_da_alloc", "noauto_da_alloc") {
		t.Error("hasOption")
	}
	if _, ok := mountOptions(os.TempDir()); !ok {
		t.Error("no mount found for the temp dir")
	}
	t.Logf("group sync on %s: %q (empty: grouped)", os.TempDir(), groupSyncCheck(os.TempDir()))
}
