package migratedb

import (
	"reflect"
	"testing"
	"time"
)

// TestConvert: SQLite's stored forms become the PostgreSQL columns'
// values: times to the microsecond, ” as NULL where the column allows it,
// flags and JSON lists as arrays, 0/1 as booleans, text without NUL.
func TestConvert(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 30, 1, 123456789, time.UTC)
	for _, tc := range []struct {
		col  column
		in   any
		want any
	}{
		{column{"received_at", kTime, false}, "2026-11-27T09:30:01.123456789Z", at.Truncate(time.Microsecond)},
		{column{"closed_at", kTime, true}, "", nil},
		{column{"flags", kFlags, false}, ",routing-unclear,date-implausible,", []string{"routing-unclear", "date-implausible"}},
		{column{"flags", kFlags, false}, "", []string{}},
		{column{"documents", kFlags, false}, `["Personalausweis","Meldebescheinigung"]`, []string{"Personalausweis", "Meldebescheinigung"}},
		{column{"deadline", kDate, true}, "2026-12-11", civilDate(time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC))},
		{column{"deadline", kDate, true}, "", nil},
		{column{"handled", kBool, false}, int64(1), true},
		{column{"presented", kJSON, true}, "", nil},
		{column{"raw", kJSON, true}, []byte(`{"a":1}`), `{"a":1}`},
		{column{"text", kText, false}, "a\x00b", "a\uFFFDb"},
		{column{"data", kBytes, false}, []byte{0, 1}, []byte{0, 1}},
	} {
		got, err := convert(tc.col, tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q: %#v, %v; want %#v", tc.col.name, tc.in, got, err, tc.want)
		}
	}
	if _, err := convert(column{"received_at", kTime, false}, ""); err == nil {
		t.Error("an empty time in a column that needs one was accepted")
	}
	// The row hash sees every difference the copy could make.
	a := rowHash([]any{"x", int64(1), at, []string{"f"}, nil})
	for _, b := range [][]any{{"x", int64(2), at, []string{"f"}, nil}, {"x", int64(1), at.Add(time.Microsecond), []string{"f"}, nil},
		{"x", int64(1), at, []string{}, nil}, {"x", int64(1), at, []string{"f"}, ""}} {
		if rowHash(b) == a {
			t.Errorf("rowHash(%v) equals rowHash of a different row", b)
		}
	}
}
