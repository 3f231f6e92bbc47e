package rpc

import (
	"context"
	"slices"
	"sync"
)

// Handler runs one RPC method. The result is encoded with encoding/json (a nil
// result is sent as {}); err may be an *Error to choose the code and message,
// and any other error is answered with code 500 and err.Error() as message.
// p is valid only until the handler returns. ctx is the HTTP request's
// context: it is cancelled when the client goes away.
type Handler func(ctx context.Context, p Params) (result any, err error)

// Registry maps method names to handlers. The zero value is ready to use and
// already answers the built-in methods system.listMethods, system.methodHelp
// and system.methodSignature (as Kamailio does; it has no core.help). It is
// safe for concurrent use; methods are usually registered once at start-up.
type Registry struct {
	mu      sync.RWMutex
	methods map[string]method
}

type method struct {
	help string
	h    Handler
}

// Built-in method names and their help texts.
const (
	listMethodsName     = "system.listMethods"
	methodHelpName      = "system.methodHelp"
	methodSignatureName = "system.methodSignature"
	undocumented        = "undocumented" // Kamailio's answer for a method without help
)

var builtinHelp = map[string]string{
	listMethodsName:     "Lists the RPC methods this server answers.",
	methodHelpName:      "Returns the help text of the method named by its parameter.",
	methodSignatureName: "Not implemented (as in Kamailio).",
}

// Register adds a method. help is what system.methodHelp answers for it.
// Like http.ServeMux.Handle it panics on a programming error: an empty name, a
// nil handler, or a name already registered (built-ins included).
func (r *Registry) Register(name, help string, h Handler) {
	if name == "" || h == nil {
		panic("rpc: Register needs a method name and a handler")
	}
	if _, ok := builtinHelp[name]; ok {
		panic("rpc: method " + name + " is built in")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.methods[name]; dup {
		panic("rpc: method " + name + " registered twice")
	}
	if r.methods == nil {
		r.methods = make(map[string]method)
	}
	r.methods[name] = method{help: help, h: h}
}

// Methods returns every method name the registry answers, built-ins included,
// sorted (the order of Kamailio's system.listMethods).
func (r *Registry) Methods() []string {
	r.mu.RLock()
	names := make([]string, 0, len(r.methods)+len(builtinHelp))
	for n := range r.methods {
		names = append(names, n)
	}
	r.mu.RUnlock()
	for n := range builtinHelp {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Help returns the help text of a method, and whether the method exists.
func (r *Registry) Help(name string) (string, bool) {
	if h, ok := builtinHelp[name]; ok {
		return h, true
	}
	r.mu.RLock()
	m, ok := r.methods[name]
	r.mu.RUnlock()
	return m.help, ok
}

// lookup finds the handler of a method.
func (r *Registry) lookup(name string) (Handler, bool) {
	switch name {
	case listMethodsName:
		return r.listMethods, true
	case methodHelpName:
		return r.methodHelp, true
	case methodSignatureName:
		return methodSignature, true
	}
	r.mu.RLock()
	m, ok := r.methods[name]
	r.mu.RUnlock()
	return m.h, ok
}

func (r *Registry) listMethods(context.Context, Params) (any, error) {
	return r.Methods(), nil
}

// methodHelp copies Kamailio: 400 "Method Name Expected" without a string
// parameter, 400 "command not found" for an unknown method, "undocumented" for
// a method registered without help.
func (r *Registry) methodHelp(_ context.Context, p Params) (any, error) {
	name, err := p.String(0)
	if err != nil {
		return nil, errMethodNameExpected
	}
	help, ok := r.Help(name)
	if !ok {
		return nil, errCommandNotFound
	}
	if help == "" {
		return undocumented, nil
	}
	return help, nil
}

func methodSignature(context.Context, Params) (any, error) {
	return nil, errNotImplemented
}
