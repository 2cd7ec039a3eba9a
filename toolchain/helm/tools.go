//go:build tools

// Keeps helm's main package in this module's build list, so `go mod tidy` records its
// dependencies in go.sum.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
