// Package parsercmp measures sipfront's parser against emiago/sipgo's on the
// same realistic messages (parser/testdata/messages), in one `go test -bench`
// run so the ratio is taken on one machine at one time:
//
//	cd bench && go test -run '^$' -bench . -benchmem ./parsercmp
//
// It lives in the bench module so that sipgo never enters sipfront's go.mod.
// The package has no code of its own; the benchmarks are the content.
package parsercmp
