// CoreDNS with only the plugins the local node's cluster DNS uses (see the Corefile in
// tools/controlplane/node.ts): its own main package instead of github.com/coredns/coredns, whose
// full plugin set (cloud DNS providers among them) takes several times longer to build.
package main

import (
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
