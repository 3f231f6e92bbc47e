package rpc

import (
	"context"
	"slices"
	"sync"
	"testing"
)

func nop(context.Context, Params) (any, error) { return nil, nil }

func TestRegistryRegisterPanics(t *testing.T) {
	cases := []struct {
		name   string
		method string
		h      Handler
	}{
		{"empty_name", "", nop},
		{"nil_handler", "a.b", nil},
		{"duplicate", "core.version", nop},
		{"builtin", "system.listMethods", nop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Registry
			r.Register("core.version", "", nop)
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", tc.method)
				}
			}()
			r.Register(tc.method, "", tc.h)
		})
	}
}

func TestRegistryMethodsAndHelp(t *testing.T) {
	var r Registry
	if got := r.Methods(); !slices.Equal(got, []string{"system.listMethods", "system.methodHelp", "system.methodSignature"}) {
		t.Errorf("zero registry Methods() = %v", got)
	}
	r.Register("stats.fetch", "Print statistics", nop)
	r.Register("dispatcher.list", "", nop)
	r.Register("core.version", "Returns the version string of the server.", nop)
	want := []string{"core.version", "dispatcher.list", "stats.fetch", "system.listMethods", "system.methodHelp", "system.methodSignature"}
	if got := r.Methods(); !slices.Equal(got, want) {
		t.Errorf("Methods() = %v, want %v", got, want)
	}
	cases := []struct {
		name, help string
		ok         bool
	}{
		{"stats.fetch", "Print statistics", true},
		{"dispatcher.list", "", true},
		{"system.methodHelp", builtinHelp["system.methodHelp"], true},
		{"no.such", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if help, ok := r.Help(tc.name); help != tc.help || ok != tc.ok {
				t.Errorf("Help(%q) = %q, %v", tc.name, help, ok)
			}
		})
	}
}

// TestRegistryConcurrent registers while calls look methods up (run with -race).
func TestRegistryConcurrent(t *testing.T) {
	var r Registry
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			r.Register("m."+string(rune('a'+i%26))+string(rune('a'+i/26)), "", nop)
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			r.lookup("m.aa")
			r.Methods()
		}
	}()
	wg.Wait()
	if n := len(r.Methods()); n != 203 {
		t.Errorf("%d methods, want 203", n)
	}
}
