package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/odf"
)

func newInspectCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "inspect",
		Short: "Inspect datasets: schema, lineage",
	}
	c.AddCommand(newInspectSchemaCommand(g))
	c.AddCommand(newInspectLineageCommand(g))
	return c
}

func newInspectSchemaCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "schema NAME",
		Short: "Show a dataset's schema (its latest SetDataSchema)",
		Example: `  ipos inspect schema regions
  ipos inspect schema regions -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspectSchema(cmd.Context(), g, output, args[0])
		},
	}
	addOutputFlag(c, &output, "table", "table", "yaml", "json")
	return c
}

func runInspectSchema(ctx context.Context, g *globals, output, name string) error {
	_, d, err := g.openDataset(ctx, name)
	if err != nil {
		return err
	}
	st, err := d.Chain.LoadState(ctx)
	if err != nil {
		return err
	}
	ev, ok := st.Latest["SetDataSchema"]
	if !ok || ev.(odf.SetDataSchema).Schema == nil {
		return fmt.Errorf("%s has no schema yet: it appears with the first data", d.Alias)
	}
	sds := ev.(odf.SetDataSchema)
	switch output {
	case "yaml":
		out, err := odf.MarshalEventYAML(sds)
		if err != nil {
			return err
		}
		_, err = g.streams.Out.Write(out)
		return err
	case "json":
		out, err := odf.MarshalBlockJSON(&odf.MetadataBlock{Event: sds})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.streams.Out, "%s\n", out)
		return err
	}
	t := newTable(g.streams.Out, "COLUMN", "TYPE", "NULLABLE")
	for _, f := range sds.Schema.Fields {
		typ, nullable := f.Type, "no"
		if o, ok := typ.(odf.DataTypeOption); ok {
			typ, nullable = o.Inner, "yes"
		}
		t.row(f.Name, typeName(typ), nullable)
	}
	return t.flush()
}

// typeName prints an ODF logical type compactly: Int64, Timestamp(ms, UTC), List<String> …
func typeName(t odf.DataType) string {
	switch x := t.(type) {
	case odf.DataTypeTimestamp:
		unit, tz := "ms", "UTC"
		if x.Unit != nil {
			unit = []string{"s", "ms", "us", "ns"}[*x.Unit%4]
		}
		if x.Timezone != nil {
			tz = *x.Timezone
		}
		return fmt.Sprintf("Timestamp(%s, %s)", unit, tz)
	case odf.DataTypeList:
		return "List<" + typeName(x.ItemType) + ">"
	case odf.DataTypeOption:
		return typeName(x.Inner) + "?"
	case odf.DataTypeDecimal:
		return fmt.Sprintf("Decimal(%d, %d)", x.Precision, x.Scale)
	case odf.DataTypeStruct:
		parts := make([]string, len(x.Fields))
		for i, f := range x.Fields {
			parts[i] = f.Name + ": " + typeName(f.Type)
		}
		return "Struct{" + strings.Join(parts, ", ") + "}"
	case nil:
		return "?"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", t), "odf.DataType")
}

// vocabOffset is the name of the offset column in force.
func vocabOffset(st *chain.State) string {
	if ev, ok := st.Latest["SetVocab"]; ok {
		if c := ev.(odf.SetVocab).OffsetColumn; c != nil {
			return *c
		}
	}
	return "offset"
}
