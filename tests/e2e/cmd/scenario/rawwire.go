// Messages on the wire for the cross-version scenario: Go's protobuf refuses to marshal or parse a
// string field that is not UTF-8, which is what a v1.22 cluster stores and serves, so such
// requests are built and such responses read here, field by field, with protowire.
package main

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// rawCodec hands gRPC the bytes of a message as they are, in both directions.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// invokeRaw calls a unary method with request bytes and returns the response bytes.
func invokeRaw(ctx context.Context, conn *grpc.ClientConn, method string, request []byte) ([]byte, error) {
	var response []byte
	err := conn.Invoke(ctx, method, &request, &response, grpc.ForceCodec(rawCodec{}))
	return response, err
}

// field finds a field of md by name, or panics: the paths are written in this program.
func field(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fd := md.Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		panic(fmt.Sprintf("%s has no field %s", md.FullName(), name))
	}
	return fd
}

// wrap encodes inner (the contents of the message at the end of path) as fields of md: each name
// of path but the last is a singular message field, the last is the field holding inner.
func wrap(md protoreflect.MessageDescriptor, path string, inner []byte) []byte {
	names := strings.Split(path, ".")
	fds := make([]protoreflect.FieldDescriptor, len(names))
	for i, name := range names {
		fds[i] = field(md, name)
		if i < len(names)-1 {
			md = fds[i].Message()
		}
	}
	out := inner
	for i := len(fds) - 1; i >= 0; i-- {
		out = protowire.AppendBytes(protowire.AppendTag(nil, fds[i].Number(), protowire.BytesType), out)
	}
	return out
}

// stringField is a string to put at a path of singular fields ("workflow_type.name").
type stringField struct{ path, value string }

// withStrings returns m's wire form followed by each string field: a later occurrence of a
// singular field wins, and message fields merge, so this sets the strings.
func withStrings(m proto.Message, fields ...stringField) []byte {
	out := mustMarshal(m)
	for _, f := range fields {
		out = append(out, wrap(m.ProtoReflect().Descriptor(), f.path, []byte(f.value))...)
	}
	return out
}

// mapEntryAt returns the wire form of one more entry of the map field at path (of md), with key
// and value (the entry's value message, already encoded).
func mapEntryAt(md protoreflect.MessageDescriptor, path, key string, value []byte) []byte {
	entry := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), key)
	entry = protowire.AppendBytes(protowire.AppendTag(entry, 2, protowire.BytesType), value)
	return wrap(md, path, entry)
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("marshalling %T: %v", m, err))
	}
	return b
}

// fieldsOf returns the payloads of the length-delimited fields numbered n at the top of b.
func fieldsOf(b []byte, n protowire.Number) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		num, typ, tagLen := protowire.ConsumeTag(b)
		if tagLen < 0 {
			return nil, protowire.ParseError(tagLen)
		}
		valueLen := protowire.ConsumeFieldValue(num, typ, b[tagLen:])
		if valueLen < 0 {
			return nil, protowire.ParseError(valueLen)
		}
		if num == n && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[tagLen:])
			out = append(out, v)
		}
		b = b[tagLen+valueLen:]
	}
	return out, nil
}

// substitution is one string that was not UTF-8, found in a message and replaced.
type substitution struct {
	path, raw, with string
}

// substitute rewrites b, a message of type md, replacing each string field that is not UTF-8
// with expected[its bytes]; a string that is not UTF-8 and not in expected is an error. Other
// fields, unknown ones included, are copied as they are.
func substitute(b []byte, md protoreflect.MessageDescriptor, path string, expected map[string]string, found *[]substitution) ([]byte, error) {
	var out []byte
	for len(b) > 0 {
		num, typ, tagLen := protowire.ConsumeTag(b)
		if tagLen < 0 {
			return nil, fmt.Errorf("%s: %v", path, protowire.ParseError(tagLen))
		}
		valueLen := protowire.ConsumeFieldValue(num, typ, b[tagLen:])
		if valueLen < 0 {
			return nil, fmt.Errorf("%s: %v", path, protowire.ParseError(valueLen))
		}
		whole := b[:tagLen+valueLen]
		b = b[tagLen+valueLen:]
		fd := md.Fields().ByNumber(num)
		if fd == nil || typ != protowire.BytesType {
			out = append(out, whole...)
			continue
		}
		v, _ := protowire.ConsumeBytes(whole[tagLen:])
		at := path + "." + string(fd.Name())
		switch {
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			with, ok := expected[string(v)]
			if !ok {
				return nil, fmt.Errorf("%s holds %q, not UTF-8 and not one of the strings the scenario wrote", at, v)
			}
			*found = append(*found, substitution{at, string(v), with})
			out = protowire.AppendString(protowire.AppendTag(out, num, typ), with)
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			inner, err := substitute(v, fd.Message(), at, expected, found)
			if err != nil {
				return nil, err
			}
			out = protowire.AppendBytes(protowire.AppendTag(out, num, typ), inner)
		default:
			out = append(out, whole...)
		}
	}
	return out, nil
}
