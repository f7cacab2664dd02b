// Event-for-event comparison of a workflow's history on two clusters, where the names the proxy
// translates (namespace names, search attribute names) are expected to differ and nothing else.
package main

import (
	"fmt"
	"strings"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// renames says which names are expected to differ from one cluster to the other.
type renames struct {
	namespaces map[string]string // name here -> name there
	attributes map[string]string // search attribute name here -> name there
}

func (r renames) inverse() renames {
	inv := renames{namespaces: map[string]string{}, attributes: map[string]string{}}
	for k, v := range r.namespaces {
		inv.namespaces[v] = k
	}
	for k, v := range r.attributes {
		inv.attributes[v] = k
	}
	return inv
}

// String fields that hold a namespace name in Temporal's public messages.
var namespaceFields = map[protoreflect.Name]bool{
	"namespace": true, "parent_workflow_namespace": true, "workflow_namespace": true,
}

// Map fields keyed by search attribute names.
var attributeMaps = map[protoreflect.Name]bool{"indexed_fields": true, "search_attributes": true}

// apply rewrites m in place: namespace names and search attribute keys become the other
// cluster's names. It returns how many names it changed.
func (r renames) apply(m protoreflect.Message) int {
	changed := 0
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case f.IsMap():
			mp := v.Map()
			if attributeMaps[f.Name()] && f.MapKey().Kind() == protoreflect.StringKind {
				type entry struct {
					key string
					val protoreflect.Value
				}
				var moved []entry
				var from []protoreflect.MapKey
				mp.Range(func(k protoreflect.MapKey, val protoreflect.Value) bool {
					if other, ok := r.attributes[k.String()]; ok {
						moved = append(moved, entry{other, val})
						from = append(from, k)
					}
					return true
				})
				// Clear first, then set: a swap of two names must not overwrite itself.
				for _, k := range from {
					mp.Clear(k)
				}
				for _, e := range moved {
					mp.Set(protoreflect.ValueOfString(e.key).MapKey(), e.val)
					changed++
				}
			}
			if f.MapValue().Message() != nil {
				mp.Range(func(_ protoreflect.MapKey, val protoreflect.Value) bool {
					changed += r.apply(val.Message())
					return true
				})
			}
		case f.IsList():
			if f.Message() != nil {
				list := v.List()
				for i := 0; i < list.Len(); i++ {
					changed += r.apply(list.Get(i).Message())
				}
			}
		case f.Message() != nil:
			changed += r.apply(v.Message())
		case f.Kind() == protoreflect.StringKind && namespaceFields[f.Name()]:
			if other, ok := r.namespaces[v.String()]; ok {
				m.Set(f, protoreflect.ValueOfString(other))
				changed++
			}
		}
		return true
	})
	return changed
}

// compareHistories requires got (read on gotSide) to be want (read on wantSide) with the names
// of r translated: same length, and every event equal as a protobuf message (type, id, time,
// version, task id, attributes) after translation. It returns how many names were translated.
func compareHistories(id string, r renames, wantSide string, want []*historypb.HistoryEvent, gotSide string, got []*historypb.HistoryEvent) (int, error) {
	if len(want) != len(got) {
		return 0, fmt.Errorf("workflow %s: %d events on %s, %d on %s", id, len(want), wantSide, len(got), gotSide)
	}
	translated := 0
	for i := range want {
		expected := proto.Clone(want[i]).(*historypb.HistoryEvent)
		translated += r.apply(expected.ProtoReflect())
		if proto.Equal(expected, got[i]) {
			continue
		}
		var paths []string
		diffFields("", expected.ProtoReflect(), got[i].ProtoReflect(), &paths)
		return translated, fmt.Errorf("workflow %s: event %d (%s) on %s differs from %s's (names translated) in %s:\n  %s (translated): %v\n  %s: %v",
			id, want[i].GetEventId(), want[i].GetEventType(), gotSide, wantSide, strings.Join(paths, ", "),
			wantSide, expected, gotSide, got[i])
	}
	return translated, nil
}

// diffFields appends the paths of the fields that differ between a and b, descending into
// singular message fields.
func diffFields(prefix string, a, b protoreflect.Message, paths *[]string) {
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		path := prefix + string(f.Name())
		hasA, hasB := a.Has(f), b.Has(f)
		if !hasA && !hasB {
			continue
		}
		if hasA != hasB {
			*paths = append(*paths, path)
			continue
		}
		if f.Message() != nil && !f.IsList() && !f.IsMap() {
			before := len(*paths)
			diffFields(path+".", a.Get(f).Message(), b.Get(f).Message(), paths)
			if len(*paths) == before && !proto.Equal(a.Get(f).Message().Interface(), b.Get(f).Message().Interface()) {
				*paths = append(*paths, path+" (unknown fields)")
			}
			continue
		}
		if !a.Get(f).Equal(b.Get(f)) {
			*paths = append(*paths, path)
		}
	}
	if string(a.GetUnknown()) != string(b.GetUnknown()) {
		*paths = append(*paths, prefix+"<unknown fields>")
	}
}
