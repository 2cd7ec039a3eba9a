//go:build tools

// Keeps the kubelet's main package in this module's build list, so `go mod tidy` records its
// dependencies in go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
)
