package resource

import "testing"

func TestDependenciesOfAFilesGlobInADepot(t *testing.T) {
	objs, err := DefaultRegistry().Parse("glob.yaml", []byte(`
apiVersion: ipos.dev/v1alpha1
kind: Dataset
metadata: {name: readings}
spec:
  kind: Root
  metadata:
    - kind: SetPollingSource
      fetch: {kind: FilesGlob, path: "depot://inbox/readings-*.csv"}
      read: {kind: Csv, header: true}
      merge: {kind: Append}
`))
	if err != nil {
		t.Fatal(err)
	}
	deps := objs[0].Dependencies()
	if len(deps) != 1 || deps[0] != (Ref{Kind: "Depot", Name: "inbox"}) {
		t.Fatalf("dependencies %v", deps)
	}
}
