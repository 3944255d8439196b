package fetch

import (
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func TestPathTime(t *testing.T) {
	tests := []struct {
		pattern, format, name string
		want                  string // RFC 3339, or "error: substring"
	}{
		{`(\d{4}-\d{2}-\d{2})`, "", "x-2024-05-06.csv", "2024-05-06T00:00:00Z"},
		{`(\d+)`, "yyyyMMdd", "20240506.csv", "2024-05-06T00:00:00Z"},
		{`(\d+)`, "%Y%m%d", "20240506.csv", "2024-05-06T00:00:00Z"},
		{`_(.+)\.`, "yyyy-MM-dd'T'HH:mm:ss", "a_2024-05-06T07:08:09.csv", "2024-05-06T07:08:09Z"},
		{`_(.+)\.csv`, "yyyy-MM-dd HH:mm:ss.SSS", "a_2024-05-06 07:08:09.250.csv", "2024-05-06T07:08:09.25Z"},
		{`_(.+)\.csv`, "yyyy-MM-ddTHH:mm:ssXXX", "a_2024-05-06T07:08:09+02:00.csv", "2024-05-06T05:08:09Z"},
		{`_(.+)\.csv`, "%Y-%m-%dT%H:%M:%S%:z", "a_2024-05-06T07:08:09-01:00.csv", "2024-05-06T08:08:09Z"},
		{`_(.+)\.csv`, "%FT%T", "a_2024-05-06T07:08:09.csv", "2024-05-06T07:08:09Z"},
		{`_(.+)\.csv`, "dd MMM yyyy", "a_06 May 2024.csv", "2024-05-06T00:00:00Z"},
		{`(\d+)`, "%s", "1700000000.json", "2023-11-14T22:13:20Z"},
		{`dir/(\d+)/`, "yyyy", "dir/2021/x.csv", "2021-01-01T00:00:00Z"}, // whole-name fallback
		{`(\d+)`, "yyyyMMdd", "2024.csv", "error: does not fit"},
		{`\d+`, "", "1.csv", "error: has no group"},
		{`(`, "", "1.csv", "error: eventTime pattern"},
		{`(\d+)`, "%Q", "1.csv", "error: unsupported directive"},
		{`(\d+)`, "yyyy-GG", "1.csv", "error: unsupported pattern letter"},
	}
	for _, tc := range tests {
		t.Run(tc.format+" "+tc.name, func(t *testing.T) {
			src := odf.EventTimeSourceFromPath{Pattern: tc.pattern}
			if tc.format != "" {
				src.TimestampFormat = &tc.format
			}
			var got time.Time
			pt, err := newPathTime(src)
			if err == nil {
				got, err = pt.extract(tc.name)
			}
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := got.Format(time.RFC3339Nano); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}
