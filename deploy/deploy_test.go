// Package deploy holds the deployment files users copy: a compose file
// for the production shape, Kubernetes manifests, Prometheus alert rules
// and a Grafana dashboard. Its tests check that they parse, carry the
// fields Kubernetes and Compose require, agree with each other, name only
// settings the README documents and metrics the code exports, and pass
// promtool when it is installed.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"
)

type obj = map[string]any

// readDocs decodes every YAML document of a file (empty documents are
// skipped).
func readDocs(t *testing.T, path string) []obj {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []obj
	for {
		var d obj
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// get walks a path of map keys and list indexes ("spec", "template", 0).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func mapping(v any, path ...any) obj {
	m, _ := get(v, path...).(obj)
	return m
}

func stringMap(v any, path ...any) map[string]string {
	out := map[string]string{}
	for k, x := range mapping(v, path...) {
		out[k] = fmt.Sprint(x)
	}
	return out
}

// subset reports whether every label of sel is in labels (an empty
// selector selects nothing here: Kubernetes would select everything).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

var (
	settingRE = regexp.MustCompile(`QYSHOOK_[A-Z0-9_]*[A-Z0-9]`)
	metricRE  = regexp.MustCompile(`\bqyshook_[a-z0-9_]+`)
	dnsName   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
)

// documentedSettings are the QYSHOOK_ variables of the README's
// configuration table ("`QYSHOOK_TIMESTAMP_PAST` / `_FUTURE`" names two).
func documentedSettings(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	shorthand := regexp.MustCompile("^`(_[A-Z0-9_]+)`")
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `QYSHOOK_") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		var last string
		for _, part := range strings.Split(first, "/") {
			part = strings.TrimSpace(part)
			if m := shorthand.FindStringSubmatch(part); m != nil && last != "" {
				name := last[:strings.LastIndex(last, "_")] + m[1]
				out[name] = true
				continue
			}
			for _, name := range settingRE.FindAllString(part, -1) {
				out[name], last = true, name
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("README configuration table: found only %d settings: %v", len(out), out)
	}
	return out
}

// exportedMetrics are the metric names the Go code registers.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	nameRE := regexp.MustCompile(`"(qyshook_[a-z0-9_]+)"`)
	for _, dir := range []string{".."} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "deploy" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			src := string(b)
			if !strings.Contains(src, "prometheus.") {
				return nil
			}
			for _, m := range nameRE.FindAllStringSubmatch(src, -1) {
				out[m[1]] = true
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if !out["qyshook_dlq_depth"] || !out["qyshook_receiver_requests_total"] {
		t.Fatalf("metric scan found %v; the scan no longer sees the collectors", out)
	}
	return out
}

// checkMetrics fails for every qyshook_ name in expr that the code does
// not export (a histogram's _bucket, _sum and _count count as its name).
func checkMetrics(t *testing.T, where, expr string, exported map[string]bool) {
	t.Helper()
	for _, name := range metricRE.FindAllString(expr, -1) {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && exported[b] {
				base = b
			}
		}
		if !exported[base] {
			t.Errorf("%s: metric %s is not exported by qyshook", where, name)
		}
	}
}

// workload is a Deployment or StatefulSet with its pod template.
type workload struct {
	kind, name string
	replicas   int
	labels     map[string]string // of the pod template
	spec       obj               // pod spec
	claims     []string          // volumeClaimTemplates
}

func TestKubernetesManifests(t *testing.T) {
	settings := documentedSettings(t)
	apiVersions := map[string]string{
		"Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1", "PersistentVolumeClaim": "v1",
		"Deployment": "apps/v1", "StatefulSet": "apps/v1", "PodDisruptionBudget": "policy/v1",
		"Kustomization": "kustomize.config.k8s.io/v1beta1",
	}
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	byKind := map[string][]obj{}
	seen := map[string]string{}
	for _, f := range files {
		docs := readDocs(t, f)
		if len(docs) == 0 {
			t.Errorf("%s: no document", f)
		}
		for i, d := range docs {
			where := fmt.Sprintf("%s #%d", f, i+1)
			kind, api := str(d, "kind"), str(d, "apiVersion")
			if kind == "" || api == "" {
				t.Errorf("%s: apiVersion and kind are required", where)
				continue
			}
			if want, ok := apiVersions[kind]; !ok {
				t.Errorf("%s: unexpected kind %s", where, kind)
			} else if api != want {
				t.Errorf("%s: %s has apiVersion %s, want %s", where, kind, api, want)
			}
			if kind != "Kustomization" {
				name := str(d, "metadata", "name")
				if !dnsName.MatchString(name) || len(name) > 63 {
					t.Errorf("%s: metadata.name %q is missing or not a DNS name", where, name)
				}
				key := kind + "/" + name
				if prev, dup := seen[key]; dup {
					t.Errorf("%s: %s also defined in %s", where, key, prev)
				}
				seen[key] = where
				if ns := str(d, "metadata", "namespace"); ns != "" {
					t.Errorf("%s: namespace %q set in the object; kustomization.yaml sets it", where, ns)
				}
			}
			byKind[kind] = append(byKind[kind], d)
		}
	}

	// The kustomization lists every manifest but the secret example.
	if ks := byKind["Kustomization"]; len(ks) != 1 {
		t.Errorf("want one kustomization.yaml, got %d", len(ks))
	} else {
		var listed []string
		for _, r := range list(ks[0], "resources") {
			listed = append(listed, fmt.Sprint(r))
		}
		for _, f := range files {
			base := filepath.Base(f)
			want := base != "kustomization.yaml" && base != "secret.example.yaml"
			if got := slices.Contains(listed, base); got != want {
				t.Errorf("kustomization.yaml resources: %s listed = %v, want %v", base, got, want)
			}
		}
		for _, r := range listed {
			if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
				t.Errorf("kustomization.yaml: resource %s: %v", r, err)
			}
		}
	}

	configData := map[string]string{}
	for _, cm := range byKind["ConfigMap"] {
		if str(cm, "metadata", "name") == "qyshook" {
			configData = stringMap(cm, "data")
		}
	}
	secretKeys := map[string]bool{}
	for _, s := range byKind["Secret"] {
		if str(s, "metadata", "name") == "qyshook" {
			for k := range mapping(s, "stringData") {
				secretKeys[k] = true
			}
		}
	}
	for k := range configData {
		if !settings[k] {
			t.Errorf("ConfigMap qyshook: %s is not a documented setting", k)
		}
	}
	for k := range secretKeys {
		if !settings[k] {
			t.Errorf("Secret qyshook: %s is not a documented setting", k)
		}
	}
	if configData["QYSHOOK_STREAM_REPLICAS"] != "3" {
		t.Errorf("ConfigMap qyshook: QYSHOOK_STREAM_REPLICAS = %q, want 3 on a cluster", configData["QYSHOOK_STREAM_REPLICAS"])
	}

	var workloads []workload
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		for _, d := range byKind[kind] {
			w := workload{kind: kind, name: str(d, "metadata", "name"), labels: stringMap(d, "spec", "template", "metadata", "labels"),
				spec: mapping(d, "spec", "template", "spec"), replicas: 1}
			if r, ok := get(d, "spec", "replicas").(int); ok {
				w.replicas = r
			}
			for _, c := range list(d, "spec", "volumeClaimTemplates") {
				w.claims = append(w.claims, str(c, "metadata", "name"))
			}
			where := kind + "/" + w.name
			if sel := stringMap(d, "spec", "selector", "matchLabels"); !subset(sel, w.labels) {
				t.Errorf("%s: selector %v does not match the pod labels %v", where, sel, w.labels)
			}
			checkPodSpec(t, where, w, configData, secretKeys, settings, byKind["PersistentVolumeClaim"])
			workloads = append(workloads, w)
		}
	}
	find := func(name string) *workload {
		for i := range workloads {
			if workloads[i].name == name {
				return &workloads[i]
			}
		}
		return nil
	}
	for _, name := range []string{"qyshook-receiver", "qyshook-dispatcher"} {
		if w := find(name); w == nil {
			t.Errorf("no Deployment %s", name)
		} else if w.replicas < 2 {
			t.Errorf("%s: %d replicas, want at least 2", name, w.replicas)
		}
	}

	// NATS: three replicas behind a headless service, and the URL of the
	// ConfigMap names exactly those pods.
	if nats := find("nats"); nats == nil || nats.kind != "StatefulSet" || nats.replicas != 3 {
		t.Errorf("want a StatefulSet nats with 3 replicas, got %+v", nats)
	} else {
		var sts obj
		for _, d := range byKind["StatefulSet"] {
			if str(d, "metadata", "name") == "nats" {
				sts = d
			}
		}
		svcName := str(sts, "spec", "serviceName")
		headless := false
		for _, s := range byKind["Service"] {
			if str(s, "metadata", "name") == svcName && str(s, "spec", "clusterIP") == "None" {
				headless = true
			}
		}
		if !headless {
			t.Errorf("StatefulSet nats: serviceName %q is not a headless Service", svcName)
		}
		var want []string
		for i := range nats.replicas {
			want = append(want, fmt.Sprintf("nats://nats-%d.%s:4222", i, svcName))
		}
		if got := configData["QYSHOOK_NATS_URL"]; got != strings.Join(want, ",") {
			t.Errorf("QYSHOOK_NATS_URL = %q, want %q", got, strings.Join(want, ","))
		}
	}

	// Every workload has a PodDisruptionBudget, and every budget selects a
	// workload.
	covered := map[string]bool{}
	for _, p := range byKind["PodDisruptionBudget"] {
		name := str(p, "metadata", "name")
		if get(p, "spec", "minAvailable") == nil && get(p, "spec", "maxUnavailable") == nil {
			t.Errorf("PodDisruptionBudget/%s: needs minAvailable or maxUnavailable", name)
		}
		sel := stringMap(p, "spec", "selector", "matchLabels")
		matched := false
		for _, w := range workloads {
			if subset(sel, w.labels) {
				matched, covered[w.name] = true, true
			}
		}
		if !matched {
			t.Errorf("PodDisruptionBudget/%s: selector %v matches no Deployment or StatefulSet", name, sel)
		}
	}
	for _, w := range workloads {
		if !covered[w.name] {
			t.Errorf("%s/%s: no PodDisruptionBudget", w.kind, w.name)
		}
	}

	// Services select a workload and target ports its containers declare.
	for _, s := range byKind["Service"] {
		name := str(s, "metadata", "name")
		sel := stringMap(s, "spec", "selector")
		var target *workload
		for i := range workloads {
			if subset(sel, workloads[i].labels) {
				target = &workloads[i]
			}
		}
		if target == nil {
			t.Errorf("Service/%s: selector %v matches no workload", name, sel)
			continue
		}
		ports := containerPorts(target.spec)
		if len(list(s, "spec", "ports")) == 0 {
			t.Errorf("Service/%s: no ports", name)
		}
		for _, p := range list(s, "spec", "ports") {
			tp := fmt.Sprint(get(p, "targetPort"))
			if get(p, "targetPort") == nil {
				tp = fmt.Sprint(get(p, "port"))
			}
			if _, ok := ports[tp]; !ok {
				t.Errorf("Service/%s: targetPort %s is not a port of %s", name, tp, target.name)
			}
		}
	}
}

// containerPorts maps port names and numbers of a pod spec to the number.
func containerPorts(spec obj) map[string]int {
	out := map[string]int{}
	for _, c := range list(spec, "containers") {
		for _, p := range list(c, "ports") {
			n, _ := get(p, "containerPort").(int)
			out[strconv.Itoa(n)] = n
			if name := str(p, "name"); name != "" {
				out[name] = n
			}
		}
	}
	return out
}

func checkPodSpec(t *testing.T, where string, w workload, configData map[string]string, secretKeys, settings map[string]bool, pvcs []obj) {
	t.Helper()
	containers := list(w.spec, "containers")
	if len(containers) == 0 {
		t.Errorf("%s: no containers", where)
	}
	volumes := map[string]bool{}
	for _, c := range w.claims {
		volumes[c] = true
	}
	for _, v := range list(w.spec, "volumes") {
		volumes[str(v, "name")] = true
		if claim := str(v, "persistentVolumeClaim", "claimName"); claim != "" {
			found := false
			for _, p := range pvcs {
				found = found || str(p, "metadata", "name") == claim
			}
			if !found {
				t.Errorf("%s: volume %s claims %s, which is not defined", where, str(v, "name"), claim)
			}
		}
	}
	ports := containerPorts(w.spec)
	for _, c := range containers {
		name, image := str(c, "name"), str(c, "image")
		cw := where + " container " + name
		if name == "" || image == "" {
			t.Errorf("%s: name and image are required", cw)
		}
		for _, r := range []string{"requests", "limits"} {
			for _, res := range []string{"cpu", "memory"} {
				if get(c, "resources", r, res) == nil {
					t.Errorf("%s: resources.%s.%s missing", cw, r, res)
				}
			}
		}
		for _, m := range list(c, "volumeMounts") {
			if !volumes[str(m, "name")] {
				t.Errorf("%s: volumeMount %s has no volume", cw, str(m, "name"))
			}
		}
		env := map[string]string{}
		for _, e := range list(c, "env") {
			n := str(e, "name")
			env[n] = str(e, "value")
			if strings.HasPrefix(n, "QYSHOOK_") && !settings[n] {
				t.Errorf("%s: %s is not a documented setting", cw, n)
			}
			if ref := mapping(e, "valueFrom", "secretKeyRef"); ref != nil {
				if str(ref, "name") != "qyshook" || !secretKeys[str(ref, "key")] {
					t.Errorf("%s: %s refers to secret %s key %s, not in secret.example.yaml", cw, n, str(ref, "name"), str(ref, "key"))
				}
			}
			if ref := mapping(e, "valueFrom", "configMapKeyRef"); ref != nil {
				if _, ok := configData[str(ref, "key")]; str(ref, "name") != "qyshook" || !ok {
					t.Errorf("%s: %s refers to ConfigMap %s key %s, which is not defined", cw, n, str(ref, "name"), str(ref, "key"))
				} else if str(ref, "key") != n {
					t.Errorf("%s: %s takes the ConfigMap key %s", cw, n, str(ref, "key"))
				}
			}
		}
		for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
			if p := get(c, probe, "httpGet", "port"); p != nil {
				if _, ok := ports[fmt.Sprint(p)]; !ok {
					t.Errorf("%s: %s port %v is not a container port", cw, probe, p)
				}
			}
		}
		if !strings.Contains(image, "qyshook") {
			continue
		}
		// qyshook containers: the probes qyshook serves, on the port it listens on.
		if got := str(c, "livenessProbe", "httpGet", "path"); got != "/healthz" {
			t.Errorf("%s: livenessProbe path %q, want /healthz", cw, got)
		}
		if got := str(c, "readinessProbe", "httpGet", "path"); got != "/readyz" {
			t.Errorf("%s: readinessProbe path %q, want /readyz", cw, got)
		}
		_, port, err := net.SplitHostPort(env["QYSHOOK_HTTP_ADDR"])
		if err != nil {
			t.Errorf("%s: QYSHOOK_HTTP_ADDR must be set (the image sets :8080): %v", cw, err)
		} else if n, _ := strconv.Atoi(port); ports[fmt.Sprint(get(c, "readinessProbe", "httpGet", "port"))] != n {
			t.Errorf("%s: probes do not target QYSHOOK_HTTP_ADDR port %s", cw, port)
		}
		cmd := list(c, "command")
		if len(cmd) != 1 || !slices.Contains([]string{"/usr/local/bin/receiver", "/usr/local/bin/dispatcher"}, fmt.Sprint(cmd[0])) {
			t.Errorf("%s: command %v, want /usr/local/bin/receiver or /usr/local/bin/dispatcher", cw, cmd)
		}
	}
}

func TestCompose(t *testing.T) {
	settings := documentedSettings(t)
	docs := readDocs(t, "compose/compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("compose.yaml: %d documents", len(docs))
	}
	services := mapping(docs[0], "services")
	var names []string
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"dispatcher-1", "dispatcher-2", "lb", "nats-1", "nats-2", "nats-3", "postgres", "prometheus", "receiver-1", "receiver-2"}
	if !slices.Equal(names, want) {
		t.Fatalf("services = %v, want %v", names, want)
	}
	volumes := mapping(docs[0], "volumes")
	for _, name := range names {
		s := mapping(services, name)
		if str(s, "image") == "" {
			t.Errorf("%s: no image", name)
		}
		var deps []string
		switch v := get(s, "depends_on").(type) {
		case []any:
			for _, d := range v {
				deps = append(deps, fmt.Sprint(d))
			}
		case obj:
			for k := range v {
				deps = append(deps, k)
			}
		}
		for _, k := range deps {
			if services[k] == nil {
				t.Errorf("%s: depends on unknown service %s", name, k)
			}
		}
		for _, v := range list(s, "volumes") {
			src, _, _ := strings.Cut(fmt.Sprint(v), ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("%s: bind mount %s: %v", name, src, err)
				}
			} else if _, ok := volumes[src]; !ok {
				t.Errorf("%s: volume %s is not declared", name, src)
			}
		}
		env := stringMap(s, "environment")
		for k := range env {
			if strings.HasPrefix(k, "QYSHOOK_") && !settings[k] {
				t.Errorf("%s: %s is not a documented setting", name, k)
			}
		}
		role, _, _ := strings.Cut(name, "-")
		if role != "receiver" && role != "dispatcher" {
			continue
		}
		if got := fmt.Sprint(list(s, "entrypoint")); got != "[/usr/local/bin/"+role+"]" {
			t.Errorf("%s: entrypoint %s, want /usr/local/bin/%s", name, got, role)
		}
		if env["QYSHOOK_STREAM_REPLICAS"] != "3" {
			t.Errorf("%s: QYSHOOK_STREAM_REPLICAS = %q, want 3", name, env["QYSHOOK_STREAM_REPLICAS"])
		}
		if env["QYSHOOK_NATS_URL"] != "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222" {
			t.Errorf("%s: QYSHOOK_NATS_URL = %q", name, env["QYSHOOK_NATS_URL"])
		}
		wantAddr := map[string]string{"receiver": ":8080", "dispatcher": ":8081"}[role]
		if env["QYSHOOK_HTTP_ADDR"] != wantAddr {
			t.Errorf("%s: QYSHOOK_HTTP_ADDR = %q, want %q", name, env["QYSHOOK_HTTP_ADDR"], wantAddr)
		}
		hc := fmt.Sprint(list(s, "healthcheck", "test"))
		if !strings.Contains(hc, "http://127.0.0.1"+wantAddr+"/readyz") {
			t.Errorf("%s: healthcheck %s does not probe /readyz on %s", name, hc, wantAddr)
		}
		if role == "dispatcher" && !strings.HasPrefix(env["QYSHOOK_DB"], "postgres://") {
			t.Errorf("%s: QYSHOOK_DB = %q, want PostgreSQL", name, env["QYSHOOK_DB"])
		}
		if role == "receiver" && env["QYSHOOK_CALLBACK_SECRET"] == "" {
			t.Errorf("%s: no QYSHOOK_CALLBACK_SECRET", name)
		}
	}
	for i := 1; i <= 3; i++ {
		cmd := fmt.Sprint(list(services, fmt.Sprintf("nats-%d", i), "command"))
		for _, want := range []string{"--jetstream", "--cluster_name qyshook", "nats://nats-1:6222,nats://nats-2:6222,nats://nats-3:6222", fmt.Sprintf("--name nats-%d", i)} {
			if !strings.Contains(cmd, want) {
				t.Errorf("nats-%d: command %s lacks %q", i, cmd, want)
			}
		}
	}

	// Prometheus scrapes exactly the qyshook services, under the job names
	// the rules use; nginx balances over the receivers.
	prom := readDocs(t, "prometheus/prometheus-compose.yml")[0]
	targets := map[string][]string{}
	for _, sc := range list(prom, "scrape_configs") {
		for _, st := range list(sc, "static_configs") {
			for _, tg := range list(st, "targets") {
				targets[str(sc, "job_name")] = append(targets[str(sc, "job_name")], fmt.Sprint(tg))
			}
		}
	}
	wantTargets := map[string][]string{
		"qyshook-receiver":   {"receiver-1:8080", "receiver-2:8080"},
		"qyshook-dispatcher": {"dispatcher-1:8081", "dispatcher-2:8081"},
	}
	if fmt.Sprint(targets) != fmt.Sprint(wantTargets) {
		t.Errorf("prometheus-compose.yml targets = %v, want %v", targets, wantTargets)
	}
	nginx, err := os.ReadFile("compose/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"server receiver-1:8080", "server receiver-2:8080"} {
		if !bytes.Contains(nginx, []byte(r)) {
			t.Errorf("nginx.conf: no %q", r)
		}
	}
}

func TestAlertRules(t *testing.T) {
	exported := exportedMetrics(t)
	docs := readDocs(t, "prometheus/qyshook-rules.yaml")
	if len(docs) != 1 {
		t.Fatalf("rules: %d documents", len(docs))
	}
	names := map[string]bool{}
	for _, g := range list(docs[0], "groups") {
		for _, r := range list(g, "rules") {
			name := str(r, "alert")
			if name == "" {
				t.Errorf("group %s: a rule without an alert name: %v", str(g, "name"), r)
				continue
			}
			if names[name] {
				t.Errorf("alert %s defined twice", name)
			}
			names[name] = true
			if sev := str(r, "labels", "severity"); sev != "critical" && sev != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", name, sev)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(str(r, "annotations", a)) == "" {
					t.Errorf("%s: annotation %s missing", name, a)
				}
			}
			expr := str(r, "expr")
			if expr == "" {
				t.Errorf("%s: no expr", name)
			}
			checkMetrics(t, name, expr, exported)
			if strings.Contains(expr, "job=") && !regexp.MustCompile(`job="qyshook-(receiver|dispatcher)"`).MatchString(expr) {
				t.Errorf("%s: job selector must be qyshook-receiver or qyshook-dispatcher", name)
			}
		}
	}
	// The README's alert table and the rules cover the same ground.
	for _, want := range []string{"QyshookDeadLetters", "QyshookConsumerLagHigh", "QyshookReceiverUnavailable",
		"QyshookVerificationFailures", "QyshookDispatchFailures", "QyshookDispatcherNotReady", "QyshookNoCallbacks",
		"QyshookConnectionsRefused"} {
		if !names[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

func TestDashboard(t *testing.T) {
	exported := exportedMetrics(t)
	b, err := os.ReadFile("grafana/qyshook-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			GridPos *struct {
				H, W, X, Y int
			} `json:"gridPos"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs uid and title")
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if !slices.Contains(vars, "datasource") {
		t.Error("dashboard: no datasource variable")
	}
	ids := map[int]bool{}
	covered := map[string]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" || p.Type == "text" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkMetrics(t, "panel "+p.Title, tg.Expr, exported)
			for _, m := range metricRE.FindAllString(tg.Expr, -1) {
				covered[strings.TrimSuffix(m, "_bucket")] = true
			}
		}
	}
	for m := range exported {
		if strings.HasPrefix(m, "qyshook_receiver_") || strings.HasPrefix(m, "qyshook_dispatcher_") ||
			strings.HasPrefix(m, "qyshook_api_") || m == "qyshook_dlq_depth" {
			if !covered[m] {
				t.Errorf("dashboard: no panel shows %s", m)
			}
		}
	}
}

