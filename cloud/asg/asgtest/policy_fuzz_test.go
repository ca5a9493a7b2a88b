package asgtest

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzWildcardMatch checks IAM wildcard matching against a regular
// expression built from the pattern (* is .*, ? is one character, the rest
// literal), and that policy parsing never panics.
func FuzzWildcardMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"autoscaling:describe*", "autoscaling:describeautoscalinggroups"},
		{"*", "ec2:describeinstancetypes"},
		{"ec2:d*t*s", "ec2:describeinstancetypes"},
		{"a?c", "abc"}, {"a*b*c", "aXbYbZc"}, {"**?", ""}, {"[x]", "[x]"}, {`a\*`, `a\b`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		var b strings.Builder
		b.WriteString(`(?s)\A`)
		for _, r := range pattern {
			switch r {
			case '*':
				b.WriteString(`.*`)
			case '?':
				b.WriteString(`.`)
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString(`\z`)
		re, err := regexp.Compile(b.String())
		if err != nil {
			t.Skip()
		}
		// The matcher works on bytes, the oracle on runes: compare on ASCII
		// where both agree, and only check for panics otherwise.
		got := wildcardMatch(pattern, s)
		if isASCII(pattern) && isASCII(s) && got != re.MatchString(s) {
			t.Fatalf("wildcardMatch(%q, %q) = %v, regexp says %v", pattern, s, got, !got)
		}
		_, _ = parsePolicy([]byte(`{"Statement":{"Effect":"Allow","NotAction":"` + strings.ReplaceAll(strings.ReplaceAll(pattern, `\`, `\\`), `"`, `\"`) + `"}}`))
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
