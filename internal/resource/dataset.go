package resource

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const datasetKindName = "Dataset"

// DepotScheme is the URL scheme by which a fetch step names a Depot:
// depot://NAME/path is path under the depot NAME.
const DepotScheme = "depot"

// DatasetKind describes the Dataset kind: an ODF dataset declared by the
// content of a DatasetSnapshot.
func DatasetKind() KindInfo {
	return KindInfo{
		Name:         datasetKindName,
		New:          func() Spec { return new(DatasetSpec) },
		ValidateName: ValidateDatasetName,
		Doc:          "an ODF dataset: Root (fetched) or Derivative (transformed), with its metadata events",
	}
}

// DatasetSpec is a Dataset's spec: what a kamu DatasetSnapshot's content
// holds, apart from the name (which is metadata.name), plus a schedule.
//
//	spec:
//	  kind: Root
//	  metadata:
//	    - kind: SetPollingSource
//	      fetch: {kind: Url, url: depot://fx/daily.csv}
//	      ...
//	  schedule: "0 6 * * *"
//
// Events are read and printed by the ODF YAML codec, so they are written
// exactly as in a DatasetSnapshot.
type DatasetSpec struct {
	Kind     odf.DatasetKind
	Metadata []odf.MetadataEvent
	// Schedule is a five-field cron expression (see ParseCron) saying when
	// to pull; empty means on demand only.
	Schedule string
}

var datasetFields = []string{"kind", "schedule", "metadata"}

var datasetKinds = []string{"Root", "Derivative"}

// invalidDatasetKind marks a spec whose kind is missing or unknown, so
// that Validate skips the checks that depend on it.
const invalidDatasetKind odf.DatasetKind = -1

func (s *DatasetSpec) decodeNode(d *decoder, n *yaml.Node, path string) {
	*s = DatasetSpec{}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", yamldiag.Describe(n))
		return
	}
	s.Kind = invalidDatasetKind // until a valid kind is read
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, ok := d.key(n.Content[i], path, 2)
		if !ok {
			continue
		}
		if !slices.Contains(datasetFields, key) {
			d.unknownField(n.Content[i], path, key, datasetFields)
			continue
		}
		if line, dup := seen[key]; dup {
			d.notef(n.Content[i], path, "field %s given twice (first on line %d)", yamldiag.Quote(key), line)
			continue
		}
		seen[key] = n.Content[i].Line
		fpath := joinPath(path, key)
		v := d.enter(n.Content[i+1], fpath, 2)
		if v == nil {
			continue
		}
		switch key {
		case "kind":
			text, ok := d.text(v, fpath, "Root or Derivative")
			if !ok {
				continue
			}
			switch strings.ToLower(text) {
			case "root":
				s.Kind = odf.DatasetKindRoot
			case "derivative":
				s.Kind = odf.DatasetKindDerivative
			default:
				d.errorf(v, fpath, "unknown dataset kind %s%s; valid values: Root, Derivative", yamldiag.Quote(text), yamldiag.DidYouMean(text, datasetKinds))
			}
		case "metadata":
			if yamldiag.IsNull(v) {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, fpath, "expected a sequence of metadata events, got %s", yamldiag.Describe(v))
				continue
			}
			for j, item := range v.Content {
				ipath := indexPath(fpath, j)
				// A nil event keeps the indexes of the others, for
				// validation; the object is discarded anyway.
				var e odf.MetadataEvent
				if item = d.enter(item, ipath, 3); item != nil {
					var prob *Problem
					if e, prob = decodeEvent(item, &d.budget); prob != nil {
						prob.Path = joinPath(ipath, prob.Path)
						d.problems = append(d.problems, *prob)
						d.failed = append(d.failed, ipath)
					}
				} else {
					d.failed = append(d.failed, ipath)
				}
				s.Metadata = append(s.Metadata, e)
			}
		case "schedule":
			if !yamldiag.IsNull(v) {
				s.Schedule, _ = d.text(v, fpath, "a cron expression such as \"0 6 * * *\"")
			}
		}
	}
	if _, ok := seen["kind"]; !ok {
		d.missingf(n, path, "kind", "missing required field \"kind\" (Root or Derivative)")
	}
}

func (s *DatasetSpec) encodeNode() (*yaml.Node, error) {
	if s.Kind != odf.DatasetKindRoot && s.Kind != odf.DatasetKindDerivative {
		return nil, fmt.Errorf("resource: invalid dataset kind %d", s.Kind)
	}
	n := mappingNode(strNode("kind"), strNode(datasetKinds[s.Kind]))
	if s.Schedule != "" {
		n.Content = append(n.Content, strNode("schedule"), strNode(s.Schedule))
	}
	events := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, e := range s.Metadata {
		en, err := eventNode(e)
		if err != nil {
			return nil, err
		}
		events.Content = append(events.Content, en)
	}
	n.Content = append(n.Content, strNode("metadata"), events)
	return n, nil
}

// Snapshot returns the spec as the DatasetSnapshot called name, for the
// code that creates and updates datasets.
func (s *DatasetSpec) Snapshot(name string) *odf.DatasetSnapshot {
	return &odf.DatasetSnapshot{Name: name, Kind: s.Kind, Metadata: append([]odf.MetadataEvent(nil), s.Metadata...)}
}

