package store_test

import (
	"testing"

	"github.com/ipos-dev/ipos/internal/store"
	"github.com/ipos-dev/ipos/internal/store/storetest"
)

func TestMemoryObjectStore(t *testing.T) {
	storetest.TestObjectStore(t, func(t *testing.T) store.ObjectStore { return store.NewMemory() })
}

func TestMemoryRefs(t *testing.T) {
	storetest.TestRefs(t, func(t *testing.T) store.Refs { return store.NewMemoryRefs() })
}

func TestMemoryDatasetHammer(t *testing.T) {
	ds := store.NewMemoryDataset()
	runHammer(t, ds, []string{"a", "b", "c", "d"}, 50)
}
