// Command schema writes the protobuf descriptors of Temporal v1.22 (go.temporal.io/server v1.22.7
// and the go.temporal.io/api it pins) as one FileDescriptorSet, dependencies before dependents:
// the schema a proxy beside a v1.22 frontend reads from its descriptorSetPath.
//
// v1.22 is generated with gogo protobuf: its files are registered in gogo's registry, not in
// google.golang.org/protobuf's, so the frontend's gRPC reflection (which reads the latter) names
// the services but cannot describe them. This program reads gogo's registry instead, starting from
// the files of the services the proxy carries and following their imports. Temporal's files import
// their own copy of gogo.proto, which registers its extensions but not its file: gogo's own
// gogo.proto, the same definitions, stands in under that name. A file gogo does not hold
// (google/protobuf/descriptor.proto, imported by gogo.proto) comes from Google's registry.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"

	gogoproto "github.com/gogo/protobuf/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// The packages registering the roots below, and what they import.
	_ "go.temporal.io/api/errordetails/v1"
	_ "go.temporal.io/api/operatorservice/v1"
	_ "go.temporal.io/api/workflowservice/v1"
	_ "go.temporal.io/server/api/adminservice/v1"
	_ "go.temporal.io/server/api/replication/v1"

	_ "github.com/gogo/protobuf/gogoproto" // registers gogo.proto
)

// roots are the files whose types, with everything they import, make the schema: the three
// services a frontend serves and the details of Temporal's errors, which no service names.
var roots = []string{
	"temporal/api/workflowservice/v1/service.proto",
	"temporal/api/operatorservice/v1/service.proto",
	"temporal/server/api/adminservice/v1/service.proto",
	"temporal/api/errordetails/v1/message.proto",
}

func main() {
	out := flag.String("out", "", "path of the FileDescriptorSet to write")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: schema -out <file.binpb>")
		os.Exit(2)
	}
	set, err := collect()
	if err != nil {
		fmt.Fprintf(os.Stderr, "schema: %v\n", err)
		os.Exit(1)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		fmt.Fprintf(os.Stderr, "schema: cannot serialize the descriptor set: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "schema: cannot write %s: %v\n", *out, err)
		os.Exit(1)
	}
	fmt.Printf("schema: wrote %d files (%d bytes) to %s\n", len(set.File), len(data), *out)
}

// standIns are files registered under another path: the path imported -> the path registered.
var standIns = map[string]string{"dependencies/gogoproto/gogo.proto": "gogo.proto"}

// file returns a registered file by path: gogo's registry holds it gzipped, Google's as a descriptor.
func file(path string) (*descriptorpb.FileDescriptorProto, error) {
	if registered, ok := standIns[path]; ok && gogoproto.FileDescriptor(path) == nil {
		fd, err := file(registered)
		if err != nil {
			return nil, fmt.Errorf("%s, standing in for %s: %w", registered, path, err)
		}
		fd.Name = proto.String(path)
		return fd, nil
	}
	if zipped := gogoproto.FileDescriptor(path); zipped != nil {
		r, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			return nil, fmt.Errorf("%s in gogo's registry: %w", path, err)
		}
		raw, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("%s in gogo's registry: %w", path, err)
		}
		fd := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fd); err != nil {
			return nil, fmt.Errorf("%s in gogo's registry is not a FileDescriptorProto: %w", path, err)
		}
		return fd, nil
	}
	if fd, err := protoregistry.GlobalFiles.FindFileByPath(path); err == nil {
		return protodesc.ToFileDescriptorProto(fd), nil
	}
	return nil, fmt.Errorf("%s is in neither gogo's registry nor Google's", path)
}

// collect walks the roots' imports, each file after the files it imports.
func collect() (*descriptorpb.FileDescriptorSet, error) {
	set := &descriptorpb.FileDescriptorSet{}
	done := map[string]bool{}
	var visit func(path string) error
	visit = func(path string) error {
		if done[path] {
			return nil
		}
		done[path] = true
		fd, err := file(path)
		if err != nil {
			return err
		}
		for _, dependency := range fd.GetDependency() {
			if err := visit(dependency); err != nil {
				return fmt.Errorf("%w (imported by %s)", err, path)
			}
		}
		set.File = append(set.File, fd)
		return nil
	}
	for _, root := range roots {
		if err := visit(root); err != nil {
			return nil, err
		}
	}
	return set, nil
}
