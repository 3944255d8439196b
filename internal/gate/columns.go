package gate

// IsCountColumn reports whether the CSV column named h holds counts under
// the given CountColumns rule (empty: count, n and any *_count column).
func IsCountColumn(h string, countColumns []string) bool { return isCountColumn(h, countColumns) }
