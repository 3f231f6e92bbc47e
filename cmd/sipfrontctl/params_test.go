package main

import (
	"encoding/json"
	"testing"
)

func TestParseParams(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		want    string // JSON of the params
		wantErr bool
	}{
		{"set_state", []string{"i", "1", "sip:10.0.0.5"}, `["i",1,"sip:10.0.0.5"]`, false},
		{"none", nil, `[]`, false},
		{"negative", []string{"-3"}, `[-3]`, false},
		{"plus_sign", []string{"+7"}, `[7]`, false},
		{"leading_zeros_like_strtol", []string{"007"}, `[7]`, false},
		{"force_string", []string{"s:1"}, `["1"]`, false},
		{"force_string_empty", []string{"s:"}, `[""]`, false},
		{"force_string_keeps_prefix_after", []string{"s:i:5"}, `["i:5"]`, false},
		{"force_int", []string{"i:42"}, `[42]`, false},
		{"force_int_negative", []string{"i:-42"}, `[-42]`, false},
		{"force_int_bad", []string{"i:abc"}, ``, true},
		{"force_int_empty", []string{"i:"}, ``, true},
		{"force_int_overflow", []string{"i:99999999999999999999"}, ``, true},
		{"overflow_stays_string", []string{"99999999999999999999"}, `["99999999999999999999"]`, false},
		{"float_is_string", []string{"1.5"}, `["1.5"]`, false},
		{"hex_is_string", []string{"0x10"}, `["0x10"]`, false},
		{"sign_only", []string{"-"}, `["-"]`, false},
		{"double_sign", []string{"--1"}, `["--1"]`, false},
		{"empty_string", []string{""}, `[""]`, false},
		{"sip_uri", []string{"sip:alice@example.com;transport=tcp"}, `["sip:alice@example.com;transport=tcp"]`, false},
		{"flag_like_after_method", []string{"-json"}, `["-json"]`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseParams(tc.args)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr {
				return
			}
			b, _ := json.Marshal(got)
			if string(b) != tc.want {
				t.Errorf("got %s, want %s", b, tc.want)
			}
		})
	}
}
