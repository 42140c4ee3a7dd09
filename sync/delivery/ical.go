package delivery

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"amtstresen/app"
	"amtstresen/sync/internal/cleantext"
)

// MaxSequence is the highest SEQUENCE a booking may carry. The portal
// counts one up per change; a higher one is absurd and would freeze the
// booking (no later change could supersede it), so it goes to review.
const MaxSequence = 10000

// Event is the one VEVENT of a portal calendar (RFC 5545/5546).
type Event struct {
	Method       string // REQUEST or CANCEL
	UID          string
	Sequence     int
	Start, End   time.Time // UTC
	Summary      string
	Location     string
	Description  string
	Status       string // CONFIRMED, CANCELLED, …
	CitizenName  string
	CitizenEmail string
	Service      string // X-BUERGERPORTAL-LEISTUNG
	Office       string // X-BUERGERPORTAL-DIENSTSTELLE
	PortalCase   string // X-BUERGERPORTAL-VORGANG
	Stamp        time.Time
}

// Appointment converts the event: REQUEST books or moves (confirmed),
// CANCEL (or STATUS:CANCELLED) cancels.
func (e *Event) Appointment() *app.Appointment {
	st := app.AppointmentConfirmed
	if e.Method == "CANCEL" || e.Status == "CANCELLED" {
		st = app.AppointmentCancelled
	}
	return &app.Appointment{UID: e.UID, Sequence: e.Sequence, PortalCase: strings.ToLower(e.PortalCase),
		Service: e.Service, Office: app.OfficeKey(e.Office), Start: e.Start, End: e.End,
		CitizenName: e.CitizenName, CitizenEmail: e.CitizenEmail, Location: e.Location, Status: st}
}

type icsProp struct {
	name   string
	params map[string]string
	value  string
}

// unfold splits the calendar into logical lines (RFC 5545 3.1): a line
// break followed by a space or tab continues the line. Bare LF is accepted.
func unfold(b []byte) []string {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// parseProp splits "NAME;P=V;Q=\"a:b\":value".
func parseProp(line string) (icsProp, error) {
	p := icsProp{params: map[string]string{}}
	i, inQuote := 0, false
	nameEnd := -1
	for ; i < len(line); i++ {
		c := line[i]
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote {
			continue
		}
		if (c == ';' || c == ':') && nameEnd < 0 {
			nameEnd = i
		}
		if c == ':' {
			break
		}
	}
	if i >= len(line) || nameEnd <= 0 {
		return p, fmt.Errorf("Zeile ohne Doppelpunkt")
	}
	p.name = strings.ToUpper(line[:nameEnd])
	p.value = line[i+1:]
	if nameEnd < i {
		for _, kv := range splitParams(line[nameEnd+1 : i]) {
			k, v, _ := strings.Cut(kv, "=")
			p.params[strings.ToUpper(k)] = strings.Trim(v, `"`)
		}
	}
	return p, nil
}

func splitParams(s string) []string {
	var out []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func unescapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseICSTime reads DATE-TIME values: UTC ("…Z"), with TZID, or floating
// (taken as Europe/Berlin, the only zone the portal uses). A TZID must
// name a zone of the IANA database; "Local" (which Go would read as the
// zone of this PC) and any zone the database does not know are refused.
func parseICSTime(p icsProp) (time.Time, error) {
	if strings.EqualFold(p.params["VALUE"], "DATE") {
		return time.Time{}, fmt.Errorf("%s ohne Uhrzeit", p.name)
	}
	v := strings.TrimSpace(p.value)
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s nicht lesbar", p.name)
		}
		return t.UTC(), nil
	}
	loc := app.Berlin
	if tz, ok := p.params["TZID"]; ok && tz != "Europe/Berlin" {
		tz = strings.TrimPrefix(tz, "/")
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "" || strings.EqualFold(tz, "Local") {
			return time.Time{}, fmt.Errorf("%s: unbekannte Zeitzone „%s“", p.name, cleantext.Line(tz, 60))
		}
		loc = l
	}
	t, err := time.ParseInLocation("20060102T150405", v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s nicht lesbar", p.name)
	}
	return t.UTC(), nil
}

