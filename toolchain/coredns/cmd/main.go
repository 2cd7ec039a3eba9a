// CoreDNS with only the plugins the real node's pods need: kubernetes answers cluster.local
// names (a headless Service resolves to its ready pods' addresses) and bind keeps the server
// on the node's bridge address. CoreDNS's own main links every plugin it ships, cloud DNS
// providers among them; linking only these keeps the build small.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func main() {
	coremain.Run()
}
