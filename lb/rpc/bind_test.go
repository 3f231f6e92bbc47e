package rpc

import (
	"errors"
	"testing"
)

func TestCheckBind(t *testing.T) {
	cases := []struct {
		addr, token string
		want        error
	}{
		{"127.0.0.1:9060", "", nil},
		{"127.1.2.3:9060", "", nil},
		{"[::1]:9060", "", nil},
		{"[::ffff:127.0.0.1]:9060", "", nil},
		{"localhost:9060", "", nil},
		{"0.0.0.0:9060", "", ErrNeedToken},
		{":9060", "", ErrNeedToken},
		{"[::]:9060", "", ErrNeedToken},
		{"10.0.0.5:9060", "", ErrNeedToken},
		{"rpc.example.com:9060", "", ErrNeedToken},
		{"localhost.example.com:9060", "", ErrNeedToken},
		{"0.0.0.0:9060", "tok", nil},
		{"10.0.0.5:9060", "tok", nil},
		{"127.0.0.1", "", ErrBadAddr},
		{"", "", ErrBadAddr},
		{"[::1:9060", "tok", ErrBadAddr},
	}
	for _, tc := range cases {
		t.Run(tc.addr+"/"+tc.token, func(t *testing.T) {
			err := CheckBind(tc.addr, tc.token)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Errorf("CheckBind(%q, %q) = %v, want %v", tc.addr, tc.token, err, tc.want)
			}
		})
	}
}

func TestCheckBindMessage(t *testing.T) {
	err := CheckBind("0.0.0.0:9060", "")
	const want = `rpc: a non-loopback RPC address needs a token: "0.0.0.0:9060" is not a loopback address; set a token or listen on 127.0.0.1:9060`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