// TestPrometheusKubernetes checks the in-cluster scrape configuration
// against the manifests' labels and the rules' job names (Debian's promtool
// is built without Kubernetes discovery, so it cannot check this file).
func TestPrometheusKubernetes(t *testing.T) {
	docs := readDocs(t, "prometheus/prometheus-kubernetes.yml")
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	for _, f := range list(docs[0], "rule_files") {
		if _, err := os.Stat(filepath.Join("prometheus", fmt.Sprint(f))); err != nil {
			t.Errorf("rule_files: %v", err)
		}
	}
	scs := list(docs[0], "scrape_configs")
	if len(scs) != 1 || str(scs[0], "kubernetes_sd_configs", 0, "role") != "pod" {
		t.Fatalf("want one scrape config with pod discovery, got %v", scs)
	}
	var relabels []string
	for _, r := range list(scs[0], "relabel_configs") {
		relabels = append(relabels, strings.TrimSpace(fmt.Sprintf("%v %s %s %s %s", get(r, "source_labels"), str(r, "regex"), str(r, "action"), str(r, "target_label"), str(r, "replacement"))))
	}
	for _, want := range []string{
		"[__meta_kubernetes_pod_label_app_kubernetes_io_name] qyshook keep",
		"[__meta_kubernetes_pod_label_app_kubernetes_io_component] receiver|dispatcher keep",
		"[__meta_kubernetes_pod_container_port_name] http keep",
		"[__meta_kubernetes_pod_label_app_kubernetes_io_component]   job qyshook-$1",
		"[__meta_kubernetes_namespace]   namespace",
	} {
		if !slices.Contains(relabels, want) {
			t.Errorf("relabel_configs lack %q; have %q", want, relabels)
		}
	}
}