// Validate checks the events against the kind: a Root dataset may have one
// polling source and no transform; a Derivative has exactly one
// SetTransform and no sources; events the system writes (Seed, AddData,
// ExecuteTransform) may not be declared. It checks depot:// fetch URLs,
// transform input names and the schedule.
func (s *DatasetSpec) Validate() []FieldError {
	var errs []FieldError
	if s.Kind != odf.DatasetKindRoot && s.Kind != odf.DatasetKindDerivative {
		errs = append(errs, fieldErrorf("kind", "must be Root or Derivative"))
	}
	var polling, transforms int
	for i, e := range s.Metadata {
		p := indexPath("metadata", i)
		switch e := e.(type) {
		case odf.Seed, odf.AddData, odf.ExecuteTransform:
			errs = append(errs, fieldErrorf(p, "%s events are written by IPOS; a manifest cannot declare one", eventName(e)))
		case odf.SetPollingSource:
			polling++
			if s.Kind == odf.DatasetKindDerivative {
				errs = append(errs, fieldErrorf(p, "a Derivative dataset cannot have a SetPollingSource; declare kind: Root"))
			} else if polling == 2 {
				errs = append(errs, fieldErrorf(p, "a dataset has at most one SetPollingSource"))
			}
			if f, ok := e.Fetch.(odf.FetchStepURL); ok {
				if _, err := depotOfURL(f.URL); err != nil {
					errs = append(errs, FieldError{Path: p + ".fetch.url", Msg: err.Error()})
				}
			}
		case odf.AddPushSource:
			if s.Kind == odf.DatasetKindDerivative {
				errs = append(errs, fieldErrorf(p, "a Derivative dataset cannot have an AddPushSource; declare kind: Root"))
			}
		case odf.SetTransform:
			transforms++
			if s.Kind == odf.DatasetKindRoot {
				errs = append(errs, fieldErrorf(p, "a Root dataset cannot have a SetTransform; declare kind: Derivative"))
			} else if transforms == 2 {
				errs = append(errs, fieldErrorf(p, "a Derivative dataset has exactly one SetTransform"))
			}
			for j, in := range e.Inputs {
				ip := indexPath(p+".inputs", j) + ".datasetRef"
				if strings.Contains(in.DatasetRef, "/") && !strings.Contains(in.DatasetRef, ":") {
					errs = append(errs, fieldErrorf(ip, "dataset reference %s names an account; IPOS has no accounts yet: use a dataset name or a did:odf: ID", yamldiag.Quote(in.DatasetRef)))
				} else if strings.HasPrefix(in.DatasetRef, "did:") {
					if _, err := odf.ParseDatasetID(in.DatasetRef); err != nil {
						errs = append(errs, fieldErrorf(ip, "invalid dataset ID %q: %v", in.DatasetRef, err))
					}
				} else if err := ValidateDatasetName(in.DatasetRef); err != nil {
					errs = append(errs, FieldError{Path: ip, Msg: err.Error()})
				}
			}
		}
	}
	if s.Kind == odf.DatasetKindDerivative && transforms == 0 {
		errs = append(errs, fieldErrorf("metadata", "a Derivative dataset needs a SetTransform event"))
	}
	if s.Schedule != "" {
		if _, err := ParseCron(s.Schedule); err != nil {
			errs = append(errs, FieldError{Path: "schedule", Msg: err.Error()})
		} else if s.Kind == odf.DatasetKindRoot && polling == 0 {
			errs = append(errs, fieldErrorf("schedule", "a Root dataset without a SetPollingSource has nothing to pull; add one or remove the schedule"))
		}
	}
	return errs
}

// Dependencies are the depots named by depot:// fetch URLs and the
// datasets a transform reads by name. Inputs given as dataset IDs
// (did:odf:…) are not resources and are left out.
func (s *DatasetSpec) Dependencies() []Ref {
	var refs []Ref
	for _, e := range s.Metadata {
		switch e := e.(type) {
		case odf.SetPollingSource:
			var target string
			switch f := e.Fetch.(type) {
			case odf.FetchStepURL:
				target = f.URL
			case odf.FetchStepFilesGlob:
				target = f.Path
			}
			if name, err := depotOfURL(target); err == nil && name != "" {
				refs = append(refs, Ref{Kind: depotKindName, Name: name})
			}
		case odf.SetTransform:
			for _, in := range e.Inputs {
				if !strings.HasPrefix(in.DatasetRef, "did:") && in.DatasetRef != "" {
					refs = append(refs, Ref{Kind: datasetKindName, Name: in.DatasetRef})
				}
			}
		}
	}
	return sortRefs(refs)
}

// depotOfURL returns the depot a depot:// URL names, "" for other URLs.
func depotOfURL(raw string) (string, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok || !strings.EqualFold(scheme, DepotScheme) {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid depot URL %s: %v", yamldiag.Quote(raw), err)
	}
	if u.User != nil || u.Port() != "" {
		return "", fmt.Errorf("invalid depot URL %s: want depot://NAME/path, without user or port", yamldiag.Quote(raw))
	}
	if err := ValidateDNSLabel(u.Host); err != nil {
		return "", fmt.Errorf("depot URL %s names no valid depot: %v", yamldiag.Quote(raw), err)
	}
	return u.Host, nil
}

// eventName is an event's kind as written in manifests.
func eventName(e odf.MetadataEvent) string {
	name := fmt.Sprintf("%T", e)
	return name[strings.LastIndexByte(name, '.')+1:]
}
