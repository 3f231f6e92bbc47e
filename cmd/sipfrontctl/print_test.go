package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintLikeKamcmd prints results recorded from Kamailio 5.6.3's jsonrpcs
// (testdata/kamcmd/NAME.json, whole replies from curl) and compares with what
// kamcmd printed for the same call over BINRPC (NAME.txt).
func TestPrintLikeKamcmd(t *testing.T) {
	files, err := filepath.Glob("testdata/kamcmd/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Result json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal(in, &rep); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := printResult(&got, rep.Result); err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("got:\n%s\nkamcmd printed:\n%s", got.String(), want)
			}
		})
	}
}

// TestPrintShapes covers shapes the Kamailio recordings do not.
func TestPrintShapes(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"string_as_is", `"Ok. Dispatcher state updated."`, "Ok. Dispatcher state updated.\n"},
		{"number_as_written", `1.50`, "1.50\n"},
		{"bool", `true`, "true\n"},
		{"null", `null`, "<null string>\n"},
		{"empty_object", `{}`, "{\n}\n"},
		{"empty_array_prints_nothing", `[]`, ""},
		{"scalars_array", `["a",1,null]`, "a\n1\n<null string>\n"},
		{"nested_empty", `{"A":{},"B":[]}`, "{\n\tA: {\n\t}\n\tB: {\n\t}\n}\n"},
		{"multi_member_objects_in_array_keep_blocks", `{"L":[{"a":1,"b":2},{"a":3,"b":4}]}`,
			"{\n\tL: {\n\t\t{\n\t\t\ta: 1\n\t\t\tb: 2\n\t\t}\n\t\t{\n\t\t\ta: 3\n\t\t\tb: 4\n\t\t}\n\t}\n}\n"},
		{"array_in_array", `{"L":[[1,2],"x"]}`, "{\n\tL: {\n\t\t{\n\t\t\t1\n\t\t\t2\n\t\t}\n\t\tx\n\t}\n}\n"},
		{"top_array_of_blocks", `[{"a":1,"b":2},"x"]`, "{\n\ta: 1\n\tb: 2\n}\nx\n"},
		{"member_order_kept", `{"z":1,"a":2,"m":3}`, "{\n\tz: 1\n\ta: 2\n\tm: 3\n}\n"},
		{"escapes_decoded", `{"s":"tab\there \u00e9"}`, "{\n\ts: tab\there é\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := printResult(&got, json.RawMessage(tc.in)); err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("got %q, want %q", got.String(), tc.want)
			}
		})
	}
}

func TestPrintBadJSON(t *testing.T) {
	for _, in := range []string{``, `{"a":`, `[1,`} {
		if err := printResult(&bytes.Buffer{}, json.RawMessage(in)); err == nil {
			t.Errorf("printResult(%q) succeeded", in)
		}
	}
}
