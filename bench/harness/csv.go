package main

// CSV files of the results: one row per struct, one column per field (snake
// case), written and read back by reflection so the report can be rebuilt
// from the files alone (-report-only).

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 && (!unicode.IsUpper(rune(s[i-1])) || (i+1 < len(s) && unicode.IsLower(rune(s[i+1])))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func writeCSV[T any](path string, rows []*T) error {
	var zero T
	t := reflect.TypeOf(zero)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	head := make([]string, t.NumField())
	for i := range head {
		head[i] = snake(t.Field(i).Name)
	}
	w.Write(head)
	for _, r := range rows {
		v := reflect.ValueOf(r).Elem()
		rec := make([]string, t.NumField())
		for i := range rec {
			fv := v.Field(i)
			switch fv.Kind() {
			case reflect.String:
				rec[i] = fv.String()
			case reflect.Int, reflect.Int64:
				rec[i] = strconv.FormatInt(fv.Int(), 10)
			case reflect.Float64:
				x := fv.Float()
				if math.IsNaN(x) {
					rec[i] = ""
				} else {
					rec[i] = strconv.FormatFloat(x, 'f', 3, 64)
				}
			}
		}
		w.Write(rec)
	}
	w.Flush()
	return w.Error()
}

func readCSV[T any](path string) ([]*T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	var zero T
	t := reflect.TypeOf(zero)
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var out []*T
	for _, rec := range recs[1:] {
		r := new(T)
		v := reflect.ValueOf(r).Elem()
		for i := 0; i < t.NumField(); i++ {
			j, ok := col[snake(t.Field(i).Name)]
			if !ok || j >= len(rec) {
				continue
			}
			fv := v.Field(i)
			switch fv.Kind() {
			case reflect.String:
				fv.SetString(rec[j])
			case reflect.Int, reflect.Int64:
				x, _ := strconv.ParseInt(rec[j], 10, 64)
				fv.SetInt(x)
			case reflect.Float64:
				x, err := strconv.ParseFloat(rec[j], 64)
				if err != nil {
					x = math.NaN()
				}
				fv.SetFloat(x)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func writeSweep(path string, rows []*sweepRow) error   { return writeCSV(path, rows) }
func writeRaw(path string, rows []*rawRow) error       { return writeCSV(path, rows) }
func writeCeiling(path string, rows []*ceilRow) error  { return writeCSV(path, rows) }
func writeParser(path string, rows []*parserRow) error { return writeCSV(path, rows) }
func writeFlood(path string, rows []*floodRow) error   { return writeCSV(path, rows) }
func writeTransports(path string, rows []*transportRow) error {
	return writeCSV(path, rows)
}
