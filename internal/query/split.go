package query

import "strings"

// Split cuts text into complete statements, each ending at a semicolon
// outside quotes and comments, and returns them (without the semicolon,
// trimmed; empty ones dropped) and the rest of text after the last one,
// trimmed, or "" when it holds only space and comments.
// It knows '…' strings, "…" identifiers, $tag$…$tag$ strings, -- and
// /* … */ comments. It only finds statement ends for the shell: whether
// a string is one statement is decided again by the engine.
func Split(text string) (stmts []string, rest string) {
	start := 0
	content := false // a statement has something but comments and space
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"':
			content = true
			i = skipQuoted(text, i, c)
		case c == '$':
			content = true
			if tag, ok := dollarTag(text[i:]); ok {
				end := strings.Index(text[i+len(tag):], tag)
				if end < 0 {
					i = len(text)
				} else {
					i += len(tag) + end + len(tag)
				}
			} else {
				i++
			}
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				i = len(text)
			} else {
				i += end + 1
			}
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				content = true // keep the unfinished comment for more input
				i = len(text)
			} else {
				i += 2 + end + 2
			}
		case c == ';':
			if content {
				stmts = append(stmts, strings.TrimSpace(text[start:i]))
			}
			content = false
			i++
			start = i
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				content = true
			}
			i++
		}
	}
	if content {
		rest = strings.TrimSpace(text[start:])
	}
	return stmts, rest
}

// skipQuoted returns the index after the quoted run starting at text[i];
// a doubled quote stands for itself.
func skipQuoted(text string, i int, q byte) int {
	for j := i + 1; j < len(text); j++ {
		if text[j] == q {
			if j+1 < len(text) && text[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(text)
}

// dollarTag returns the $tag$ that starts s, if it is one.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1], true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9':
		default:
			return "", false
		}
	}
	return "", false
}
