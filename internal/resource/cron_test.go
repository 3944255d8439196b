package resource

import (
	"strings"
	"testing"
	"time"
)

func TestCronNext(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		expr, from string
		next       []string
	}{
		{"* * * * *", "2024-01-01 00:00", []string{"2024-01-01 00:01", "2024-01-01 00:02"}},
		{"0 6 * * *", "2024-01-01 06:00", []string{"2024-01-02 06:00", "2024-01-03 06:00"}},
		{"0 6 * * 1-5", "2024-01-05 07:00", []string{"2024-01-08 06:00", "2024-01-09 06:00"}}, // Fri → Mon
		{"*/15 9-10 * * *", "2024-03-01 10:40", []string{"2024-03-01 10:45", "2024-03-02 09:00"}},
		{"30 2 29 2 *", "2024-03-01 00:00", []string{"2028-02-29 02:30"}},
		{"0 0 1,15 * *", "2024-01-01 00:00", []string{"2024-01-15 00:00", "2024-02-01 00:00"}},
		{"0 0 13 * 5", "2024-09-01 00:00", []string{"2024-09-06 00:00", "2024-09-13 00:00", "2024-09-20 00:00"}}, // 13th or Friday
		{"0 12 * jan,JUL sun", "2024-01-01 00:00", []string{"2024-01-07 12:00"}},
		{"0 0 * * 7", "2024-01-01 00:00", []string{"2024-01-07 00:00"}}, // 7 is Sunday
		{"5/20 * * * *", "2024-01-01 00:00", []string{"2024-01-01 00:05", "2024-01-01 00:25", "2024-01-01 00:45", "2024-01-01 01:05"}},
		{"0 0 31 * *", "2024-04-01 00:00", []string{"2024-05-31 00:00", "2024-07-31 00:00"}},
		{"@hourly", "2024-01-01 00:30", []string{"2024-01-01 01:00"}},
		{"@weekly", "2024-01-01 00:00", []string{"2024-01-07 00:00"}},
		{"@yearly", "2024-06-01 00:00", []string{"2025-01-01 00:00"}},
		{"  0   6 *  * *  ", "2024-01-01 00:00", []string{"2024-01-01 06:00"}},
	}
	for _, tt := range tests {
		c, err := ParseCron(tt.expr)
		if err != nil {
			t.Errorf("ParseCron(%q): %v", tt.expr, err)
			continue
		}
		at := utc(tt.from)
		for _, want := range tt.next {
			at = c.Next(at)
			if !at.Equal(utc(want)) {
				t.Errorf("%q: Next = %s, want %s", tt.expr, at.Format("2006-01-02 15:04 Mon"), want)
				break
			}
		}
	}
	c, _ := ParseCron("0 6 * * *")
	if got := c.Next(time.Date(2024, 1, 1, 5, 59, 59, 999, time.UTC)); !got.Equal(utc("2024-01-01 06:00")) {
		t.Errorf("Next from 05:59:59.999 = %s", got)
	}
	if c.String() != "0 6 * * *" {
		t.Errorf("String() = %q", c.String())
	}
	loc := time.FixedZone("UTC+2", 2*3600)
	if got := c.Next(time.Date(2024, 1, 1, 7, 0, 0, 0, loc)); got.Location() != loc || got.Hour() != 6 || got.Day() != 2 {
		t.Errorf("Next in UTC+2 = %s", got)
	}
}

func TestCronErrors(t *testing.T) {
	tests := []struct{ expr, err string }{
		{"", "has 0 fields"},
		{"* * * *", "has 4 fields"},
		{"* * * * * *", "has 6 fields"},
		{"60 * * * *", "cron field 1 (minute): 60 is out of range 0-59"},
		{"0 24 * * *", "cron field 2 (hour): 24 is out of range 0-23"},
		{"0 0 0 * *", "cron field 3 (day of month): 0 is out of range 1-31"},
		{"0 0 * 13 *", "cron field 4 (month): 13 is out of range 1-12"},
		{"0 0 * * 8", "cron field 5 (day of week): 8 is out of range 0-7"},
		{"0 0 * foo *", `cron field 4 (month): invalid value "foo": want a number from 1 to 12 or a name such as JAN`},
		{"a * * * *", `cron field 1 (minute): invalid value "a": want a number from 0 to 59`},
		{"*/0 * * * *", `invalid step "0"`},
		{"*/x * * * *", `invalid step "x"`},
		{"5-1 * * * *", `range "5-1" runs backwards`},
		{"1,,2 * * * *", `empty list item in "1,,2"`},
		{"-1 * * * *", `invalid range "-1"`},
		{"1- * * * *", `invalid range "1-"`},
		{"+1 * * * *", `invalid value "+1"`},
		{"0 0 30 2 *", "never fires"},
		{"0 0 31 4,6 *", "never fires"},
		{"@every 5m", "unknown cron macro"},
	}
	for _, tt := range tests {
		_, err := ParseCron(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseCron(%q) = %v, want error containing %q", tt.expr, err, tt.err)
		}
	}
	// Restricted day-of-week makes an impossible day-of-month fine.
	if _, err := ParseCron("0 0 30 2 1"); err != nil {
		t.Errorf("0 0 30 2 1: %v", err)
	}
}
