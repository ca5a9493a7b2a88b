package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// decodeScenario reads YAML (or JSON, which is YAML) strictly: duplicate
// keys are refused by the YAML reader, and every key must name a field of
// the Go type exactly (case-sensitive; encoding/json alone would accept
// "CPU" for "cpu"). Errors name the field path and say YAML.
func decodeScenario(data []byte, s *Scenario) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		if where := nonFinite(data); where != "" {
			return fmt.Errorf("YAML %s is not a finite number", where)
		}
		return fmt.Errorf("YAML: %w", err)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("YAML: %w", err)
	}
	if doc == nil {
		return errors.New("YAML: the document is empty")
	}
	if err := checkFields(reflect.TypeFor[Scenario](), doc, ""); err != nil {
		return err
	}
	if err := json.Unmarshal(j, s); err != nil {
		// encoding/json names neither the list index of a mistyped field
		// nor the field whose own UnmarshalJSON failed (a duration, a
		// quantity): find it.
		if p, ferr := firstBadField(reflect.TypeFor[Scenario](), doc, ""); p != "" {
			return fmt.Errorf("YAML: %s: %w", p, ferr)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("YAML: %s: a %s cannot be read as %s", jsonPath(te.Field), te.Value, te.Type)
		}
		return fmt.Errorf("YAML: %w", err)
	}
	return nil
}

// jsonPath turns encoding/json's "workloads.0.cpu" into "workloads[0].cpu".
func jsonPath(p string) string {
	var b strings.Builder
	for i, part := range strings.Split(p, ".") {
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// leaf reports whether t decodes itself (Duration, Quantity, time.Time,
// resource.Quantity, ...).
func leaf(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

// jsonFields maps the JSON names of t's fields (embedded structs
// flattened) to their types.
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				jsonFields(ft, into)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = f.Type
	}
}

// checkFields walks a decoded document beside the Go type it will be
// decoded into and refuses the first key that names no field.
func checkFields(t reflect.Type, v any, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if leaf(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type mismatch: encoding/json reports it with its path
		}
		fields := map[string]reflect.Type{}
		jsonFields(t, fields)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				msg := fmt.Sprintf("YAML: %s: unknown field", join(path, k))
				for name := range fields {
					if strings.EqualFold(name, k) {
						msg += fmt.Sprintf(" (did you mean %q?)", name)
					}
				}
				return errors.New(msg)
			}
			if err := checkFields(ft, m[k], join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range a {
			if err := checkFields(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for k, e := range m {
			if err := checkFields(t.Elem(), e, join(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// firstBadField finds the first self-decoding value that refuses its
// input, for the path of the error.
func firstBadField(t reflect.Type, v any, path string) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if leaf(t) {
		raw, err := json.Marshal(v)
		if err != nil {
			return "", nil
		}
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return path, err
		}
		return "", nil
	}
	if v == nil {
		return "", nil // null leaves the zero value
	}
	mismatch := func(want string) (string, error) {
		got := "a string"
		switch v.(type) {
		case json.Number:
			got = "a number"
		case bool:
			got = "a boolean"
		case []any:
			got = "a list"
		case map[string]any:
			got = "a mapping"
		}
		return path, fmt.Errorf("%s cannot be read as %s", got, want)
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return mismatch("a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return mismatch("a boolean")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch("an integer")
		}
		if err := json.Unmarshal([]byte(n), reflect.New(t).Interface()); err != nil {
			return path, fmt.Errorf("%s is not an integer in range (%s)", n, t)
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch("a number")
		}
		if err := json.Unmarshal([]byte(n), reflect.New(t).Interface()); err != nil {
			return path, fmt.Errorf("%s is out of range", n)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch("a mapping")
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, err := firstBadField(t.Elem(), m[k], join(path, k)); p != "" {
				return p, err
			}
		}
	case reflect.Slice, reflect.Array:
		if _, ok := v.([]any); !ok {
			return mismatch("a list")
		}
	case reflect.Struct:
		if _, ok := v.(map[string]any); !ok {
			return mismatch("a mapping")
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		m, _ := v.(map[string]any)
		fields := map[string]reflect.Type{}
		jsonFields(t, fields)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ft, ok := fields[k]; ok {
				if p, err := firstBadField(ft, m[k], join(path, k)); p != "" {
					return p, err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		a, _ := v.([]any)
		for i, e := range a {
			if p, err := firstBadField(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p, err
			}
		}
	}
	return "", nil
}

var nonFiniteRE = regexp.MustCompile(`(?:^|[\s:\[{,])([-+]?\.(?:nan|NaN|NAN|inf|Inf|INF))\s*(?:$|[,\]}#])`)

// nonFinite finds a .nan or .inf in YAML text (JSON cannot carry them, so
// the conversion fails without a path): "line 12 (jitter): .inf".
func nonFinite(data []byte) string {
	for i, line := range strings.Split(string(data), "\n") {
		m := nonFiniteRE.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		key := strings.TrimSpace(strings.TrimLeft(line[:m[2]], " -{,"))
		if k := strings.LastIndexAny(key, "{,"); k >= 0 {
			key = strings.TrimSpace(key[k+1:])
		}
		key = strings.TrimSuffix(strings.TrimSpace(key), ":")
		if key != "" {
			return fmt.Sprintf("line %d (%s): %s", i+1, key, line[m[2]:m[3]])
		}
		return fmt.Sprintf("line %d: %s", i+1, line[m[2]:m[3]])
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
