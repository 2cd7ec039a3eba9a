// etcd's own main package lives in the repository's root module, which the proxy serves only
// with local replaces; this two-line main calls the same entry point from the server module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
