package resource

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const depotKindName = "Depot"

// DepotKind describes the Depot kind: a named connection to a place data
// comes from, which Dataset fetch URLs name as depot://NAME/path.
func DepotKind() KindInfo {
	return KindInfo{
		Name: depotKindName,
		New:  func() Spec { return new(DepotSpec) },
		Doc:  "a named connection to a data source: local, http, s3 or postgres",
	}
}

// DepotSpec is a Depot's spec: exactly one of its fields is set.
type DepotSpec struct {
	Local    *LocalDepot    `json:"local,omitempty"`
	HTTP     *HTTPDepot     `json:"http,omitempty"`
	S3       *S3Depot       `json:"s3,omitempty"`
	Postgres *PostgresDepot `json:"postgres,omitempty"`
}

// LocalDepot is a directory on the node's file system.
type LocalDepot struct {
	Path string `json:"path"`
}

// HTTPDepot is a base URL that depot paths are resolved against, with
// headers sent on every request.
type HTTPDepot struct {
	BaseURL string   `json:"baseUrl"`
	Headers []Header `json:"headers,omitempty"`
}

// Header is an HTTP header whose value is given inline or read from a
// Secret.
type Header struct {
	Name string `json:"name"`
	StringSource
}

// StringSource is a string given inline (value) or read from a Secret
// (valueFrom), exactly one of the two. An inline value is not secret: it
// is printed like any other field. Tokens, passwords and DSNs that hold
// one belong in a Secret.
type StringSource struct {
	Value     string       `json:"value,omitempty"`
	ValueFrom *ValueSource `json:"valueFrom,omitempty"`
}

// ValueSource says where a value comes from.
type ValueSource struct {
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
}

// SecretKeyRef names one key of a Secret.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// S3Depot is a bucket (and optional prefix) of an S3-compatible store.
// Credentials come from Secrets only; without them the store's default
// credential chain applies.
type S3Depot struct {
	Bucket    string       `json:"bucket"`
	Prefix    string       `json:"prefix,omitempty"`
	Endpoint  string       `json:"endpoint,omitempty"`
	Region    string       `json:"region,omitempty"`
	AccessKey *ValueSource `json:"accessKey,omitempty"`
	SecretKey *ValueSource `json:"secretKey,omitempty"`
}

// PostgresDepot is a PostgreSQL database that root datasets read rows
// from. Table or Query, when given, is the relation a bare depot://NAME
// reads; depot://NAME/schema.table reads that table instead. How the rows
// are merged (Snapshot, Ledger) is the Dataset's polling source's choice,
// not the depot's. The DSN usually comes from a Secret: it may hold a
// password.
type PostgresDepot struct {
	DSN   StringSource `json:"dsn"`
	Query string       `json:"query,omitempty"`
	Table string       `json:"table,omitempty"`
}

var (
	s3BucketRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	secretKeyRE  = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	sqlIdentRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)
)

