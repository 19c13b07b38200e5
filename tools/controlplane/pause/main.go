// The local node's pause image: the process that holds each Pod sandbox's namespaces. It waits
// for SIGTERM or SIGINT and reaps any child re-parented to it (it is PID 1 of the sandbox).
// Built statically (CGO_ENABLED=0) and put alone in an image by tools/images.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
