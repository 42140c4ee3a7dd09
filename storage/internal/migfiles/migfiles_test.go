package migfiles

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string // names in order, or the error
	}{
		{[]string{"0002_b.sql", "0001_a.sql"}, "0001_a.sql 0002_b.sql"},
		{[]string{"0001_a.sql", "0003_c.sql"}, "expected number 0002"},
		{[]string{"0001_a.sql", "2_b.sql"}, "name must be"},
		{[]string{"0001_a.txt"}, "name must be"},
		{[]string{"0001.sql"}, "name must be"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range tc.files {
			fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1; -- " + f)}
		}
		ms, err := Load(fsys, "m")
		var got []string
		for i, m := range ms {
			if m.Version != i+1 || m.SQL != "SELECT 1; -- "+m.Name {
				t.Errorf("%v: %+v", tc.files, m)
			}
			got = append(got, m.Name)
		}
		res := strings.Join(got, " ")
		if err != nil {
			res = err.Error()
		}
		if !strings.Contains(res, tc.want) {
			t.Errorf("Load(%v) = %v, %v; want %s", tc.files, got, err, tc.want)
		}
	}
}
