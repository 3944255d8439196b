package fetch

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// defaultTimestampFormat is kamu's default for EventTimeSourceFromPath.
const defaultTimestampFormat = "%Y-%m-%d"

// pathTime extracts an event time from name with the FromPath pattern: the
// regular expression's first group is the timestamp. Like kamu, the
// pattern is tried on the file's base name; IPOS also tries the whole name
// (a relative path or URL path) when the base name does not match.
type pathTime struct {
	re      *regexp.Regexp
	pattern string
	format  string
	layout  string
	epoch   bool
}

func newPathTime(src odf.EventTimeSourceFromPath) (*pathTime, error) {
	re, err := regexp.Compile(src.Pattern)
	if err != nil {
		return nil, fmt.Errorf("eventTime pattern %q: %w", src.Pattern, err)
	}
	if re.NumSubexp() < 1 {
		return nil, fmt.Errorf("eventTime pattern %q has no group: put the timestamp in parentheses", src.Pattern)
	}
	format := defaultTimestampFormat
	if src.TimestampFormat != nil && *src.TimestampFormat != "" {
		format = *src.TimestampFormat
	}
	pt := &pathTime{re: re, pattern: src.Pattern, format: format}
	if format == "%s" {
		pt.epoch = true
		return pt, nil
	}
	pt.layout, err = goLayout(format)
	if err != nil {
		return nil, err
	}
	return pt, nil
}

func (p *pathTime) extract(name string) (time.Time, error) {
	m := p.re.FindStringSubmatch(path.Base(name))
	if m == nil {
		m = p.re.FindStringSubmatch(name)
	}
	if m == nil {
		return time.Time{}, fmt.Errorf("eventTime pattern %q does not match %q", p.pattern, name)
	}
	s := m[1]
	if p.epoch {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("event time %q in %q is not Unix seconds", s, name)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	t, err := time.ParseInLocation(p.layout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("event time %q in %q does not fit timestampFormat %q: %w", s, name, p.format, err)
	}
	return t.UTC(), nil
}

// goLayout converts a timestamp format to a Go time layout. Formats with
// a '%' are strftime (chrono) style, as kamu uses: %Y %m %d %H %M %S …;
// others are Java SimpleDateFormat style: yyyy MM dd HH mm ss SSS 'T' ….
func goLayout(format string) (string, error) {
	var (
		out string
		err error
	)
	if strings.Contains(format, "%") {
		out, err = strftimeLayout(format)
	} else {
		out, err = javaLayout(format)
	}
	if err != nil {
		return "", fmt.Errorf("timestampFormat %q: %w", format, err)
	}
	return out, nil
}

var strftime = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15",
	'I': "03", 'M': "04", 'S': "05", 'p': "PM", 'b': "Jan", 'h': "Jan",
	'B': "January", 'a': "Mon", 'A': "Monday", 'j': "002", 'z': "-0700",
	'Z': "MST", 'F': "2006-01-02", 'T': "15:04:05", 'R': "15:04", 'D': "01/02/06",
	'%': "%",
}

func strftimeLayout(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			return "", fmt.Errorf("trailing %%")
		}
		switch {
		case f[i] == ':' && i+1 < len(f) && f[i+1] == 'z':
			b.WriteString("-07:00")
			i++
		case f[i] == '.' && i+1 < len(f) && f[i+1] == 'f':
			b.WriteString(".999999999")
			i++
		case f[i] == 'f':
			b.WriteString("999999999") // only meaningful after a '.'
		default:
			l, ok := strftime[f[i]]
			if !ok {
				return "", fmt.Errorf("unsupported directive %%%c", f[i])
			}
			b.WriteString(l)
		}
	}
	return b.String(), nil
}

// javaLayout converts SimpleDateFormat letters, keyed by letter and run length.
func javaLayout(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		if c == '\'' {
			j := strings.IndexByte(f[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("unterminated quote")
			}
			if j == 0 {
				b.WriteByte('\'')
			} else {
				b.WriteString(f[i+1 : i+1+j])
			}
			i += j + 2
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		for i+n < len(f) && f[i+n] == c {
			n++
		}
		l, err := javaToken(c, n)
		if err != nil {
			return "", err
		}
		b.WriteString(l)
		i += n
	}
	return b.String(), nil
}

func javaToken(c byte, n int) (string, error) {
	switch c {
	case 'y', 'u':
		if n == 2 {
			return "06", nil
		}
		return "2006", nil
	case 'M', 'L':
		switch n {
		case 1:
			return "1", nil
		case 2:
			return "01", nil
		case 3:
			return "Jan", nil
		default:
			return "January", nil
		}
	case 'd':
		if n == 1 {
			return "2", nil
		}
		return "02", nil
	case 'D':
		return "002", nil
	case 'H', 'k':
		return "15", nil
	case 'h', 'K':
		if n == 1 {
			return "3", nil
		}
		return "03", nil
	case 'm':
		if n == 1 {
			return "4", nil
		}
		return "04", nil
	case 's':
		if n == 1 {
			return "5", nil
		}
		return "05", nil
	case 'S':
		return strings.Repeat("0", n), nil
	case 'a':
		return "PM", nil
	case 'T': // not a SimpleDateFormat letter, but "yyyy-MM-ddTHH" is a common slip
		return strings.Repeat("T", n), nil
	case 'E':
		if n >= 4 {
			return "Monday", nil
		}
		return "Mon", nil
	case 'z':
		return "MST", nil
	case 'Z':
		return "-0700", nil
	case 'X':
		switch n {
		case 1:
			return "Z07", nil
		case 2:
			return "Z0700", nil
		default:
			return "Z07:00", nil
		}
	case 'x':
		switch n {
		case 1:
			return "-07", nil
		case 2:
			return "-0700", nil
		default:
			return "-07:00", nil
		}
	}
	return "", fmt.Errorf("unsupported pattern letter %q", strings.Repeat(string(c), n))
}