// ParseICS reads a portal calendar: METHOD and exactly one VEVENT.
func ParseICS(b []byte) (*Event, error) {
	lines := unfold(b)
	if len(lines) == 0 || !strings.EqualFold(lines[0], "BEGIN:VCALENDAR") {
		return nil, fmt.Errorf("kein VCALENDAR")
	}
	var ev *Event
	var stack []string
	events := 0
	method := ""
	ended := false
	for _, l := range lines {
		p, err := parseProp(l)
		if err != nil {
			return nil, err
		}
		switch p.name {
		case "BEGIN":
			c := strings.ToUpper(p.value)
			if len(stack) > 10 {
				return nil, fmt.Errorf("zu tief verschachtelt")
			}
			stack = append(stack, c)
			if c == "VEVENT" {
				events++
				if events > 1 {
					return nil, fmt.Errorf("mehr als ein VEVENT")
				}
				ev = &Event{Sequence: 0}
			}
			continue
		case "END":
			c := strings.ToUpper(p.value)
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return nil, fmt.Errorf("END:%s passt nicht", c)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				ended = true
			}
			continue
		}
		if len(stack) == 1 && p.name == "METHOD" {
			method = strings.ToUpper(strings.TrimSpace(p.value))
		}
		if len(stack) != 2 || stack[1] != "VEVENT" || ev == nil {
			continue
		}
		switch p.name {
		case "UID":
			ev.UID = strings.TrimSpace(p.value)
		case "SEQUENCE":
			n, err := strconv.Atoi(strings.TrimSpace(p.value))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("SEQUENCE nicht lesbar")
			}
			if n > MaxSequence {
				return nil, fmt.Errorf("SEQUENCE %d unplausibel (Grenze %d)", n, MaxSequence)
			}
			ev.Sequence = n
		case "DTSTART":
			if ev.Start, err = parseICSTime(p); err != nil {
				return nil, err
			}
		case "DTEND":
			if ev.End, err = parseICSTime(p); err != nil {
				return nil, err
			}
		case "DTSTAMP":
			ev.Stamp, _ = parseICSTime(p)
		case "SUMMARY":
			ev.Summary = unescapeText(p.value)
		case "LOCATION":
			ev.Location = unescapeText(p.value)
		case "DESCRIPTION":
			ev.Description = unescapeText(p.value)
		case "STATUS":
			ev.Status = strings.ToUpper(strings.TrimSpace(p.value))
		case "ATTENDEE":
			ev.CitizenName = unescapeText(p.params["CN"])
			if v, ok := cutPrefixFold(strings.TrimSpace(p.value), "mailto:"); ok {
				ev.CitizenEmail = v
			}
		case "X-BUERGERPORTAL-LEISTUNG":
			ev.Service = strings.TrimSpace(p.value)
		case "X-BUERGERPORTAL-DIENSTSTELLE":
			ev.Office = strings.TrimSpace(p.value)
		case "X-BUERGERPORTAL-VORGANG":
			ev.PortalCase = strings.ToLower(strings.TrimSpace(p.value))
		}
	}
	switch {
	case !ended || len(stack) != 0:
		return nil, fmt.Errorf("END:VCALENDAR fehlt")
	case ev == nil:
		return nil, fmt.Errorf("kein VEVENT")
	case method != "REQUEST" && method != "CANCEL":
		return nil, fmt.Errorf("METHOD %q nicht unterstützt", method)
	case ev.UID == "":
		return nil, fmt.Errorf("UID fehlt")
	case ev.Start.IsZero():
		return nil, fmt.Errorf("DTSTART fehlt")
	}
	if ev.End.IsZero() {
		ev.End = ev.Start
	}
	if ev.End.Before(ev.Start) {
		return nil, fmt.Errorf("DTEND vor DTSTART")
	}
	ev.Method = method
	return ev, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
