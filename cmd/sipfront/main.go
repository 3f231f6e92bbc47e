// Command sipfront is the SIP load balancer daemon; `sipfront demo` runs it
// on one host with in-process back ends and a short call generator.
package main

import (
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil)) }