// dashboardRules turns the dashboard's queries into recording rules, so
// promtool can parse them (Grafana's variables replaced by values).
func dashboardRules(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("grafana/qyshook-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$namespace", ".*")
	var rules []map[string]string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			rules = append(rules, map[string]string{"record": fmt.Sprintf("dashboard:query:%d", len(rules)), "expr": r.Replace(tg.Expr)})
		}
	}
	out, err := json.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPromtool runs promtool on the rules, their unit tests, the compose
// Prometheus configuration and the dashboard's queries. CI installs it
// (Debian's prometheus package); elsewhere the test is skipped.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH: install it (Debian: apt-get install prometheus) to check the alert rules")
	}
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("check", "rules", "prometheus/qyshook-rules.yaml")
	run("test", "rules", "prometheus/qyshook-rules_test.yaml")
	run("check", "config", "prometheus/prometheus-compose.yml")
	dash := filepath.Join(t.TempDir(), "dashboard-rules.json")
	if err := os.WriteFile(dash, dashboardRules(t), 0o644); err != nil {
		t.Fatal(err)
	}
	run("check", "rules", dash)
}

// TestNATSSyncPolicy: the NATS nodes of both deployments hold
// QYS_CALLBACKS and fsync every write before acknowledging it
// (sync_interval: always). Their replicas share a power supply (one
// Docker host; often one zone): with nats-server's default 2-minute
// flush a power loss taking them down together can lose callbacks
// already answered `success`. The files are read by the pinned
// nats-server's own configuration parser.
func TestNATSSyncPolicy(t *testing.T) {
	syncAlways := func(t *testing.T, conf []byte) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "nats.conf")
		if err := os.WriteFile(path, conf, 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("nats-server rejects the configuration: %v\n%s", err, conf)
		}
		if !opts.SyncAlways {
			t.Errorf("nats-server configuration without sync_interval: always (sync interval %v):\n%s", opts.SyncInterval, conf)
		}
	}
	t.Run("compose", func(t *testing.T) {
		conf, err := os.ReadFile("compose/nats.conf")
		if err != nil {
			t.Fatal(err)
		}
		syncAlways(t, conf)
		services := mapping(readDocs(t, "compose/compose.yaml")[0], "services")
		for i := 1; i <= 3; i++ {
			name := fmt.Sprintf("nats-%d", i)
			s := mapping(services, name)
			if cmd := fmt.Sprint(list(s, "command")); !strings.HasPrefix(cmd, "[--config /etc/nats/nats.conf ") {
				t.Errorf("%s: command %s does not start with --config /etc/nats/nats.conf", name, cmd)
			}
			if !slices.ContainsFunc(list(s, "volumes"), func(v any) bool { return fmt.Sprint(v) == "./nats.conf:/etc/nats/nats.conf:ro" }) {
				t.Errorf("%s: volumes %v do not mount ./nats.conf at /etc/nats/nats.conf", name, list(s, "volumes"))
			}
		}
	})
	t.Run("kubernetes", func(t *testing.T) {
		var conf string
		var mounted bool
		for _, d := range readDocs(t, "kubernetes/nats.yaml") {
			switch {
			case str(d, "kind") == "ConfigMap" && str(d, "metadata", "name") == "nats":
				conf = str(d, "data", "nats.conf")
			case str(d, "kind") == "StatefulSet" && str(d, "metadata", "name") == "nats":
				for _, v := range list(d, "spec", "template", "spec", "volumes") {
					if str(v, "configMap", "name") == "nats" {
						mounted = true
					}
				}
			}
		}
		if conf == "" || !mounted {
			t.Fatalf("kubernetes/nats.yaml: ConfigMap nats with nats.conf (found %v) mounted by the StatefulSet nats (%v)", conf != "", mounted)
		}
		t.Setenv("POD_NAME", "nats-0") // the config names the server after its pod
		syncAlways(t, []byte(conf))
	})
}
