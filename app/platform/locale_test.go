package platform

import "testing"

func TestSetLocale(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // LANGUAGE afterwards
	}{
		{map[string]string{"LANG": "C"}, "de"},
		{map[string]string{}, "de"},
		{map[string]string{"LANG": ""}, "de"},
		{map[string]string{"LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8"}, "de"},
		{map[string]string{"LANG": "C.utf8"}, "de"},
		{map[string]string{"LANG": "POSIX"}, "de"},
		{map[string]string{"LC_MESSAGES": "C@euro", "LANG": "en_US.UTF-8"}, "de"},
		{map[string]string{"LANG": "en_US.UTF-8"}, ""},
		{map[string]string{"LC_ALL": "de_DE.UTF-8"}, ""},
		{map[string]string{"LANG": "C", "LANGUAGE": "en"}, "en"},
	} {
		env := map[string]string{}
		for k, v := range tc.env {
			env[k] = v
		}
		setLocale(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
		if env["LANGUAGE"] != tc.want {
			t.Errorf("%v: LANGUAGE=%q, want %q", tc.env, env["LANGUAGE"], tc.want)
		}
	}
}