// Validate checks that exactly one variant is set and that it is complete.
func (s *DepotSpec) Validate() []FieldError {
	var errs []FieldError
	var set []string
	if s.Local != nil {
		set = append(set, "local")
		if s.Local.Path == "" {
			errs = append(errs, fieldErrorf("local.path", "missing required field"))
		}
	}
	if s.HTTP != nil {
		set = append(set, "http")
		errs = append(errs, validateBaseURL("http.baseUrl", s.HTTP.BaseURL, true)...)
		for i, h := range s.HTTP.Headers {
			p := indexPath("http.headers", i)
			if h.Name == "" {
				errs = append(errs, fieldErrorf(p+".name", "missing required field"))
			} else if !headerNameRE.MatchString(h.Name) {
				errs = append(errs, fieldErrorf(p+".name", "invalid HTTP header name %s", yamldiag.Quote(h.Name)))
			}
			errs = append(errs, h.StringSource.validate(p)...)
		}
	}
	if s.S3 != nil {
		set = append(set, "s3")
		if s.S3.Bucket == "" {
			errs = append(errs, fieldErrorf("s3.bucket", "missing required field"))
		} else if !s3BucketRE.MatchString(s.S3.Bucket) {
			errs = append(errs, fieldErrorf("s3.bucket", "invalid bucket name %s: 3 to 63 lower-case letters, digits, '.' and '-'", yamldiag.Quote(s.S3.Bucket)))
		}
		if s.S3.Endpoint != "" {
			if e := validateBaseURL("s3.endpoint", s.S3.Endpoint, false); e != nil {
				errs = append(errs, e...)
			} else if u, _ := url.Parse(s.S3.Endpoint); strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
				errs = append(errs, fieldErrorf("s3.endpoint", "endpoint %s has a path; give scheme://host[:port] only and put key prefixes in prefix", yamldiag.Quote(s.S3.Endpoint)))
			}
		}
		if p := s.S3.Prefix; strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") {
			errs = append(errs, fieldErrorf("s3.prefix", "invalid prefix %s: a key prefix neither starts with '/' nor has '..' segments", yamldiag.Quote(p)))
		}
		if (s.S3.AccessKey == nil) != (s.S3.SecretKey == nil) {
			errs = append(errs, fieldErrorf("s3", "give both accessKey and secretKey, or neither"))
		}
		errs = append(errs, s.S3.AccessKey.validate("s3.accessKey")...)
		errs = append(errs, s.S3.SecretKey.validate("s3.secretKey")...)
	}
	if s.Postgres != nil {
		set = append(set, "postgres")
		pg := s.Postgres
		errs = append(errs, pg.DSN.validate("postgres.dsn")...)
		switch {
		case pg.Query != "" && pg.Table != "":
			errs = append(errs, fieldErrorf("postgres", "give a query or a table, not both"))
		case pg.Table != "" && !sqlIdentRE.MatchString(pg.Table):
			errs = append(errs, fieldErrorf("postgres.table", "invalid table name %s: want name or schema.name (letters, digits, '_', '$')", yamldiag.Quote(pg.Table)))
		case pg.Query != "" && strings.TrimSpace(pg.Query) == "":
			errs = append(errs, fieldErrorf("postgres.query", "empty query"))
		}
	}
	switch len(set) {
	case 0:
		errs = append(errs, fieldErrorf("", "a depot needs exactly one of local, http, s3, postgres"))
	case 1:
	default:
		errs = append(errs, fieldErrorf("", "a depot has exactly one of local, http, s3, postgres; found %s", strings.Join(set, ", ")))
	}
	return errs
}

// Dependencies are the Secrets the depot reads values from.
func (s *DepotSpec) Dependencies() []Ref {
	var refs []Ref
	add := func(v *ValueSource) {
		if v != nil && v.SecretRef != nil && v.SecretRef.Name != "" {
			refs = append(refs, Ref{Kind: secretKindName, Name: v.SecretRef.Name})
		}
	}
	if s.HTTP != nil {
		for _, h := range s.HTTP.Headers {
			add(h.ValueFrom)
		}
	}
	if s.S3 != nil {
		add(s.S3.AccessKey)
		add(s.S3.SecretKey)
	}
	if s.Postgres != nil {
		add(s.Postgres.DSN.ValueFrom)
	}
	return sortRefs(refs)
}

func (v StringSource) validate(path string) []FieldError {
	switch {
	case v.Value == "" && v.ValueFrom == nil:
		return []FieldError{fieldErrorf(path, "give value or valueFrom")}
	case v.Value != "" && v.ValueFrom != nil:
		return []FieldError{fieldErrorf(path, "give value or valueFrom, not both")}
	}
	return v.ValueFrom.validate(joinPath(path, "valueFrom"))
}

func (v *ValueSource) validate(path string) []FieldError {
	if v == nil {
		return nil
	}
	if v.SecretRef == nil {
		return []FieldError{fieldErrorf(path+".secretRef", "missing required field")}
	}
	var errs []FieldError
	p := path + ".secretRef"
	if v.SecretRef.Name == "" {
		errs = append(errs, fieldErrorf(p+".name", "missing required field"))
	} else if err := ValidateDNSLabel(v.SecretRef.Name); err != nil {
		errs = append(errs, FieldError{Path: p + ".name", Msg: err.Error()})
	}
	if v.SecretRef.Key == "" {
		errs = append(errs, fieldErrorf(p+".key", "missing required field"))
	} else if !secretKeyRE.MatchString(v.SecretRef.Key) {
		errs = append(errs, fieldErrorf(p+".key", "invalid secret key %s: use letters, digits, '-', '_' and '.'", yamldiag.Quote(v.SecretRef.Key)))
	}
	return errs
}

func validateBaseURL(path, raw string, required bool) []FieldError {
	if raw == "" {
		if required {
			return []FieldError{fieldErrorf(path, "missing required field")}
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []FieldError{fieldErrorf(path, "invalid URL %s: want http(s)://host/…", yamldiag.Quote(raw))}
	}
	if u.User != nil {
		return []FieldError{fieldErrorf(path, "URL %s has credentials in it; put them in a Secret and send them in a header", yamldiag.Quote(raw))}
	}
	return nil
}
