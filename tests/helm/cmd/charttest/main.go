// Command charttest lints or renders the s2s-proxy chart with the helm CLI, checks what it
// renders, and runs `s2s-proxy validate` on each proxy config taken from the rendered ConfigMap.
//
//	charttest -helm HELM -chart DIR -work DIR -lint [-values FILE] [-set K=V]...
//	charttest -helm HELM -chart DIR -work DIR -proxy S2S_PROXY [-values FILE] [-set K=V]... [-run-group]
//	charttest -helm HELM -chart DIR -work DIR [-values FILE] [-set K=V]... -expect-failure TEXT
//
// Before rendering it writes throwaway TLS files for every entry of tls.secrets in the values
// file and for the group's Secret, where the Secrets would be mounted, and points
// tls.mountDirectory at them through an extra values file, so that validate finds and loads real
// certificates. With -run-group it then starts the configs of a StatefulSet's pods on this
// machine and checks the group they form (run.go).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

type options struct {
	helm, chart, work, proxy, values, expectFailure string
	sets                                            repeated
	lint, runGroup                                  bool
}

func main() {
	var o options
	flag.StringVar(&o.helm, "helm", "", "the helm binary")
	flag.StringVar(&o.chart, "chart", "", "the chart directory")
	flag.StringVar(&o.work, "work", "", "a directory for this run; emptied first")
	flag.StringVar(&o.proxy, "proxy", "", "the s2s-proxy binary, to validate the rendered config")
	flag.StringVar(&o.values, "values", "", "a values file (optional)")
	flag.Var(&o.sets, "set", "a helm --set value (repeatable)")
	flag.BoolVar(&o.lint, "lint", false, "run helm lint --strict instead of rendering")
	flag.BoolVar(&o.runGroup, "run-group", false, "after validating, run the pods' configs and check that they form a group")
	flag.StringVar(&o.expectFailure, "expect-failure", "", "rendering must fail with a message containing this text")
	flag.Parse()
	if o.helm == "" || o.chart == "" || o.work == "" || (!o.lint && o.expectFailure == "" && o.proxy == "") {
		fmt.Fprintln(os.Stderr, "usage: charttest -helm HELM -chart DIR -work DIR (-lint | -proxy S2S_PROXY | -expect-failure TEXT) [-values FILE] [-set K=V]...")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("PASS")
}

func run(o options) error {
	// The proxy runs in the work directory: every path given is made absolute first.
	for _, path := range []*string{&o.helm, &o.chart, &o.work, &o.proxy, &o.values} {
		if *path == "" {
			continue
		}
		absolute, err := filepath.Abs(*path)
		if err != nil {
			return err
		}
		*path = absolute
	}
	work := o.work
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	valueArgs := []string{}
	if o.values != "" {
		valueArgs = append(valueArgs, "--values", o.values)
	}
	if o.lint {
		args := append([]string{"lint", "--strict", o.chart}, valueArgs...)
		for _, s := range o.sets {
			args = append(args, "--set", s)
		}
		out, err := helm(o.helm, work, args...)
		if err != nil {
			return fmt.Errorf("helm lint: %v\n%s", err, out)
		}
		if !strings.Contains(out, "0 chart(s) failed") {
			return fmt.Errorf("helm lint did not report a clean chart:\n%s", out)
		}
		fmt.Print(out)
		return nil
	}

	mountDirectory := filepath.Join(work, "tls")
	// The group's Secret (group.tlsSecretName) is mounted at <mountDirectory>/group.
	names := []string{"group"}
	if o.values != "" {
		secrets, err := secretNames(o.values)
		if err != nil {
			return err
		}
		names = append(names, secrets...)
	}
	if err := writeTLSFiles(mountDirectory, names); err != nil {
		return err
	}
	override := filepath.Join(work, "tls-override.yaml")
	overrideText, _ := yaml.Marshal(map[string]any{"tls": map[string]any{"mountDirectory": mountDirectory}})
	if err := os.WriteFile(override, overrideText, 0o644); err != nil {
		return err
	}
	args := append([]string{"template", "proxy", o.chart, "--namespace", "temporal"}, valueArgs...)
	args = append(args, "--values", override)
	for _, s := range o.sets {
		args = append(args, "--set", s)
	}
	rendered, err := helm(o.helm, work, args...)
	if o.expectFailure != "" {
		if err == nil {
			return fmt.Errorf("helm template succeeded, but it should have failed with %q", o.expectFailure)
		}
		if !strings.Contains(rendered, o.expectFailure) {
			return fmt.Errorf("helm template failed without %q:\n%s", o.expectFailure, rendered)
		}
		fmt.Printf("helm template failed as it should:\n%s", rendered)
		return nil
	}
	if err != nil {
		return fmt.Errorf("helm template: %v\n%s", err, rendered)
	}
	if err := os.WriteFile(filepath.Join(work, "rendered.yaml"), []byte(rendered), 0o644); err != nil {
		return err
	}
	manifests, err := decode(rendered)
	if err != nil {
		return err
	}
	configs, err := check(manifests)
	if err != nil {
		return err
	}
	for _, c := range configs {
		configPath := filepath.Join(work, c.file)
		if err := os.WriteFile(configPath, []byte(c.text), 0o644); err != nil {
			return err
		}
		if err := validate(o.proxy, work, configPath); err != nil {
			return err
		}
	}
	if o.runGroup {
		if len(manifests.statefulSets) != 1 {
			return fmt.Errorf("-run-group needs a StatefulSet, and the chart rendered none")
		}
		return runGroup(o.proxy, work, manifests.statefulSets[0].Spec.ServiceName, configs)
	}
	return nil
}

// helm runs the helm CLI with its cache, config and data under the work directory, so that it
// reads nothing the machine's user set up; it returns stdout and stderr together.
func helm(binary, work string, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	home := filepath.Join(work, "helm-home")
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// validate runs `s2s-proxy validate` on the config, from the work directory.
func validate(proxy, work, configPath string) error {
	cmd := exec.Command(proxy, "validate", "--config", configPath)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("s2s-proxy validate refused the rendered config (%s): %v\n%s", configPath, err, out)
	}
	if !strings.HasPrefix(string(out), "config OK") {
		return fmt.Errorf("s2s-proxy validate exited 0 without its summary line:\n%s", out)
	}
	fmt.Printf("s2s-proxy validate: %s", out)
	return nil
}

// secretNames reads tls.secrets[].name from a values file.
func secretNames(valuesFile string) ([]string, error) {
	text, err := os.ReadFile(valuesFile)
	if err != nil {
		return nil, err
	}
	var values struct {
		TLS struct {
			Secrets []struct {
				Name string `json:"name"`
			} `json:"secrets"`
		} `json:"tls"`
	}
	if err := yaml.Unmarshal(text, &values); err != nil {
		return nil, fmt.Errorf("%s: %v", valuesFile, err)
	}
	names := []string{}
	for _, s := range values.TLS.Secrets {
		names = append(names, s.Name)
	}
	return names, nil
}
