// Command sipfrontctl calls sipfront's JSON-RPC control API, as kamcmd calls
// Kamailio's:
//
//	sipfrontctl [-rpc ADDR] [-token T] [-json] [-timeout D] METHOD [PARAMS...]
//
// Parameters are positional and typed like kamcmd's: a token that is a
// decimal integer is sent as a JSON number, "s:VALUE" forces a string,
// "i:VALUE" forces an integer, anything else is a string. So
//
//	sipfrontctl dispatcher.set_state i 1 sip:10.0.0.5
//
// sends ["i",1,"sip:10.0.0.5"]. The result is printed the way kamcmd prints
// it (objects as indented "{ }" blocks of "key: value" lines, arrays item by
// item, a string as is); -json prints the reply as received.
//
// ADDR is host:port or a URL; it defaults to $SIPFRONT_RPC, else
// 127.0.0.1:9060. The token defaults to $SIPFRONT_RPC_TOKEN. Flags go before
// METHOD. Exit status: 0 on success, 1 when the call fails (an error reply,
// no connection, no answer in time), 2 on a usage error.
//
// sipfrontctl works against Kamailio's jsonrpcs too (-rpc http://host:port/RPC).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sipfront/sipfront/lb/rpc"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usageText = `usage: sipfrontctl [-rpc ADDR] [-token T] [-json] [-timeout D] METHOD [PARAMS...]

Calls METHOD on sipfront's JSON-RPC API and prints the result like kamcmd.
PARAMS are positional: an integer is sent as a number, s:VALUE forces a
string, i:VALUE forces an integer, anything else is a string.

Examples:
  sipfrontctl dispatcher.list
  sipfrontctl dispatcher.set_state i 1 sip:10.0.0.5:5060
  sipfrontctl system.listMethods

Flags:
`

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipfrontctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	defAddr := os.Getenv("SIPFRONT_RPC")
	if defAddr == "" {
		defAddr = rpc.DefaultAddr
	}
	addr := fs.String("rpc", defAddr, "RPC address, host:port or URL (env SIPFRONT_RPC)")
	// The token's default is read after parsing so that -h never prints it.
	token := fs.String("token", "", "bearer token (default $SIPFRONT_RPC_TOKEN)")
	asJSON := fs.Bool("json", false, "print the JSON reply as received")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *token == "" {
		*token = os.Getenv("SIPFRONT_RPC_TOKEN")
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "sipfrontctl: no METHOD given")
		fs.Usage()
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "sipfrontctl: -timeout must be positive")
		return exitUsage
	}
	method := fs.Arg(0)
	params, err := parseParams(fs.Args()[1:])
	if err != nil {
		fmt.Fprintln(stderr, "sipfrontctl:", err)
		return exitUsage
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &rpc.Client{Addr: *addr, Token: *token}
	body, err := c.CallRaw(ctx, method, params...)
	if err != nil {
		var rerr *rpc.Error
		switch {
		case errors.As(err, &rerr):
			if *asJSON && body != nil {
				stdout.Write(append(body, '\n'))
			}
			fmt.Fprintf(stderr, "error: %d - %s\n", rerr.Code, rerr.Message)
		case errors.Is(err, rpc.ErrUnreachable):
			fmt.Fprintf(stderr, "sipfrontctl: %v (is sipfront running with -rpc %s?)\n", unprefixed(err), *addr)
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Fprintf(stderr, "sipfrontctl: no answer from %s within %v\n", c.URL(), *timeout)
		default:
			fmt.Fprintf(stderr, "sipfrontctl: %v\n", unprefixed(err))
		}
		return exitFail
	}
	if *asJSON {
		stdout.Write(append(body, '\n'))
		return exitOK
	}
	var rep struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		fmt.Fprintf(stderr, "sipfrontctl: %v\n", err) // cannot happen: CallRaw checked it
		return exitFail
	}
	if err := printResult(stdout, rep.Result); err != nil {
		fmt.Fprintf(stderr, "sipfrontctl: printing the result: %v\n", err)
		return exitFail
	}
	return exitOK
}

// unprefixed drops the "rpc: " of lb/rpc errors: the line already says
// sipfrontctl.
func unprefixed(err error) string {
	s := err.Error()
	if len(s) > 5 && s[:5] == "rpc: " {
		return s[5:]
	}
	return s
}
