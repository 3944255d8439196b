package resource

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed five-field cron expression (minute hour day-of-month
// month day-of-week), as in Vixie cron and Kubernetes CronJobs:
//
//   - a,b  a-b  */n  a-b/n  a/n (a to the end, every n)
//
// Months and weekdays may be names (JAN–DEC, SUN–SAT, any case); weekday 7
// is Sunday too. When both day fields are restricted a day matches if
// either does. The macros @yearly (@annually), @monthly, @weekly, @daily
// (@midnight) and @hourly stand for their usual expressions. There are no
// seconds, no L/W/# extensions and no time zone field: times are in the
// location of the time given to Next.
type Cron struct {
	expr                       string
	minute, hour, dom, month   uint64 // bit i set: value i matches
	dow                        uint64
	domRestricted, dowRestrict bool
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

var cronMacros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// daysIn is the most days each month can have (February in a leap year).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// ParseCron parses a cron expression. It refuses an expression that can
// never fire, such as 0 0 30 2 *.
func ParseCron(expr string) (*Cron, error) {
	s := strings.TrimSpace(expr)
	if strings.HasPrefix(s, "@") {
		m, ok := cronMacros[strings.ToLower(s)]
		if !ok {
			return nil, fmt.Errorf("unknown cron macro %q; known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly", s)
		}
		s = m
	}
	parts := strings.Fields(s)
	if len(parts) != 5 {
		return nil, fmt.Errorf("cron expression %q has %d fields; want 5: minute hour day-of-month month day-of-week", expr, len(parts))
	}
	c := &Cron{expr: strings.Join(strings.Fields(strings.TrimSpace(expr)), " ")}
	sets := [5]*uint64{&c.minute, &c.hour, &c.dom, &c.month, &c.dow}
	for i, part := range parts {
		bits, err := parseCronField(part, cronFields[i])
		if err != nil {
			return nil, fmt.Errorf("cron field %d (%s): %w", i+1, cronFields[i].name, err)
		}
		*sets[i] = bits
	}
	c.domRestricted = !strings.HasPrefix(parts[2], "*")
	c.dowRestrict = !strings.HasPrefix(parts[4], "*")
	if c.dow&(1<<7) != 0 { // 7 is Sunday
		c.dow |= 1
		c.dow &^= 1 << 7
	}
	if c.domRestricted && !c.dowRestrict {
		possible := false
		for m := 1; m <= 12 && !possible; m++ {
			if c.month&(1<<m) != 0 && c.dom&((1<<(daysIn[m]+1))-2) != 0 {
				possible = true
			}
		}
		if !possible {
			return nil, fmt.Errorf("cron expression %q never fires: no chosen month has the chosen days", expr)
		}
	}
	return c, nil
}

func parseCronField(s string, f cronField) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty field")
	}
	var bits uint64
	for item := range strings.SplitSeq(s, ",") {
		if item == "" {
			return 0, fmt.Errorf("empty list item in %q", s)
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			if a == "" || b == "" {
				return 0, fmt.Errorf("invalid range %q", rng)
			}
			var err error
			if lo, err = cronValue(a, f); err != nil {
				return 0, err
			}
			if hi, err = cronValue(b, f); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			v, err := cronValue(rng, f)
			if err != nil {
				return 0, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 || n > f.max {
				return 0, fmt.Errorf("invalid step %q: want a number from 1 to %d", stepText, f.max)
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

func cronValue(s string, f cronField) (int, error) {
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' {
		if f.names != nil {
			return 0, fmt.Errorf("invalid value %q: want a number from %d to %d or a name such as %s", s, f.min, f.max, strings.ToUpper(f.names[0]))
		}
		return 0, fmt.Errorf("invalid value %q: want a number from %d to %d", s, f.min, f.max)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", v, f.min, f.max)
	}
	return v, nil
}

// String returns the expression as given, with spacing normalised.
func (c *Cron) String() string { return c.expr }

// Next returns the first time after t, to the minute, at which the
// schedule fires, in t's location. It returns the zero time if there is
// none within eight years (which ParseCron's check makes impossible
// except for a 29 February landing outside that window).
func (c *Cron) Next(t time.Time) time.Time {
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(8, 0, 0)
	for t.Before(limit) {
		if c.month&(1<<int(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
			continue
		}
		if !c.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
			continue
		}
		if c.hour&(1<<t.Hour()) == 0 {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
			continue
		}
		if c.minute&(1<<t.Minute()) == 0 {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

func (c *Cron) dayMatches(t time.Time) bool {
	dom := c.dom&(1<<t.Day()) != 0
	dow := c.dow&(1<<int(t.Weekday())) != 0
	if c.domRestricted && c.dowRestrict {
		return dom || dow
	}
	return dom && dow
}
