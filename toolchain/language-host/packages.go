package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type packageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	Pulumi       struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// findResourcePackages walks the node_modules folders above and below the program for packages
// that declare `"pulumi": {"resource": true}`: each is a resource plugin the program may load.
func findResourcePackages(programDir string) ([]*pulumirpc.PackageDependency, error) {
	seen := map[string]bool{}
	var found []*pulumirpc.PackageDependency
	for dir := programDir; ; dir = filepath.Dir(dir) {
		nodeModules := filepath.Join(dir, "node_modules")
		if err := walkPackages(nodeModules, func(pkg packageJSON) {
			dep, ok := resourceDependency(pkg)
			if ok && !seen[dep.Name+"@"+dep.Version] {
				seen[dep.Name+"@"+dep.Version] = true
				found = append(found, dep)
			}
		}); err != nil {
			return nil, err
		}
		if filepath.Dir(dir) == dir {
			return found, nil
		}
	}
}

// walkPackages visits each package installed in nodeModules (node_modules/<name> and
// node_modules/@scope/<name>), then the node_modules nested inside it. It reads only
// manifests, so it stays cheap on large trees such as @pulumi/aws.
func walkPackages(nodeModules string, visit func(packageJSON)) error {
	entries, err := os.ReadDir(nodeModules)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, entry := range entries {
		dir := filepath.Join(nodeModules, entry.Name())
		if strings.HasPrefix(entry.Name(), "@") {
			if err := walkPackages(dir, visit); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err != nil {
			continue // not a package (.bin, .package-lock.json)
		}
		var pkg packageJSON
		if json.Unmarshal(data, &pkg) == nil {
			visit(pkg)
		}
		if err := walkPackages(filepath.Join(dir, "node_modules"), visit); err != nil {
			return err
		}
	}
	return nil
}

func resourceDependency(pkg packageJSON) (*pulumirpc.PackageDependency, bool) {
	if !pkg.Pulumi.Resource {
		return nil, false
	}
	name := pkg.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(pkg.Name, "@pulumi/") {
			return nil, false
		}
		name = strings.TrimPrefix(pkg.Name, "@pulumi/")
	}
	version := pkg.Pulumi.Version
	if version == "" {
		version = pkg.Version
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	return &pulumirpc.PackageDependency{
		Kind: "resource", Name: name, Version: version, Server: pkg.Pulumi.Server,
	}, true
}

// readDependencies lists the program's direct dependencies with their installed versions.
func readDependencies(programDir string) ([]*pulumirpc.DependencyInfo, error) {
	data, err := os.ReadFile(filepath.Join(programDir, "package.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var manifest packageJSON
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("reading package.json: %w", err)
	}
	var deps []*pulumirpc.DependencyInfo
	for name, wanted := range manifest.Dependencies {
		version := wanted
		if installed, err := os.ReadFile(filepath.Join(programDir, "node_modules", name, "package.json")); err == nil {
			var pkg packageJSON
			if json.Unmarshal(installed, &pkg) == nil && pkg.Version != "" {
				version = pkg.Version
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: version})
	}
	return deps, nil
}
