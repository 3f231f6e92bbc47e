package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/sipfront/sipfront/lb/rpc"
)

// A method reads its positional params with the typed accessors and fails
// with an *rpc.Error carrying Kamailio's message; the client sees the same
// error.
func Example() {
	var reg rpc.Registry
	errUnknownState := &rpc.Error{Code: 500, Message: "Unknown State Value"}
	reg.Register("dispatcher.set_state", "Set the state of a destination: STATE GROUP ADDRESS",
		func(_ context.Context, p rpc.Params) (any, error) {
			state, err := p.StringAuto(0)
			if err != nil {
				return nil, err
			}
			group, err := p.Int(1)
			if err != nil {
				return nil, err
			}
			addr, err := p.String(2)
			if err != nil {
				return nil, err
			}
			if state != "a" && state != "i" {
				return nil, errUnknownState
			}
			_, _ = group, addr // package lb would update the destination here
			return "Ok. Dispatcher state updated.", nil
		})

	srv := httptest.NewServer(rpc.NewHandler(&reg, rpc.HandlerOptions{}))
	defer srv.Close()
	c := &rpc.Client{Addr: srv.URL + "/RPC"}
	ctx := context.Background()

	res, err := c.Call(ctx, "dispatcher.set_state", "i", 1, "sip:10.0.0.5")
	fmt.Println(string(res), err)

	_, err = c.Call(ctx, "dispatcher.set_state", "i", "1", "sip:10.0.0.5")
	fmt.Println(errors.Is(err, rpc.ErrInvalidParams), err)

	_, err = c.Call(ctx, "dispatcher.set_state", "x", 1, "sip:10.0.0.5")
	var rerr *rpc.Error
	if errors.As(err, &rerr) {
		fmt.Println(rerr.Code, rerr.Message, rerr.HTTPStatus)
	}

	res, _ = c.Call(ctx, "system.methodHelp", "dispatcher.set_state")
	fmt.Println(string(res))
	// Output:
	// "Ok. Dispatcher state updated." <nil>
	// true rpc: Invalid Parameters (code 500)
	// 500 Unknown State Value 500
	// "Set the state of a destination: STATE GROUP ADDRESS"
}

func ExampleCheckBind() {
	fmt.Println(rpc.CheckBind("127.0.0.1:9060", ""))
	fmt.Println(rpc.CheckBind("0.0.0.0:9060", ""))
	fmt.Println(rpc.CheckBind("0.0.0.0:9060", "a-long-random-token"))
	// Output:
	// <nil>
	// rpc: a non-loopback RPC address needs a token: "0.0.0.0:9060" is not a loopback address; set a token or listen on 127.0.0.1:9060
	// <nil>
}
